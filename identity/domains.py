"""Verified email domains: what an organization proves it controls before its identity
provider may speak for the people of that domain (SCIM linking existing accounts; single
sign-on's "require SSO").

Proof is a DNS TXT record `agent-portal-verification=<challenge>` on the domain, looked up
through DNS_RESOLVER (host:port; empty: the system's resolvers). Where
DOMAIN_ADMIN_CONFIRM is on (development; off by default in production) an owner may
confirm a domain without DNS. A domain is verified by one organization at most.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import dns.exception
import dns.resolver
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit import trail
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.tenancy import as_uuid
from identity.models import VerifiedDomain
from portal.callers import Caller

RECORD_PREFIX = "agent-portal-verification="
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
LOOKUP_SECONDS = 3.0


def record_value(domain: VerifiedDomain) -> str:
    return f"{RECORD_PREFIX}{domain.challenge}"


def domains_of(*, caller: Caller):
    return VerifiedDomain.objects.for_org(caller.organization)


def add_domain(
    *, caller: Caller, domain: str, request: HttpRequest | None = None
) -> VerifiedDomain:
    caller.require_manager()
    name = (domain or "").strip().lower().rstrip(".")
    if not DOMAIN.match(name):
        raise Invalid(f"{domain!r} is not a domain name like example.com.", code="invalid_domain")
    try:
        with transaction.atomic():
            added = VerifiedDomain.objects.create(
                organization=caller.organization, domain=name, challenge=secrets.token_hex(16)
            )
            _audit(caller, "domain.added", added, request)
    except IntegrityError:
        raise Conflict(f"{name} is already listed.", code="duplicate_domain") from None
    return added


def _get(caller: Caller, domain_id: Any) -> VerifiedDomain:
    key = as_uuid(domain_id)
    found = domains_of(caller=caller).filter(pk=key).first() if key else None
    if found is None:
        raise NotFound("No such domain.")
    return found


def verify_domain(
    *, caller: Caller, domain_id: Any, request: HttpRequest | None = None
) -> VerifiedDomain:
    """Look up the TXT record now; verified when it carries this domain's challenge."""
    caller.require_manager()
    domain = _get(caller, domain_id)
    if domain.verified_at is None:
        if record_value(domain) not in txt_records(domain.domain):
            raise Invalid(
                f"No TXT record {record_value(domain)!r} found on {domain.domain} yet; DNS "
                "changes can take a while to appear.",
                code="domain_not_verified",
            )
        _mark_verified(caller, domain, VerifiedDomain.Method.DNS, request)
    return domain


def confirm_domain(
    *, caller: Caller, domain_id: Any, request: HttpRequest | None = None
) -> VerifiedDomain:
    """An owner's word instead of DNS: development only (DOMAIN_ADMIN_CONFIRM)."""
    if not settings.DOMAIN_ADMIN_CONFIRM:
        raise Forbidden("Domains are verified by DNS here.", code="dns_verification_required")
    if caller.role != "owner":
        raise Forbidden("Only owners can confirm a domain.")
    domain = _get(caller, domain_id)
    if domain.verified_at is None:
        _mark_verified(caller, domain, VerifiedDomain.Method.ADMIN, request)
    return domain


def _mark_verified(caller: Caller, domain: VerifiedDomain, method: str, request) -> None:
    try:
        with transaction.atomic():
            domain.verified_at, domain.method = timezone.now(), method
            domain.save(update_fields=["verified_at", "method"])
            _audit(caller, "domain.verified", domain, request, method=method)
    except IntegrityError:
        raise Conflict(
            f"{domain.domain} is verified by another organization.", code="domain_taken"
        ) from None


def remove_domain(*, caller: Caller, domain_id: Any, request: HttpRequest | None = None) -> None:
    caller.require_manager()
    domain = _get(caller, domain_id)
    with transaction.atomic():
        _audit(caller, "domain.removed", domain, request)
        domain.delete()


def is_verified_email(*, organization: Any, email: str) -> bool:
    """Whether this address is in a domain the organization verified."""
    host = email.rsplit("@", 1)[-1].strip().lower()
    return (
        VerifiedDomain.objects.for_org(organization)
        .filter(domain=host, verified_at__isnull=False)
        .exists()
    )


def txt_records(name: str) -> set[str]:
    """The TXT strings of a name (each record's strings joined); none when it has none
    or DNS does not answer in time."""
    resolver = dns.resolver.Resolver(configure=not settings.DNS_RESOLVER)
    if settings.DNS_RESOLVER:
        host, _, port = settings.DNS_RESOLVER.rpartition(":")
        resolver.nameservers, resolver.port = [host], int(port)
    resolver.lifetime = LOOKUP_SECONDS
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.exception.DNSException, OSError):
        return set()
    return {b"".join(record.strings).decode(errors="replace") for record in answer}


def _audit(caller: Caller, action: str, domain: VerifiedDomain, request, **metadata: Any) -> None:
    trail.record(
        action=action,
        organization=caller.organization,
        caller=caller,
        request=request,
        target_type="domain",
        target_id=domain.domain,
        metadata=metadata,
    )
