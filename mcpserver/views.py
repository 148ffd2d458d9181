"""Pages and OAuth endpoints of MCP access: consent, the apps people let in, the
organization's MCP settings, approvals of writes, token revocation."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from oauth2_provider.models import Application
from oauth2_provider.views import (
    AuthorizationView,
    DynamicClientRegistrationView,
    RevokeTokenView,
)

from audit import trail
from core.decorators import org_page
from mcpserver import access, approvals, clients
from mcpserver.forms import ClientForm, ConsentForm, PolicyForm


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
            context["asks_write"] = "tools:write" in (kwargs.get("scopes") or [])
            context["registration"] = application.get_registration_source_display()
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
        response = super().form_valid(form)
        location = response.get("Location", "")
        if membership is not None and response.status_code == 302 and "code=" in location:
            access.record_authorization(
                user=self.request.user,
                membership=membership,
                application=application,
                scopes=data["scope"].split(),
                request=self.request,
            )
        return response

    def _refuse(self, message: str) -> HttpResponse:
        return render(self.request, "error.html", {"status": 400, "message": message}, status=400)


class RegisterView(DynamicClientRegistrationView):
    """RFC 7591 registration (django-oauth-toolkit), rate-limited per address, with the
    portal's redirect URI rules (https; plain http only to loopback)."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not clients.registration_allowed(request):
            return JsonResponse(
                {"error": "too_many_requests", "error_description": "Too many registrations."},
                status=429,
            )
        try:
            metadata = json.loads(request.body or b"{}")
        except ValueError:
            metadata = None
        if isinstance(metadata, dict) and "redirect_uris" in metadata:
            try:
                clients.check_redirect_uris(metadata["redirect_uris"], error=ValueError)
            except ValueError as exc:
                return JsonResponse(
                    {"error": "invalid_redirect_uri", "error_description": str(exc)}, status=400
                )
        return super().post(request, *args, **kwargs)


class RevokeView(RevokeTokenView):
    """RFC 7009 revocation (django-oauth-toolkit), audited as mcp.token_revoked."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        connection = access.connection_of_token(request.POST.get("token", ""))
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
def apps(request: HttpRequest) -> HttpResponse:
    caller = request.caller
    connections = access.connections_visible_to(caller).order_by("-authorized_at")
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
def revoke_app(request: HttpRequest, connection_id: str) -> HttpResponse:
    connection = access.revoke_connection(
        caller=request.caller, connection_id=connection_id, request=request
    )
    messages.success(request, f"{connection.application.name or 'The app'} no longer has access.")
    return redirect("mcp_apps")


@org_page(manager=True, on_error="mcp_settings")
def mcp_settings(request: HttpRequest) -> HttpResponse:
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
def approval(request: HttpRequest, approval_id: str) -> HttpResponse:
    item = approvals.find(caller=request.caller, approval_id=approval_id)
    if request.method == "POST":
        approve = request.POST.get("decision") == "approve"
        approvals.decide(
            caller=request.caller, approval_id=item.pk, approve=approve, request=request
        )
        messages.success(
            request,
            "Approved: the app may run it once now." if approve else "Declined: it will not run.",
        )
        return redirect("mcp_approval", approval_id=item.pk)
    return render(request, "mcpserver/approval.html", {"approval": item})
