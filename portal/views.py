"""Pages of the tenancy domain. Each view parses input and calls one service."""

from __future__ import annotations

from typing import Any, cast

from allauth.account.adapter import get_adapter
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from core.decorators import org_page
from core.dependencies import redis_report
from core.errors import NotFound, PortalError
from core.models import WorkerHeartbeat
from core.urls import with_query
from portal import apikeys, organizations, selectors
from portal.forms import ApiKeyForm, InviteForm, OrganizationForm, RoleForm
from portal.middleware import SESSION_ORG_KEY
from portal.requests import OrgRequest, SignedInRequest


@login_required
def onboarding(request: SignedInRequest) -> HttpResponse:
    """Create an organization or answer an invitation; also where new users land."""
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = organizations.create_organization(
                name=form.cleaned_data["name"], owner=request.user, request=request
            )
        except PortalError as exc:
            form.add_error("name", exc.message)
        else:
            request.session[SESSION_ORG_KEY] = org.pk
            messages.success(request, f"{org.name} is ready. Invite your team next.")
            return redirect("members")
    invitations = [
        (invitation, organizations.invitation_token(invitation))
        for invitation in organizations.pending_invitations_for(request.user)
    ]
    return render(request, "portal/onboarding.html", {"form": form, "invitations": invitations})


@login_required
@require_POST
def switch_organization(request: SignedInRequest, slug: str) -> HttpResponse:
    membership = organizations.memberships_of(request.user).filter(organization__slug=slug).first()
    if membership is None:
        raise Http404("No such organization.")
    request.session[SESSION_ORG_KEY] = membership.organization_id
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = "home"
    return redirect(next_url)


@org_page(on_error="members")
def members(request: OrgRequest) -> HttpResponse:
    org, membership = request.organization, request.membership
    form = InviteForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            invitation = organizations.invite(
                caller=request.caller,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                request=request,
            )
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("members")
        messages.error(request, "Check the invitation form.")
    context = {
        "form": form,
        "members": selectors.members_of(organization=org),
        "invitations": [
            (invitation, organizations.invitation_url(invitation, request))
            for invitation in (
                selectors.pending_invitations(organization=org) if membership.can_manage else []
            )
        ],
        "roles": cast(forms.ChoiceField, RoleForm.base_fields["role"]).choices,
    }
    return render(request, "portal/members.html", context)


@org_page(on_error="members")
@require_POST
def change_member_role(request: OrgRequest, membership_id: int) -> HttpResponse:
    changed = organizations.change_role(
        caller=request.caller,
        membership_id=membership_id,
        role=request.POST.get("role", ""),
        request=request,
    )
    messages.success(request, f"{changed.user.email} is now {changed.get_role_display()}.")
    return redirect("members")


@org_page(on_error="members")
@require_POST
def remove_member(request: OrgRequest, membership_id: int) -> HttpResponse:
    leaving = request.membership.pk == membership_id
    organizations.remove_member(
        caller=request.caller,
        membership_id=membership_id,
        request=request,
    )
    if leaving:
        request.session.pop(SESSION_ORG_KEY, None)
        messages.success(request, "You left the organization.")
        return redirect("home")
    messages.success(request, "Member removed.")
    return redirect("members")


@org_page(on_error="members")
@require_POST
def revoke_invitation(request: OrgRequest, invitation_id: int) -> HttpResponse:
    invitation = organizations.revoke_invitation(
        caller=request.caller,
        invitation_id=invitation_id,
        request=request,
    )
    messages.success(request, f"Invitation to {invitation.email} revoked.")
    return redirect("members")


def respond_to_invitation(request: SignedInRequest, token: str) -> HttpResponse:
    """The page a signed invitation link opens. Signed out, it names the organization and
    the inviter and offers to sign in or sign up with the invited email; the link itself
    proves that address (it was mailed there), so signing up with it needs no second
    email, and both come back here to accept."""
    try:
        invitation = organizations.invitation_from_token(token)
    except NotFound as exc:
        return render(request, "portal/invitation.html", {"error": exc.message}, status=404)
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect_to_login(request.get_full_path())
        get_adapter(request).stash_verified_email(request, invitation.email)
        here = request.path
        return render(
            request,
            "portal/invitation.html",
            {
                "invitation": invitation,
                "signed_out": True,
                "signup_url": with_query(
                    reverse("account_signup"), {"next": here, "email": invitation.email}
                ),
                "login_url": with_query(reverse("account_login"), {"next": here}),
            },
        )
    if request.method == "POST":
        try:
            if request.POST.get("decision") == "decline":
                organizations.decline_invitation(token=token, user=request.user, request=request)
                messages.info(request, f"You declined the invitation to {invitation.organization}.")
                return redirect("home")
            membership = organizations.accept_invitation(
                token=token, user=request.user, request=request
            )
        except PortalError as exc:
            return render(
                request,
                "portal/invitation.html",
                {"invitation": invitation, "error": exc.message},
                status=exc.status,
            )
        request.session[SESSION_ORG_KEY] = membership.organization_id
        messages.success(request, f"Welcome to {membership.organization}.")
        return redirect("home")
    return render(request, "portal/invitation.html", {"invitation": invitation})


@org_page(manager=True, on_error="api_keys")
def api_keys(request: OrgRequest) -> HttpResponse:
    org = request.organization
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        key, new_key = apikeys.mint_api_key(
            caller=request.caller,
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
            test_mode=form.cleaned_data["test_mode"],
            request=request,
        )
        messages.success(request, f"API key “{key.name}” created. Copy it now: it is shown once.")
        form = ApiKeyForm()
    keys = selectors.api_keys_of(organization=org)
    response = render(
        request, "portal/api_keys.html", {"form": form, "keys": keys, "new_key": new_key}
    )
    if new_key:
        response["Cache-Control"] = "no-store"
    return response


@org_page(manager=True, on_error="api_keys")
@require_POST
def revoke_api_key(request: OrgRequest, key_id: int) -> HttpResponse:
    key = apikeys.revoke_api_key(
        caller=request.caller,
        key_id=key_id,
        request=request,
    )
    messages.success(request, f"API key “{key.name}” revoked.")
    return redirect("api_keys")


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and orchestrators, and for people: what answers and what does not.

    503 when the database is away (nothing works without it), 200 otherwise — with
    `"status": "degraded"` and the name of what is away when the cache or the broker is
    (pages and the API still answer; runs cannot start). `?workers=1` also wants a live
    background worker (a heartbeat within three beats). Unauthenticated, so it says
    nothing but the state.
    """
    redis = redis_report()  # answered while the database is asked
    report: dict[str, Any] = {"database": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        workers = (
            WorkerHeartbeat.objects.alive().count() if request.GET.get("workers") == "1" else None
        )
    except DatabaseError:
        report["database"] = "unreachable"
        workers = None
    report.update(redis.result())
    if workers is not None:
        report["workers"] = workers
    down = [name for name, state in report.items() if state == "unreachable"]
    if report["database"] != "ok" or workers == 0:
        return JsonResponse({"status": "unavailable", **report}, status=503)
    return JsonResponse({"status": "degraded" if down else "ok", **report})
