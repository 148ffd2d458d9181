"""Pages and OAuth endpoints of MCP access: consent, the apps people let in, the
organization's MCP settings, approvals of writes, token revocation."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from oauth2_provider.models import Application
from oauth2_provider.views import (
    AuthorizationView,
    DynamicClientRegistrationManagementView,
    DynamicClientRegistrationView,
    RevokeTokenView,
    TokenView,
)

from audit import trail
from connections import toolsets
from core.api.parsers import bounded_json
from core.decorators import org_page
from core.errors import Conflict
from mcpserver import access, approvals, clients, grants
from mcpserver.forms import TOOL_MODES, ClientForm, ConsentForm, PolicyForm
from portal.requests import OrgRequest


class ConsentView(AuthorizationView):
    """OAuth authorize (django-oauth-toolkit) with the portal's consent page: the client's
    name and, prominently, where it sends the person back to; the organization; scopes."""

    template_name = "mcpserver/consent.html"
    form_class = ConsentForm

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.GET.getlist("resource") != [settings.MCP_RESOURCE_URL]:
            return self._refuse(
                "This sign-in request does not name this portal's MCP server as its resource "
                f"({settings.MCP_RESOURCE_URL}), so no token can be issued for it."
            )
        if request.GET.get("code_challenge_method") != "S256" or not request.GET.get(
            "code_challenge"
        ):
            return self._refuse("Sign-in requests must use PKCE with S256 (OAuth 2.1).")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        application = kwargs.get("application") or context.get("application")
        if application is not None:
            context["memberships"] = access.organizations_for_consent(
                user=self.request.user, application=application
            )
            context["redirect_host"] = clients.redirect_host(application)
            scopes = list(kwargs.get("scopes") or context.get("scopes") or [])
            descriptions = list(context.get("scopes_descriptions") or [])
            context["asks_write"] = "tools:write" in scopes
            # Write access is asked once, by its checkbox: not also in the list above it.
            context["read_descriptions"] = [
                text
                for scope, text in zip(scopes, descriptions, strict=False)
                if scope != "tools:write"
            ]
            context["registration"] = application.get_registration_source_display()
            context["tool_modes"] = TOOL_MODES
            context["toolsets_by_org"] = [
                (m.organization, list(toolsets.toolsets_of(organization=m.organization)))
                for m in context["memberships"]
            ]
        return context

    def form_valid(self, form: ConsentForm) -> HttpResponse:
        data = form.cleaned_data
        if data.get("resource", "").split() != [settings.MCP_RESOURCE_URL]:
            return self._refuse("The sign-in request was altered: its resource changed.")
        application = Application.objects.filter(client_id=data.get("client_id")).first()
        membership = None
        if data.get("allow") and application is not None:
            membership = next(
                (
                    m
                    for m in access.organizations_for_consent(
                        user=self.request.user, application=application
                    )
                    if m.organization.slug == data.get("organization")
                ),
                None,
            )
            if membership is None:
                return self._refuse("Choose one of your organizations that allows this app.")
            scopes = [s for s in (data.get("scope") or "").split() if s in access.ALL_SCOPES]
            if not data.get("write"):
                scopes = [s for s in scopes if s != "tools:write"]
            data["scope"] = " ".join(scopes or ["tools:read"])
            toolset = None
            if data.get("toolset"):
                toolset = (
                    toolsets.toolsets_of(organization=membership.organization)
                    .filter(name=data["toolset"])
                    .first()
                )
                if toolset is None:
                    return self._refuse("Choose a toolset of the organization you chose.")
        with transaction.atomic():
            # The grant exists before its code does: the code carries the grant's id, and
            # the tokens it is exchanged for are bound to that grant (one organization).
            self.grant = None
            if membership is not None:
                self.grant = grants.record_authorization(
                    user=self.request.user,
                    membership=membership,
                    application=application,
                    scopes=data["scope"].split(),
                    tool_mode=data.get("tool_mode") or "auto",
                    toolset=toolset,
                    request=self.request,
                )
            response = super().form_valid(form)
            issued = response.status_code == 302 and "code=" in response.get("Location", "")
            if self.grant is not None and not issued:
                transaction.set_rollback(True)
        return response

    def form_invalid(self, form: ConsentForm) -> HttpResponse:
        # A consent form that does not validate was not sent by the page: nothing to show.
        return self._refuse("The sign-in request was incomplete. Start again from the app.")

    def create_authorization_response(self, request, scopes, credentials, allow):
        grant = getattr(self, "grant", None)
        if grant is not None:
            credentials = {**credentials, "claims": grants.code_claims(grant)}
        return super().create_authorization_response(request, scopes, credentials, allow)

    def _refuse(self, message: str) -> HttpResponse:
        return render(self.request, "error.html", {"status": 400, "message": message}, status=400)


def _oauth_error(error: str, description: str, status: int = 400) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


class PortalTokenView(TokenView):
    """The token endpoint. A grant type the server does not advertise is refused here, with
    one answer, before any client, code, token or password is looked at (DESIGN §13 rule
    25); the server behind it has no handler for one either (mcpserver/oauth_server.py)."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        grant_type = request.POST.get("grant_type", "")
        if grant_type not in clients.supported_grant_types():
            return _oauth_error(
                "unsupported_grant_type",
                "This server issues tokens only for the grant types "
                f"{', '.join(sorted(clients.supported_grant_types()))}.",
            )
        return super().post(request, *args, **kwargs)


def _checked_metadata(request: HttpRequest) -> HttpResponse | None:
    """The one client metadata rule on a registration or an update's body; the error
    response, or None when it passes."""
    if request.content_type != "application/json":
        return _oauth_error("invalid_client_metadata", "Send the client metadata as JSON.")
    try:
        metadata = bounded_json(request.body or b"{}")
    except ValueError as exc:
        return _oauth_error("invalid_client_metadata", str(exc)[:200])
    try:
        clients.check_client_metadata(metadata)
    except clients.ClientMetadataError as exc:
        return _oauth_error(exc.error, exc.description)
    return None


class RegisterView(DynamicClientRegistrationView):
    """RFC 7591 registration (django-oauth-toolkit), rate-limited per address, after the
    portal's one client metadata rule (mcpserver/clients.py)."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not clients.registration_allowed(request):
            return _oauth_error("too_many_requests", "Too many registrations.", status=429)
        return _checked_metadata(request) or super().post(request, *args, **kwargs)


class RegistrationManagementView(DynamicClientRegistrationManagementView):
    """RFC 7592: a client reads, updates or deletes its own registration. An update passes
    the same rule as a registration, before its registration token is looked at."""

    def put(self, request: HttpRequest, client_id: str, *args, **kwargs) -> HttpResponse:
        return _checked_metadata(request) or super().put(request, client_id, *args, **kwargs)


class RevokeView(RevokeTokenView):
    """RFC 7009 revocation (django-oauth-toolkit), audited as mcp.token_revoked."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        connection = grants.connection_of_token(request.POST.get("token", ""))
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200 and connection is not None:
            trail.record(
                action="mcp.token_revoked",
                organization=connection.organization,
                actor=trail.Actor.user(connection.user),
                request=request,
                identifier=connection.user.identifier,
                target_type="mcp_client",
                target_id=connection.application.client_id,
                metadata={"client": connection.application.name, "how": "client"},
            )
        return response


@org_page()
def apps(request: OrgRequest) -> HttpResponse:
    caller = request.caller
    connections = grants.connections_visible_to(caller).order_by("-authorized_at")
    return render(
        request,
        "mcpserver/apps.html",
        {
            "mine": [c for c in connections if c.user_id == request.user.pk],
            "others": [c for c in connections if c.user_id != request.user.pk],
            "approvals": approvals.visible_to(caller).filter(status="pending")[:50],
            "mcp_url": settings.MCP_RESOURCE_URL,
            "policy": clients.policy_of(request.organization),
            "can_manage": caller.can_manage,
        },
    )


@org_page(on_error="mcp_apps")
@require_POST
def revoke_app(request: OrgRequest, connection_id: str) -> HttpResponse:
    connection = grants.revoke_connection(
        caller=request.caller, connection_id=connection_id, request=request
    )
    messages.success(request, f"{connection.application.name or 'The app'} no longer has access.")
    return redirect("mcp_apps")


@org_page(manager=True, on_error="mcp_settings")
def mcp_settings(request: OrgRequest) -> HttpResponse:
    caller = request.caller
    policy = clients.policy_of(request.organization)
    policy_form = PolicyForm(
        request.POST if request.POST.get("form") == "policy" else None,
        initial={
            "enabled": policy.enabled,
            "approval_policy": policy.approval_policy,
            "allowed_client_ids": "\n".join(policy.allowed_client_ids),
        },
    )
    client_form = ClientForm(request.POST if request.POST.get("form") == "client" else None)
    new_client = None
    if request.method == "POST" and policy_form.is_bound and policy_form.is_valid():
        clients.update_policy(
            caller=caller,
            enabled=policy_form.cleaned_data["enabled"],
            allowed_client_ids=policy_form.cleaned_data["allowed_client_ids"].splitlines(),
            approval_policy=policy_form.cleaned_data["approval_policy"],
            request=request,
        )
        messages.success(request, "MCP settings saved.")
        return redirect("mcp_settings")
    if request.method == "POST" and client_form.is_bound and client_form.is_valid():
        application, secret = clients.register_client(
            caller=caller,
            name=client_form.cleaned_data["name"],
            redirect_uris=client_form.cleaned_data["redirect_uris"].splitlines(),
            confidential=client_form.cleaned_data["confidential"],
            request=request,
        )
        new_client = {"client_id": application.client_id, "secret": secret}
        client_form = ClientForm()
    response = render(
        request,
        "mcpserver/settings.html",
        {
            "policy_form": policy_form,
            "client_form": client_form,
            "new_client": new_client,
            "mcp_url": settings.MCP_RESOURCE_URL,
        },
    )
    if new_client:
        response["Cache-Control"] = "no-store"
    return response


@org_page(on_error="mcp_apps")
def approval(request: OrgRequest, approval_id: str) -> HttpResponse:
    """An approval link, in whichever of the person's organizations it was asked."""
    item, caller = approvals.find_for_person(user=request.user, approval_id=approval_id)
    if request.method == "POST":
        approve = request.POST.get("decision") == "approve"
        try:
            approvals.decide(
                caller=caller,
                approval_id=item.pk,
                approve=approve,
                fingerprint=request.POST.get("fingerprint", ""),
                request=request,
            )
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                "Approved: the app may run it once now."
                if approve
                else "Declined: it will not run.",
            )
        return redirect("mcp_approval", approval_id=item.pk)
    return render(
        request,
        "mcpserver/approval.html",
        {"approval": item, "organization": caller.organization},
    )
