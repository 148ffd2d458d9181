"""The Identity page (Settings → Identity): SCIM tokens, verified domains and the
mapping of provisioned groups to roles. Owners and admins only."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.decorators import org_page
from identity import domains, scim, scim_tokens, sso, trust
from identity.models import ScimGroup, ScimUser


@org_page(manager=True, on_error="identity")
def identity(request) -> HttpResponse:
    caller = request.caller
    new_token = None
    if request.method == "POST":
        _token, new_token = scim_tokens.mint(
            caller=caller, name=request.POST.get("name", ""), request=request
        )
        messages.success(request, "SCIM token created. Copy it now: it is shown once.")
    context = {
        "new_token": new_token,
        "tokens": scim_tokens.tokens_of(caller=caller),
        "scim_base": (settings.PORTAL_BASE_URL or request.build_absolute_uri("/").rstrip("/"))
        + "/scim/v2",
        "domains": [(d, domains.record_value(d)) for d in domains.domains_of(caller=caller)],
        "admin_confirm": settings.DOMAIN_ADMIN_CONFIRM,
        "groups": ScimGroup.objects.for_org(caller.organization),
        "roles": scim.MAPPABLE_ROLES,
        "people": ScimUser.objects.for_org(caller.organization).select_related("user")[:200],
        "issuers": trust.issuers_of(caller=caller),
        "sso": sso.connection_of(caller=caller),
        "portal_origin": settings.PORTAL_BASE_URL or request.build_absolute_uri("/").rstrip("/"),
        "portal_issuer": settings.OAUTH2_PROVIDER.get("OIDC_ISS_ENDPOINT", ""),
        "mcp_resource": settings.MCP_RESOURCE_URL,
    }
    response = render(request, "identity/identity.html", context)
    if new_token:
        response["Cache-Control"] = "no-store"
    return response


@org_page(manager=True, on_error="identity")
@require_POST
def revoke_token(request, token_id: int) -> HttpResponse:
    token = scim_tokens.revoke(caller=request.caller, token_id=token_id, request=request)
    messages.success(request, f"SCIM token “{token.name}” revoked.")
    return redirect("identity")


@org_page(manager=True, on_error="identity")
@require_POST
def add_domain(request) -> HttpResponse:
    added = domains.add_domain(
        caller=request.caller, domain=request.POST.get("domain", ""), request=request
    )
    messages.success(request, f"Add the TXT record to {added.domain}, then verify it.")
    return redirect("identity")


@org_page(manager=True, on_error="identity")
@require_POST
def domain_action(request, domain_id: str) -> HttpResponse:
    action = request.POST.get("action")
    if action == "remove":
        domains.remove_domain(caller=request.caller, domain_id=domain_id, request=request)
        messages.success(request, "Domain removed.")
        return redirect("identity")
    verify = domains.confirm_domain if action == "confirm" else domains.verify_domain
    domain = verify(caller=request.caller, domain_id=domain_id, request=request)
    messages.success(request, f"{domain.domain} is verified.")
    return redirect("identity")


@org_page(manager=True, on_error="identity")
@require_POST
def map_group(request, group_id: str) -> HttpResponse:
    group = scim.map_group_role(
        caller=request.caller, group_id=group_id, role=request.POST.get("role", ""), request=request
    )
    messages.success(
        request, f"Members of {group.display_name} now get {group.role or 'the default role'}."
    )
    return redirect("identity")


@org_page(manager=True, on_error="identity")
@require_POST
def add_issuer(request) -> HttpResponse:
    trusted = trust.add_issuer(
        caller=request.caller, issuer=request.POST.get("issuer", ""), request=request
    )
    messages.success(request, f"Agents may now present ID-JAGs from {trusted.issuer}.")
    return redirect("identity")


@org_page(manager=True, on_error="identity")
@require_POST
def remove_issuer(request, issuer_id: str) -> HttpResponse:
    trust.remove_issuer(caller=request.caller, issuer_id=issuer_id, request=request)
    messages.success(request, "The identity provider is no longer trusted.")
    return redirect("identity")


def sso_start(request) -> HttpResponse:
    """Sign in with single sign-on: the work email names the organization (by its
    verified domain) and so the identity provider."""
    connection = None
    email = request.POST.get("email", "").strip()
    if request.method == "POST":
        connection = sso.connection_for_email(email)
        if connection is None:
            messages.error(request, "No single sign-on is set up for that email's domain.")
    return render(request, "identity/sso_start.html", {"connection": connection, "email": email})


@org_page(manager=True, on_error="identity")
@require_POST
def configure_sso(request) -> HttpResponse:
    roles = {}
    for line in request.POST.get("group_roles", "").splitlines():
        group, _, role = line.partition("=")
        if group.strip():
            roles[group.strip()] = role.strip()
    sso.configure(
        caller=request.caller,
        protocol=request.POST.get("protocol", "oidc"),
        issuer=request.POST.get("issuer", ""),
        client_id=request.POST.get("client_id", ""),
        client_secret=request.POST.get("client_secret", ""),
        sso_url=request.POST.get("sso_url", ""),
        x509cert=request.POST.get("x509cert", ""),
        default_role=request.POST.get("default_role", "member"),
        groups_claim=request.POST.get("groups_claim", "groups") or "groups",
        group_roles=roles,
        require_sso=request.POST.get("require_sso") == "on",
        request=request,
    )
    messages.success(request, "Single sign-on saved.")
    return redirect("identity")
