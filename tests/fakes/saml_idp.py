"""A SAML 2.0 identity provider on 127.0.0.1, built on pysaml2 (a SAML implementation
nobody here wrote): it takes the portal's AuthnRequest (HTTP-Redirect binding), signs an
assertion for the person `login_as` names (NameID = email, attributes `email` and
`groups`), and answers with the HTTP-POST binding's auto-submitting form to the portal's
assertion consumer service. It signs with Debian's xmlsec1, as pysaml2 does."""

from __future__ import annotations

import datetime
import shutil
import tempfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.authn_context import PASSWORD
from saml2.config import IdPConfig
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from connections.providers.emulation.server import LocalServer

XMLSEC1 = shutil.which("xmlsec1")


def _self_signed(directory: Path) -> tuple[Path, Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Emulated IdP")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = directory / "idp.key", directory / "idp.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file.write_bytes(pem)
    return key_file, cert_file, pem.decode()


class SamlIdp(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="saml-idp-"))
        self.key_file, self.cert_file, self.certificate = _self_signed(self.directory)
        self.people: dict[str, list[str]] = {}  # email → groups
        self.signed_in = ""
        self.idp: Server | None = None

    def __enter__(self) -> SamlIdp:
        started = self.start()
        started.idp = self._idp()
        return started

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def entity_id(self) -> str:
        return f"{self.origin}/saml/metadata"

    @property
    def sso_url(self) -> str:
        return f"{self.origin}/saml/sso"

    def login_as(self, email: str, groups: list[str] | None = None) -> None:
        self.signed_in = email
        self.people[email] = groups or []

    def trust_sp(self, metadata_xml: str) -> None:
        """Register the portal as a service provider, from its SAML metadata."""
        self.idp = self._idp(metadata_xml)

    def _idp(self, sp_metadata: str = "") -> Server:
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]
                        },
                        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                        "want_authn_requests_signed": False,
                        "policy": {
                            "default": {
                                "lifetime": {"minutes": 5},
                                "attribute_restrictions": None,
                                "name_form": NAME_FORMAT_BASIC,
                            }
                        },
                    }
                },
                "key_file": str(self.key_file),
                "cert_file": str(self.cert_file),
                "xmlsec_binary": XMLSEC1,
                "allow_unknown_attributes": True,
                "metadata": {"inline": [sp_metadata]} if sp_metadata else {},
            }
        )
        return Server(config=config)

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        if method != "GET" or parts.path != "/saml/sso":
            return self._send(handler, 404, "text/plain", b"not found")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        request = self.idp.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
        message = request.message
        email = self.signed_in
        response = self.idp.create_authn_response(
            identity={"email": [email], "groups": self.people.get(email, [])},
            in_response_to=message.id,
            destination=message.assertion_consumer_service_url,
            sp_entity_id=message.issuer.text,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
            authn={"class_ref": PASSWORD, "authn_auth": self.entity_id},
            sign_assertion=True,
            sign_response=True,
            sign_alg=SIG_RSA_SHA256,  # python3-saml refuses SHA-1 signatures
            digest_alg=DIGEST_SHA256,
        )
        http_args = self.idp.apply_binding(
            BINDING_HTTP_POST,
            str(response),
            message.assertion_consumer_service_url,
            relay_state=query.get("RelayState", ""),
            response=True,
        )
        self._send(handler, 200, "text/html", http_args["data"].encode())

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, kind: str, body: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
