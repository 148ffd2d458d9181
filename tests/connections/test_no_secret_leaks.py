"""DESIGN §7 rule 15: no token or client secret in any response, page, log record or audit event."""

import json
import logging
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from connections import tokens
from connections.models import AuthorizationRequest, ConnectedAccount
from tests.fixtures import signed_in
from tests.monday_support import CLIENT_SECRET, callback_path, follow_to_provider, query_of


def test_secrets_never_leave_the_vault(caplog, api, owner, member, monday, monday_connection):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def keep(response):
        seen.append(response.content.decode(errors="replace"))
        return response

    # Portal flow as a member, then the pages a person looks at.
    browser = signed_in(member)
    start = keep(browser.post("/connected-accounts/monday/connect/"))
    keep(browser.get(callback_path(follow_to_provider(start["Location"]))))
    for page in ["/", "/connected-accounts/"]:
        keep(browser.get(page))
    admin = signed_in(owner)
    for page in ["/connections/", "/connections/monday/", "/connections/accounts/"]:
        keep(admin.get(page))

    # API flow with customer verification, then every read endpoint.
    link = keep(
        api.post(
            "/api/v1/connected-accounts/authorization-link",
            {
                "connection_name": "monday",
                "identifier": "ext-1",
                "user_verify_url": "https://x.test/v",
            },
            format="json",
        )
    ).json()["link"]
    anonymous = Client()
    start = keep(anonymous.get(link.removeprefix("http://testserver")))
    verify_at = keep(anonymous.get(callback_path(follow_to_provider(start["Location"]))))[
        "Location"
    ]
    keep(
        api.post(
            "/api/v1/connected-accounts/verify",
            {"auth_request_id": query_of(verify_at)["auth_request_id"], "identifier": "ext-1"},
            format="json",
        )
    )
    keep(api.get("/api/v1/connected-accounts"))
    keep(api.get("/api/v1/connections"))
    keep(api.get("/api/v1/connections/monday"))

    # A refresh, a failing refresh, and a disconnect.
    account = ConnectedAccount.objects.get(identifier=member.user.identifier)
    ConnectedAccount.objects.filter(pk=account.pk).update(token_expires_at=timezone.now())
    tokens.get_access_token(account)
    external = ConnectedAccount.objects.get(identifier="ext-1")
    keep(api.delete(f"/api/v1/connected-accounts/{external.pk}"))
    keep(browser.post("/connected-accounts/monday/disconnect/"))

    secrets_issued = [*monday.issued_secrets(), CLIENT_SECRET]
    secrets_issued += [
        r.get_secret("code_verifier_sealed") for r in AuthorizationRequest.objects.all()
    ]
    assert len(secrets_issued) >= 8  # codes, access and refresh tokens, verifiers, the secret
    audit_text = json.dumps(
        [
            {f.name: str(getattr(e, f.name)) for f in AuditEvent._meta.fields}
            for e in AuditEvent.objects.all()
        ]
    )
    logs = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    haystacks = {"responses": "\n".join(seen), "audit": audit_text, "logs": logs}
    for where, text in haystacks.items():
        leaked = [secret[:12] + "…" for secret in secrets_issued if secret and secret in text]
        assert not leaked, f"secrets found in {where}: {leaked}"


def test_an_expired_state_is_still_not_logged_with_its_code(
    member_client, monday, monday_connection, caplog
):
    start = member_client.post("/connected-accounts/monday/connect/")
    path = callback_path(follow_to_provider(start["Location"]))
    AuthorizationRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    member_client.get(path)
    code = query_of(path)["code"]
    assert code not in json.dumps(list(AuditEvent.objects.values("metadata")))
