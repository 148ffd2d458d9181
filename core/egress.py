"""The egress policy: where the portal may send a request on a tenant's behalf (DESIGN §9).

Every URL a tenant can choose (endpoint overrides, an agent's model base URL,
webhook endpoints, MCP client metadata documents) is checked twice:

* when it is saved (`check_url`): https only, and the host must resolve to
  public addresses only — a clear 422 otherwise;
* when a connection is opened (core/outbound.py's backend): the host is resolved again
  (DNS can change between the two), every address is checked, and the socket
  is opened to the address that passed — so a rebinding DNS answer cannot
  slip a private address in between check and connect.

Refused: loopback, private (RFC 1918, fc00::/7), link-local, CGNAT, multicast,
unspecified, reserved, IPv4-mapped and IPv4-embedding IPv6 (6to4, NAT64,
Teredo), and cloud metadata endpoints. `EGRESS_ALLOW_PRIVATE` (CIDRs or host
names) opens what an on-prem install needs; development and the tests open
loopback through it, never through DEBUG. Errors say why in words and never
echo a socket's own message (no port oracle).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
EMBEDS_IPV4 = tuple(
    ipaddress.ip_network(n)
    for n in ("2002::/16", "64:ff9b::/96", "64:ff9b:1::/48", "2001::/32")  # 6to4, NAT64, Teredo
)


class EgressRefused(Exception):
    """A destination the policy forbids; the message says why, in words."""


@dataclass(frozen=True)
class Allowance:
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    hosts: frozenset[str]

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        if address in METADATA_ADDRESSES:
            # Only an entry naming exactly this address opens a metadata endpoint.
            return any(n.num_addresses == 1 and address in n for n in self.networks)
        return any(address in network for network in self.networks)


@functools.lru_cache(maxsize=8)
def _parse_allowance(entries: tuple[str, ...]) -> Allowance:
    networks, hosts = [], set()
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            hosts.add(entry.lower().rstrip("."))
    return Allowance(tuple(networks), frozenset(hosts))


def allowance() -> Allowance:
    return _parse_allowance(tuple(settings.EGRESS_ALLOW_PRIVATE))


def refusal(address: IPAddress) -> str | None:
    """Why an address may not be reached (None when it is public)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if any(address in network for network in EMBEDS_IPV4):
            return "an IPv6 address that embeds an IPv4 address"
    checks = (
        (address in METADATA_ADDRESSES, "a cloud metadata endpoint"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in CGNAT, "a CGNAT address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for refused, reason in checks if refused), None)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise EgressRefused(f"{host} could not be resolved.") from None
    addresses = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        address = ipaddress.ip_address(text)
        if address not in addresses:
            addresses.append(address)
    return addresses


def checked_addresses(host: str, port: int) -> list[IPAddress]:
    """Resolve and check; raise EgressRefused unless every address may be reached."""
    host = host.strip("[]")
    allow = allowance()
    if host.lower().rstrip(".") in METADATA_HOSTS and not allow.allows_host(host):
        raise EgressRefused(f"{host} is a cloud metadata endpoint.")
    addresses = resolve(host, port)
    if not addresses:
        raise EgressRefused(f"{host} could not be resolved.")
    if allow.allows_host(host):
        return addresses
    for address in addresses:
        reason = refusal(address)
        if reason and not allow.allows_address(address):
            raise EgressRefused(f"{host} resolves to {reason}, which is not allowed.")
    return addresses


def _is_explicitly_allowed(host: str, port: int) -> bool:
    """Listed in EGRESS_ALLOW_PRIVATE by name, or every address it resolves to is."""
    allow = allowance()
    if allow.allows_host(host):
        return True
    try:
        addresses = resolve(host.strip("[]"), port)
    except EgressRefused:
        return False
    return bool(addresses) and all(allow.allows_address(a) for a in addresses)


# Hosts the portal answers itself, in-process (the sandbox's providers and model): never
# resolved and never connected to, so naming one opens no network path. Each is a
# reserved name (RFC 2606 .invalid) that no DNS answer can claim, so `check_url` refuses
# it as a tenant's choice: only the portal's own code stores URLs of a local service.
LocalService = Callable[[Any], Any]
local_services: dict[str, LocalService] = {}


def register_local_service(host: str, answer: LocalService) -> None:
    """`answer(httpx2.Request) -> httpx2.Response` serves every outbound call to
    https://host and to the names under it."""
    if not host.endswith(".invalid"):
        raise ValueError("A local service is named under .invalid, which never resolves.")
    local_services[host] = answer


def local_service_for(url: str) -> LocalService | None:
    """The local service answering this https URL (its host or a name under it), if any."""
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.port is not None or not parts.hostname:
        return None
    host = parts.hostname
    for name, answer in local_services.items():
        if host == name or host.endswith("." + name):
            return answer
    return None


def is_local(url: str) -> bool:
    """Whether the URL names a local service (answered in-process, never connected to)."""
    return local_service_for(url) is not None


def check_url(url: str, *, field: str) -> str:
    """Save-time check of a tenant-chosen URL (422 with the reason when refused)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise Invalid(
            f"{field} must be an absolute https URL.", code="invalid_url", details={"field": field}
        )
    if parts.username or parts.password:
        raise Invalid(
            f"{field} must not carry credentials.", code="invalid_url", details={"field": field}
        )
    if parts.scheme == "http" and not _is_explicitly_allowed(parts.hostname, port or 80):
        raise Invalid(
            f"{field} must use https (plain http only for hosts in EGRESS_ALLOW_PRIVATE).",
            code="insecure_url",
            details={"field": field},
        )
    try:
        checked_addresses(parts.hostname, port or 443)
    except EgressRefused as exc:
        raise Invalid(f"{field}: {exc}", code="url_not_allowed", details={"field": field}) from None
    return url
