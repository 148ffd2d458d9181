"""Account events (sign-up, sign-in, sign-out, failed sign-in, MFA) into the audit trail."""

from allauth.account.signals import password_changed, password_reset, user_signed_up
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit import trail
from portal.models import Membership


def _record_account_event(action: str, user, request, outcome: str = "success", **metadata):
    trail.record(
        action=action,
        actor=trail.Actor.user(user) if user is not None else trail.Actor.anonymous(),
        request=request,
        target_type="user",
        target_id=user.email if user is not None else metadata.get("email", ""),
        outcome=outcome,
        metadata=metadata,
    )


@receiver(user_signed_up)
def on_signed_up(request, user, **kwargs):
    _record_account_event("account.signed_up", user, request)


@receiver(user_logged_in)
def on_logged_in(sender, request, user, **kwargs):
    _record_account_event("account.signed_in", user, request)
    # Each organization's admins see their members' sign-ins in their own log.
    for membership in Membership.objects.filter(user=user).select_related("organization"):
        trail.record(
            action="member.signed_in",
            organization=membership.organization,
            actor=trail.Actor.user(user),
            request=request,
            target_type="user",
            target_id=user.email,
        )


@receiver(user_logged_out)
def on_logged_out(sender, request, user, **kwargs):
    if user is not None:
        _record_account_event("account.signed_out", user, request)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    email = str(credentials.get("email") or credentials.get("username") or "")[:254]
    _record_account_event("account.sign_in_failed", None, request, "failure", email=email)


@receiver(password_changed)
def on_password_changed(request, user, **kwargs):
    _record_account_event("account.password_changed", user, request)


@receiver(password_reset)
def on_password_reset(request, user, **kwargs):
    _record_account_event("account.password_reset", user, request)


@receiver(authenticator_added)
def on_mfa_added(request, user, authenticator, **kwargs):
    _record_account_event("account.mfa_added", user, request, type=authenticator.type)


@receiver(authenticator_removed)
def on_mfa_removed(request, user, authenticator, **kwargs):
    _record_account_event("account.mfa_removed", user, request, type=authenticator.type)
