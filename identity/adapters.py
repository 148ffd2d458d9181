"""django-allauth's two adapters, where single sign-on meets sign-in (identity/sso.py):
the social adapter serves each organization's identity provider as an in-memory
OpenID Connect app, sends allauth's HTTP through the guarded transport, and checks who
the provider answered for; the account adapter refuses password sign-ins "require SSO"
forbids and makes SSO sign-ins members."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from audit import trail
from identity import guarded_requests, sso
from portal.models import User


def _claims(sociallogin: Any) -> dict:
    """What the provider said: OpenID Connect's userinfo and ID token claims, or SAML's
    attributes (each a list) with the email allauth mapped."""
    data = sociallogin.account.extra_data or {}
    if "userinfo" in data or "id_token" in data:
        return {**(data.get("userinfo") or {}), **(data.get("id_token") or {})}
    return {**data, "email": sociallogin.user.email or ""}


class PortalSocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request: HttpRequest, provider: Any = None, client_id: Any = None):
        """Only the app asked for by its provider id (sso-<id>; SAML's URLs carry it as
        the client id): the sign-in page lists no organization's provider to strangers."""
        key = client_id if provider == "saml" else provider
        connection = sso.connection_for_provider(key) if isinstance(key, str) else None
        if connection is None:
            return []
        app = sso.social_app(connection)
        if provider == "saml" and app.provider != "saml":
            return []
        if provider != "saml" and client_id and client_id != app.client_id:
            return []
        return [app]

    def get_requests_session(self):
        return guarded_requests.session()

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True  # only emails in the organization's verified domains get this far

    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        connection = sso.connection_for_provider(sociallogin.account.provider)
        email = str(_claims(sociallogin).get("email") or "").strip().lower()
        try:
            if connection is None:
                raise sso.SsoRefused("This single sign-on is not set up any more.")
            sso.check_email(connection, email)
        except sso.SsoRefused as refused:
            sso.record_failure(connection, refused.message, request)
            raise ImmediateHttpResponse(
                render(
                    request,
                    "error.html",
                    {"status": 403, "message": refused.message},
                    status=403,
                )
            ) from None
        if not sociallogin.is_existing:
            existing = User.objects.filter(email__iexact=email).first()
            if existing is not None:
                sociallogin.connect(request, existing)

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ):
        # SAML's provider id is "saml"; its app's (sso-<id>) is the sub id.
        connection = sso.connection_for_provider(
            str(getattr(provider, "sub_id", "") or getattr(provider, "id", ""))
        )
        sso.record_failure(connection, f"{error or 'error'}: {exception or ''}"[:500], request)
        return super().on_authentication_error(
            request, provider, error=error, exception=exception, extra_context=extra_context
        )


class PortalAccountAdapter(DefaultAccountAdapter):
    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        sociallogin = (kwargs.get("signal_kwargs") or {}).get("sociallogin")
        if sociallogin is None:
            organization = sso.password_refused_by(user)
            if organization is not None:
                trail.record(
                    action="sso.password_refused",
                    organization=organization,
                    actor=trail.Actor.user(user),
                    request=request,
                    target_type="user",
                    target_id=user.email,
                    outcome="denied",
                )
                messages.error(
                    request,
                    f"{organization.name} requires single sign-on: sign in with your "
                    "company account.",
                )
                return redirect("sso_start")
        return super().pre_login(request, user, **kwargs)

    def post_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse:
        sociallogin = (kwargs.get("signal_kwargs") or {}).get("sociallogin")
        if sociallogin is not None:
            connection = sso.connection_for_provider(sociallogin.account.provider)
            if connection is not None:
                sso.admit(
                    request=request, connection=connection, user=user, claims=_claims(sociallogin)
                )
        return super().post_login(request, user, **kwargs)
