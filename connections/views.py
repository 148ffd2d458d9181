"""Pages: connections (owners/admins), the per-user connect page, the OAuth redirects,
the admin list of connected accounts, and the tool explorer."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from connections import (
    accounts,
    authorization,
    callback,
    configuration,
    explorer,
    selectors,
    setup_guide,
    tools,
)
from connections.errors import AuthorizationFailed
from connections.filters import ConnectedAccountFilter
from connections.forms import ConnectionForm
from connections.models import AccountStatus, AuthorizationRequest, ConnectedAccount, Connection
from connections.providers import get_provider
from core.decorators import org_page
from core.errors import NotFound, PortalError
from core.forms import show_error
from portal.requests import OrgRequest

# --- Connections (owners/admins) ------------------------------------------------------


@org_page(manager=True)
def connection_list(request: OrgRequest) -> HttpResponse:
    """The organization's connections, and every provider one can add."""
    connections = selectors.connections_of(organization=request.organization)
    return render(
        request,
        "connections/connection_list.html",
        {"connections": connections, "catalog": setup_guide.providers_for_setup(request=request)},
    )


def _connection_values(form: ConnectionForm) -> dict:
    data = form.cleaned_data
    values = {key: data[key] for key in ("client_id", "enabled", *configuration.ENDPOINT_FIELDS)}
    values["settings"] = form.settings()
    if data.get("scopes"):
        values["scopes"] = data["scopes"]
    values["client_secret"] = data.get("client_secret") or ""
    return values


@org_page(manager=True, on_error="connections")
def connection_new(request: OrgRequest, provider: str) -> HttpResponse:
    """Set up one provider: where to register the app, the redirect URI, then the form."""
    spec = get_provider(provider)
    if spec is None:
        raise NotFound("No such provider.")
    form = ConnectionForm(
        request.POST or None, provider=spec, initial={"name": spec.key, "enabled": True}
    )
    if request.method == "POST" and form.is_valid():
        try:
            connection = configuration.create_connection(
                org=request.organization,
                caller=request.caller,
                request=request,
                name=form.cleaned_data["name"],
                provider=spec.key,
                **_connection_values(form),
            )
        except PortalError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Connection “{connection.name}” created.")
            return redirect("connection_detail", name=connection.name)
    return render(
        request,
        "connections/connection_new.html",
        {"form": form, "guide": setup_guide.describe(spec, request=request)},
    )


@org_page(manager=True)
def connection_detail(request: OrgRequest, name: str) -> HttpResponse:
    connection = configuration.get_connection(request.organization, name)
    spec = connection.provider_spec
    initial = {
        "client_id": connection.client_id,
        "scopes": " ".join(connection.scopes),
        "enabled": connection.enabled,
        **{field: getattr(connection, field) for field in configuration.ENDPOINT_FIELDS},
        **{f"setting_{k}": v for k, v in (connection.settings or {}).items()},
    }
    form = ConnectionForm(request.POST or None, provider=spec, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            configuration.update_connection(
                connection=connection,
                caller=request.caller,
                request=request,
                **_connection_values(form),
            )
        except PortalError as exc:
            show_error(form, exc)
        else:
            messages.success(request, "Connection saved.")
            return redirect("connection_detail", name=connection.name)
    context = {
        "connection": connection,
        "form": form,
        "guide": setup_guide.describe(spec, request=request),
        "account_counts": selectors.account_status_counts(connection=connection),
    }
    return render(request, "connections/connection_detail.html", context)


@org_page(manager=True, on_error="connections")
@require_POST
def connection_delete(request: OrgRequest, name: str) -> HttpResponse:
    connection = configuration.get_connection(request.organization, name)
    result = configuration.delete_connection(
        connection=connection, caller=request.caller, request=request
    )
    note = (
        f" {result['failed']} revocation(s) at the provider failed (audited)."
        if result["failed"]
        else ""
    )
    messages.success(
        request,
        f"Connection “{name}” deleted; {result['revoked']} account token(s) revoked at the "
        f"provider.{note}",
    )
    return redirect("connections")


# --- The signed-in user's own accounts ----------------------------------------------------


@org_page(on_error="connected_accounts")
def connected_accounts(request: OrgRequest) -> HttpResponse:
    rows = selectors.connect_page_rows(caller=request.caller)
    return render(request, "connections/connected_accounts.html", {"rows": rows})


def _own_account(request: OrgRequest, connection: Connection) -> ConnectedAccount | None:
    """The account the form names (by id, among the caller's own), else their default."""
    return selectors.own_account(
        caller=request.caller, connection=connection, account_id=request.POST.get("account_id", "")
    )


@org_page(on_error="connected_accounts")
@require_POST
def connect(request: OrgRequest, name: str) -> HttpResponse:
    """Start the portal flow for the signed-in user's own identifier: connect, reconnect
    one account (account_id), or add another account at the provider (add=1)."""
    connection = configuration.get_connection(request.organization, name, enabled_only=True)
    account = _own_account(request, connection) if request.POST.get("account_id") else None
    if request.POST.get("account_id") and account is None:
        raise NotFound("You have no such account on this connection.")
    auth_request = authorization.start_authorization(
        caller=request.caller,
        connection=connection,
        account=account,
        add_account=request.POST.get("add") == "1",
        request=request,
    )
    return redirect(authorization.provider_authorization_url(auth_request))


@org_page(on_error="connected_accounts")
@require_POST
def disconnect_own(request: OrgRequest, name: str) -> HttpResponse:
    connection = configuration.get_connection(request.organization, name)
    account = _own_account(request, connection)
    if account is None:
        raise NotFound("You have no account on this connection.")
    accounts.disconnect(account=account, request=request)
    messages.success(request, f"{account.connection.name} ({account.display_label}) disconnected.")
    return redirect("connected_accounts")


@org_page(on_error="connected_accounts")
@require_POST
def make_default(request: OrgRequest, name: str) -> HttpResponse:
    connection = configuration.get_connection(request.organization, name)
    account = _own_account(request, connection)
    if account is None:
        raise NotFound("You have no such account on this connection.")
    accounts.set_default(account=account, request=request)
    messages.success(request, f"Tools now use {account.display_label} by default.")
    return redirect("connected_accounts")


# --- OAuth redirects (capability URLs: the unguessable id or state is the credential) -------


def oauth_authorize(request: HttpRequest, auth_request_id: Any) -> HttpResponse:
    """The link the API hands out: forwards the browser to the provider."""
    auth_request = (
        AuthorizationRequest.objects.select_related("connection").filter(pk=auth_request_id).first()
    )
    if auth_request is None:
        return _oauth_error(request, "This authorization link is not valid.", status=404)
    try:
        return redirect(authorization.provider_authorization_url(auth_request))
    except AuthorizationFailed as exc:
        return _oauth_error(request, exc.message)


def oauth_callback(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        result = callback.complete_authorization(
            provider_key=provider, params=request.GET.dict(), request=request
        )
    except AuthorizationFailed as exc:
        return _oauth_error(request, exc.message)
    if result.activated:
        account = result.account
        messages.success(
            request,
            f"Your {account.connection.provider_spec.display_name} account is connected"
            + (f" as {account.provider_account_label}." if account.provider_account_label else "."),
        )
    return redirect(result.redirect_url)


def oauth_done(request: HttpRequest) -> HttpResponse:
    return render(request, "connections/oauth_done.html")


def _oauth_error(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(request, "connections/oauth_error.html", {"message": message}, status=status)


# --- All connected accounts of the organization (owners/admins) ----------------------------


@org_page(manager=True, on_error="connected_accounts_admin")
def connected_accounts_admin(request: OrgRequest) -> HttpResponse:
    org = request.organization
    filters = ConnectedAccountFilter(
        request.GET, queryset=selectors.all_accounts(organization=org), strict=False
    )
    listed = filters.narrowed.order_by("connection__name", "identifier")
    context = {
        "page": Paginator(listed, 50).get_page(request.GET.get("page")),
        "filters": filters.values,
        "query": filters.query,
        "statuses": AccountStatus.choices,
        "connection_names": selectors.connection_names(organization=org),
    }
    return render(request, "connections/accounts_admin.html", context)


@org_page(manager=True, on_error="connected_accounts_admin")
@require_POST
def admin_disconnect(request: OrgRequest, account_id: Any) -> HttpResponse:
    found = selectors.all_accounts(organization=request.organization).filter(pk=account_id)
    account = found.first()
    if account is None:
        raise NotFound("No such connected account.")
    accounts.disconnect(account=account, request=request)
    messages.success(request, f"{account.identifier} disconnected from {account.connection.name}.")
    return redirect("connected_accounts_admin")


# --- Tool explorer ---------------------------------------------------------------------------


@org_page()
def tool_list(request: OrgRequest) -> HttpResponse:
    available = tools.list_tools(caller=request.caller)
    return render(request, "connections/tool_list.html", {"available": available})


@org_page()
def tool_detail(request: OrgRequest, tool_name: str) -> HttpResponse:
    """A form generated from the tool's schema; runs it as the signed-in user."""
    available = {entry.name: entry for entry in tools.list_tools(caller=request.caller)}
    entry = available.get(tool_name)
    if entry is None:
        raise NotFound("This tool is not available to your connected accounts.")
    context: dict[str, Any] = {
        "entry": entry,
        "fields": explorer.form_fields(entry.tool, request.POST or None),
    }
    if request.method == "POST":
        try:
            params = explorer.params_from_form(entry.tool, request.POST)
            context["result"] = tools.execute_tool(
                caller=request.caller,
                tool_name=entry.tool.name,
                params=params,
                connection_name=entry.connection_name,
                via="explorer",
                request=request,
            )
            context["result_json"] = json.dumps(context["result"]["data"], indent=2)
        except PortalError as exc:
            context["error"] = exc
    template = "connections/_tool_result.html" if request.htmx else "connections/tool_detail.html"
    return render(request, template, context)
