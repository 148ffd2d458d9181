"""Pages: connections (owners/admins), the per-user connect page, the OAuth redirects,
and the admin list of connected accounts."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from connections import audit, audit_log, configuration, explorer, oauth, tools
from connections.forms import ConnectionForm
from connections.models import (
    AccountStatus,
    AuditEvent,
    AuthorizationRequest,
    ConnectedAccount,
    Connection,
)
from connections.providers import PROVIDERS
from portal.decorators import org_page
from portal.errors import NotFound, PortalError

# --- Connections (owners/admins) ------------------------------------------------------


@org_page(manager=True, on_error="connections")
def connection_list(request: HttpRequest) -> HttpResponse:
    form = ConnectionForm(request.POST or None, initial={"provider": "monday", "name": "monday"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connection = configuration.create_connection(
                org=request.organization,
                request=request,
                name=data["name"],
                provider=data["provider"],
                **_connection_values(data),
            )
        except PortalError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Connection “{connection.name}” created.")
            return redirect("connection_detail", name=connection.name)
    connections = Connection.objects.for_org(request.organization)
    redirect_uris = [
        (provider.display_name, oauth.provider_redirect_uri(provider.key, request))
        for provider in PROVIDERS.values()
        if provider.is_oauth2
    ]
    return render(
        request,
        "connections/connection_list.html",
        {"form": form, "connections": connections, "redirect_uris": redirect_uris},
    )


def _connection_values(data: dict) -> dict:
    values = {
        key: data[key]
        for key in (
            "client_id",
            "enabled",
            "authorization_url",
            "token_url",
            "revoke_url",
            "api_base_url",
        )
    }
    if data.get("scopes"):
        values["scopes"] = data["scopes"]
    values["client_secret"] = data.get("client_secret") or ""
    return values


@org_page(manager=True)
def connection_detail(request: HttpRequest, name: str) -> HttpResponse:
    connection = configuration.get_connection(request.organization, name)
    initial = {
        "client_id": connection.client_id,
        "scopes": " ".join(connection.scopes),
        "enabled": connection.enabled,
        **{field: getattr(connection, field) for field in configuration.ENDPOINT_FIELDS},
    }
    form = ConnectionForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            configuration.update_connection(
                connection=connection, request=request, **_connection_values(form.cleaned_data)
            )
        except PortalError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Connection saved.")
            return redirect("connection_detail", name=connection.name)
    context = {
        "connection": connection,
        "form": form,
        "redirect_uri": oauth.redirect_uri_for(connection, request),
        "account_counts": _status_counts(connection),
    }
    return render(request, "connections/connection_detail.html", context)


def _status_counts(connection: Connection) -> dict[str, int]:
    rows = connection.accounts.values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


@org_page(manager=True, on_error="connections")
@require_POST
def connection_delete(request: HttpRequest, name: str) -> HttpResponse:
    connection = configuration.get_connection(request.organization, name)
    configuration.delete_connection(connection=connection, request=request)
    messages.success(request, f"Connection “{name}” deleted, with its connected accounts.")
    return redirect("connections")


# --- The signed-in user's own accounts ----------------------------------------------------


@org_page(on_error="connected_accounts")
def connected_accounts(request: HttpRequest) -> HttpResponse:
    org = request.organization
    connections = Connection.objects.for_org(org).filter(enabled=True)
    accounts = {
        account.connection_id: account
        for account in ConnectedAccount.objects.for_org(org).filter(
            identifier=request.user.identifier
        )
    }
    rows = [(connection, accounts.get(connection.pk)) for connection in connections]
    return render(request, "connections/connected_accounts.html", {"rows": rows})


@org_page(on_error="connected_accounts")
@require_POST
def connect(request: HttpRequest, name: str) -> HttpResponse:
    """Start the portal flow for the signed-in user's own identifier."""
    connection = configuration.get_connection(request.organization, name, enabled_only=True)
    account, _ = oauth.get_or_create_connected_account(
        org=request.organization,
        connection=connection,
        identifier=request.user.identifier,
        request=request,
    )
    auth_request = oauth.create_authorization_request(
        account=account, initiated_by=request.user, request=request
    )
    return redirect(oauth.provider_authorization_url(auth_request))


@org_page(on_error="connected_accounts")
@require_POST
def disconnect_own(request: HttpRequest, name: str) -> HttpResponse:
    account = (
        ConnectedAccount.objects.for_org(request.organization)
        .select_related("connection", "organization")
        .filter(connection__name=name, identifier=request.user.identifier)
        .first()
    )
    if account is None:
        raise NotFound("You have no account on this connection.")
    oauth.disconnect(account=account, request=request)
    messages.success(request, f"{account.connection.name} disconnected.")
    return redirect("connected_accounts")


# --- OAuth redirects (capability URLs: the unguessable id or state is the credential) -------


def oauth_authorize(request: HttpRequest, auth_request_id) -> HttpResponse:
    """The link the API hands out: forwards the browser to the provider."""
    auth_request = (
        AuthorizationRequest.objects.select_related("connection").filter(pk=auth_request_id).first()
    )
    if auth_request is None:
        return _oauth_error(request, "This authorization link is not valid.", status=404)
    try:
        return redirect(oauth.provider_authorization_url(auth_request))
    except oauth.AuthorizationFailed as exc:
        return _oauth_error(request, exc.message)


def oauth_callback(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        result = oauth.complete_authorization(
            provider_key=provider, params=request.GET.dict(), request=request
        )
    except oauth.AuthorizationFailed as exc:
        return _oauth_error(request, exc.message)
    if result.activated:
        messages.success(
            request,
            f"Your {result.account.connection.provider_spec.display_name} account is connected.",
        )
    return redirect(result.redirect_url)


def oauth_done(request: HttpRequest) -> HttpResponse:
    return render(request, "connections/oauth_done.html")


def _oauth_error(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(request, "connections/oauth_error.html", {"message": message}, status=status)


# --- All connected accounts of the organization (owners/admins) ----------------------------


@org_page(manager=True, on_error="connected_accounts_admin")
def connected_accounts_admin(request: HttpRequest) -> HttpResponse:
    org = request.organization
    accounts = (
        ConnectedAccount.objects.for_org(org)
        .select_related("connection", "user")
        .order_by("connection__name", "identifier")
    )
    filters = {key: request.GET.get(key, "").strip() for key in ("connection", "status", "q")}
    if filters["connection"]:
        accounts = accounts.filter(connection__name=filters["connection"])
    if filters["status"]:
        accounts = accounts.filter(status=filters["status"])
    if filters["q"]:
        accounts = accounts.filter(
            Q(identifier__icontains=filters["q"]) | Q(user__email__icontains=filters["q"])
        )
    page = Paginator(accounts, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "statuses": AccountStatus.choices,
        "connection_names": Connection.objects.for_org(org).values_list("name", flat=True),
    }
    return render(request, "connections/accounts_admin.html", context)


@org_page(manager=True, on_error="connected_accounts_admin")
@require_POST
def admin_disconnect(request: HttpRequest, account_id) -> HttpResponse:
    account = (
        ConnectedAccount.objects.for_org(request.organization)
        .select_related("connection", "organization")
        .filter(pk=account_id)
        .first()
    )
    if account is None:
        raise NotFound("No such connected account.")
    oauth.disconnect(account=account, request=request)
    messages.success(request, f"{account.identifier} disconnected from {account.connection.name}.")
    return redirect("connected_accounts_admin")


# --- Tool explorer ---------------------------------------------------------------------------


@org_page()
def tool_list(request: HttpRequest) -> HttpResponse:
    available = tools.list_tools(request.organization, request.user.identifier)
    return render(request, "connections/tool_list.html", {"available": available})


@org_page()
def tool_detail(request: HttpRequest, tool_name: str) -> HttpResponse:
    """A form generated from the tool's schema; runs it as the signed-in user."""
    available = {
        entry.tool.name: entry
        for entry in tools.list_tools(request.organization, request.user.identifier)
    }
    entry = available.get(tool_name)
    if entry is None:
        raise NotFound("This tool is not available to your connected accounts.")
    context = {"entry": entry, "fields": explorer.form_fields(entry.tool, request.POST or None)}
    if request.method == "POST":
        try:
            params = explorer.params_from_form(entry.tool, request.POST)
            context["result"] = tools.execute_tool(
                request.organization,
                request.user.identifier,
                tool_name,
                params,
                entry.connection_name,
                request=request,
            )
            context["result_json"] = json.dumps(context["result"]["data"], indent=2)
        except PortalError as exc:
            context["error"] = exc
    template = "connections/_tool_result.html" if request.htmx else "connections/tool_detail.html"
    return render(request, template, context)


# --- Audit log review ---------------------------------------------------------------------


def _audit_events(request: HttpRequest):
    return audit_log.visible_events(
        request.organization, membership=request.membership, user=request.user
    )


@org_page()
def audit_list(request: HttpRequest) -> HttpResponse:
    filters = audit_log.Filters.from_query(request.GET)
    error, page = "", None
    try:
        page = audit_log.page(filters.apply(_audit_events(request)), request.GET.get("before"))
    except PortalError as exc:
        error = exc.message
    context = {
        "filters": filters,
        "query": urlencode(filters.as_query()),
        "page": page,
        "error": error,
        "outcomes": AuditEvent.Outcome.choices,
        "connection_names": Connection.objects.for_org(request.organization).values_list(
            "name", flat=True
        ),
        "sees_all": request.membership.can_read_audit,
    }
    return render(request, "connections/audit_list.html", context, status=400 if error else 200)


@org_page()
def audit_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = _audit_events(request).filter(pk=event_id).first()
    if event is None:
        raise NotFound("No such event.")
    context = {"event": event, "metadata": json.dumps(event.metadata, indent=2, sort_keys=True)}
    return render(request, "connections/audit_detail.html", context)


@org_page()
def audit_chain_status(request: HttpRequest) -> HttpResponse:
    """Loaded after the page (htmx): verifying a long chain takes a moment."""
    if not request.membership.can_read_audit:
        raise NotFound("Only owners, admins and auditors verify the chain.")
    report = audit.verify_organization(request.organization)
    return render(request, "connections/_audit_chain.html", {"report": report})


@org_page()
def audit_export(request: HttpRequest, fmt: str) -> HttpResponse:
    filters = audit_log.Filters.from_query(request.GET)
    try:
        events = filters.apply(_audit_events(request))
    except PortalError as exc:
        return render(
            request,
            "connections/audit_list.html",
            {"filters": filters, "error": exc.message, "page": None},
            status=400,
        )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        response = StreamingHttpResponse(audit_log.export_csv(events), content_type="text/csv")
    else:
        response = StreamingHttpResponse(
            audit_log.export_jsonl(events), content_type="application/x-ndjson"
        )
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{request.organization.slug}-{stamp}.{fmt}"'
    )
    audit.record(
        action="audit.exported",
        organization=request.organization,
        request=request,
        target_type="audit_log",
        target_id=fmt,
        metadata={"filters": filters.as_query()},
    )
    return response


@org_page(on_error="audit")
@require_POST
def audit_retention(request: HttpRequest) -> HttpResponse:
    audit_log.set_retention(
        org=request.organization,
        days=request.POST.get("days"),
        actor_membership=request.membership,
        request=request,
    )
    messages.success(
        request, f"Events are now kept for {request.organization.audit_retention_days} days."
    )
    return redirect("audit")
