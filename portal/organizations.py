"""Organizations, memberships and invitations: the services pages and the API call."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from audit import trail
from core.errors import Conflict, Forbidden, Invalid, NotFound
from portal.callers import Caller
from portal.models import Invitation, Membership, Organization, Role, User

INVITATION_MAX_AGE = timedelta(days=7)
INVITATION_SALT = "portal.invitation"


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_organization(
    *, name: str, owner: User, request: HttpRequest | None = None
) -> Organization:
    name = name.strip()
    if not name:
        raise Invalid("Give the organization a name.", code="name_required")
    with transaction.atomic():
        org = Organization.objects.create(name=name[:100], slug=_unique_slug(name))
        Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
        trail.record(
            action="organization.created",
            organization=org,
            actor=trail.Actor.user(owner),
            request=request,
            target_type="organization",
            target_id=org.slug,
            metadata={"name": org.name},
        )
    return org


def memberships_of(user: User):
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )


def _owner_count(org: Organization) -> int:
    return Membership.objects.for_org(org).filter(role=Role.OWNER).count()


def _check_role_grant(caller: Caller, role: str) -> None:
    if role not in Role.values:
        raise Invalid(f"Unknown role {role!r}.", code="invalid_role")
    # Admins manage members but cannot mint owners: ownership is granted by owners.
    if role == Role.OWNER and caller.role != Role.OWNER:
        raise Forbidden("Only owners can make someone an owner.")


def _lock_organization(org: Organization) -> None:
    """Serialize every change to the organization's owners on its row (DESIGN: the last
    owner). Locking only the membership being changed would let two concurrent
    removals of two different owners both see "another owner is left"."""
    Organization.objects.select_for_update().filter(pk=org.pk).first()


def change_role(
    *, caller: Caller, membership_id: int, role: str, request: HttpRequest | None = None
) -> Membership:
    org = caller.organization
    with transaction.atomic():
        _lock_organization(org)
        membership = _locked_membership(org, membership_id)  # a foreign id is a 404 first
        caller.require_manager()
        _check_role_grant(caller, role)
        if membership.role == Role.OWNER and caller.role != Role.OWNER:
            raise Forbidden("Only owners can change another owner's role.")
        old_role = membership.role
        if old_role == Role.OWNER and role != Role.OWNER and _owner_count(org) <= 1:
            raise Conflict("An organization keeps at least one owner.", code="last_owner")
        _set_role(membership, role, caller=caller, request=request)
    return membership


def _set_role(membership: Membership, role: str, *, caller: Caller, request) -> None:
    old_role, membership.role = membership.role, role
    membership.save(update_fields=["role"])
    trail.record(
        action="member.role_changed",
        organization=membership.organization,
        caller=caller,
        request=request,
        target_type="user",
        target_id=membership.user.email,
        metadata={"old_role": old_role, "new_role": role},
    )


def _locked_membership(org: Organization, membership_id: int) -> Membership:
    try:
        return (
            Membership.objects.for_org(org)
            .select_for_update()
            .select_related("user")
            .get(pk=membership_id)
        )
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such member.") from None


# Sent after a removal commits (sender: Organization; organization, user, actor). The
# apps that hold a member's things clean up: connections disconnects their accounts,
# agents ends their runs. portal cannot import those apps, so it announces instead.
member_removed = Signal()


def remove_member(
    *, caller: Caller, membership_id: int, request: HttpRequest | None = None
) -> None:
    org = caller.organization
    with transaction.atomic():
        _lock_organization(org)
        membership = _locked_membership(org, membership_id)
        leaving_self = caller.membership is not None and membership.pk == caller.membership.pk
        if not leaving_self:
            caller.require_manager()
            if membership.role == Role.OWNER and caller.role != Role.OWNER:
                raise Forbidden("Only owners can remove an owner.")
        _remove(
            membership,
            caller=caller,
            request=request,
            action="member.left" if leaving_self else "member.removed",
        )


def deprovision_member(*, caller: Caller, user: User, request: HttpRequest | None = None) -> bool:
    """The organization's identity provider ended this person's membership (SCIM): the
    same removal as a manager's, with every side effect, in this request. False when
    they were not a member."""
    caller.require_manager()
    org = caller.organization
    with transaction.atomic():
        _lock_organization(org)
        membership = Membership.objects.for_org(org).select_for_update().filter(user=user).first()
        if membership is None:
            return False
        _remove(membership, caller=caller, request=request, action="member.deprovisioned")
    return True


def _remove(membership: Membership, *, caller: Caller, request: HttpRequest | None, action: str):
    org = caller.organization
    if membership.role == Role.OWNER and _owner_count(org) <= 1:
        raise Conflict("An organization keeps at least one owner.", code="last_owner")
    membership.delete()
    trail.record(
        action=action,
        organization=org,
        caller=caller,
        request=request,
        target_type="user",
        target_id=membership.user.email,
        metadata={"role": membership.role},
    )
    user = membership.user
    transaction.on_commit(
        lambda: member_removed.send(sender=Organization, organization=org, user=user, caller=caller)
    )


def provision_member(
    *, caller: Caller, user: User, role: str, request: HttpRequest | None = None
) -> Membership:
    """Make this person a member with this role (the identity provider's say: SCIM,
    single sign-on). An owner stays an owner: ownership is granted in the portal only."""
    caller.require_manager()
    if role not in Role.values or role == Role.OWNER:
        raise Invalid(f"An identity provider cannot grant the role {role!r}.", code="invalid_role")
    org = caller.organization
    with transaction.atomic():
        _lock_organization(org)
        membership, created = Membership.objects.get_or_create(
            organization=org, user=user, defaults={"role": role}
        )
        old_role = membership.role
        if created:
            trail.record(
                action="member.provisioned",
                organization=org,
                caller=caller,
                request=request,
                target_type="user",
                target_id=user.email,
                metadata={"role": role},
            )
        elif old_role not in (role, Role.OWNER):
            _set_role(membership, role, caller=caller, request=request)
    return membership


# --- Invitations ----------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk}, salt=INVITATION_SALT, compress=True)


def invitation_url(invitation: Invitation, request: HttpRequest | None = None) -> str:
    path = reverse("invitation_respond", args=[invitation_token(invitation)])
    if settings.PORTAL_BASE_URL:
        return settings.PORTAL_BASE_URL + path
    return request.build_absolute_uri(path) if request is not None else path


def invite(
    *, caller: Caller, email: str, role: str, request: HttpRequest | None = None
) -> Invitation:
    org = caller.organization
    caller.require_manager()
    _check_role_grant(caller, role)
    email = User.objects.normalize_email(email.strip()).lower()
    if not email or "@" not in email:
        raise Invalid("Enter a valid email address.", code="invalid_email")
    if Membership.objects.for_org(org).filter(user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member.", code="already_member")
    Invitation.objects.for_org(org).filter(
        email__iexact=email, status=Invitation.Status.PENDING, expires_at__lte=timezone.now()
    ).update(status=Invitation.Status.REVOKED)  # an expired invitation makes room for a new one
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                organization=org,
                email=email,
                role=role,
                invited_by=caller.user,
                expires_at=timezone.now() + INVITATION_MAX_AGE,
            )
            trail.record(
                action="invitation.created",
                organization=org,
                caller=caller,
                request=request,
                target_type="invitation",
                target_id=invitation.pk,
                metadata={"email": email, "role": role},
            )
    except IntegrityError:
        raise Conflict(
            f"{email} already has a pending invitation.", code="duplicate_invitation"
        ) from None
    send_mail(
        subject=f"[Agent Portal] {caller.user.email if caller.user else org.name} invited you "
        f"to {org.name}",
        message=(
            f"You have been invited to join {org.name} on Agent Portal as {role}.\n\n"
            f"Accept or decline: {invitation_url(invitation, request)}\n\n"
            f"The link expires in {INVITATION_MAX_AGE.days} days."
        ),
        from_email=None,
        recipient_list=[email],
        fail_silently=True,
    )
    return invitation


def invitation_from_token(token: str) -> Invitation:
    """The invitation a signed link names. Expired, tampered or unknown links → NotFound."""
    try:
        payload = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise NotFound("This invitation link has expired.", code="invitation_expired") from None
    except signing.BadSignature:
        raise NotFound("This invitation link is not valid.", code="invitation_invalid") from None
    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(pk=payload.get("i"))
        .first()
    )
    if invitation is None:
        raise NotFound("This invitation no longer exists.", code="invitation_invalid")
    return invitation


def _check_open(invitation: Invitation) -> None:
    if invitation.status != Invitation.Status.PENDING:
        raise Conflict(
            f"This invitation was already {invitation.get_status_display().lower()}.",
            code=f"invitation_{invitation.status}",
        )
    if invitation.is_expired:
        raise Conflict("This invitation has expired.", code="invitation_expired")


def _check_addressee(invitation: Invitation, user: User) -> None:
    if invitation.email.lower() != user.email.lower():
        raise Forbidden(
            f"This invitation was sent to {invitation.email}; you are signed in as {user.email}.",
            code="invitation_wrong_user",
        )


def accept_invitation(*, token: str, user: User, request: HttpRequest | None = None) -> Membership:
    with transaction.atomic():
        invitation = invitation_from_token(token)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        _check_open(invitation)
        _check_addressee(invitation, user)
        org = invitation.organization
        membership, created = Membership.objects.get_or_create(
            organization=org, user=user, defaults={"role": invitation.role}
        )
        invitation.status = Invitation.Status.ACCEPTED
        invitation.responded_at = timezone.now()
        invitation.save(update_fields=["status", "responded_at"])
        trail.record(
            action="invitation.accepted",
            organization=org,
            actor=trail.Actor.user(user),
            request=request,
            target_type="invitation",
            target_id=invitation.pk,
            metadata={"role": membership.role, "new_member": created},
        )
    return membership


def decline_invitation(*, token: str, user: User, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation_from_token(token).pk)
        _check_open(invitation)
        _check_addressee(invitation, user)
        invitation.status = Invitation.Status.DECLINED
        invitation.responded_at = timezone.now()
        invitation.save(update_fields=["status", "responded_at"])
        trail.record(
            action="invitation.declined",
            organization=invitation.organization,
            actor=trail.Actor.user(user),
            request=request,
            target_type="invitation",
            target_id=invitation.pk,
        )


def revoke_invitation(
    *, caller: Caller, invitation_id: int, request: HttpRequest | None = None
) -> Invitation:
    org = caller.organization
    caller.require_manager()
    with transaction.atomic():
        invitation = (
            Invitation.objects.for_org(org).select_for_update().filter(pk=invitation_id).first()
        )
        if invitation is None:
            raise NotFound("No such invitation.")
        _check_open(invitation)
        invitation.status = Invitation.Status.REVOKED
        invitation.responded_at = timezone.now()
        invitation.save(update_fields=["status", "responded_at"])
        trail.record(
            action="invitation.revoked",
            organization=org,
            caller=caller,
            request=request,
            target_type="invitation",
            target_id=invitation.pk,
            metadata={"email": invitation.email},
        )
    return invitation


def pending_invitations_for(user: User):
    return (
        Invitation.objects.pending()
        .filter(email__iexact=user.email)
        .select_related("organization", "invited_by")
    )


def bootstrap_organization(
    *,
    name: str,
    owner_email: str,
    password: str | None = None,
    initial_password: str | None = None,
) -> tuple[Organization, Membership, bool]:
    """Create (or reuse) an organization and its owner, for scripts and the demo seed.

    The owner's email counts as verified: whoever runs this controls the server.
    Returns (organization, owner membership, whether the organization was created).
    """
    from allauth.account.models import EmailAddress

    email = User.objects.normalize_email(owner_email.strip()).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid(
            f"{owner_email!r} is not a valid email address.", code="invalid_email"
        ) from None
    if not name.strip():
        raise Invalid("Give the organization a name.", code="name_required")
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=password or initial_password)
        elif password:
            user.set_password(password)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        org = Organization.objects.filter(name__iexact=name.strip()).order_by("pk").first()
        created = org is None
        if org is None:
            org = create_organization(name=name, owner=user)
        membership, _ = Membership.objects.update_or_create(
            organization=org, user=user, defaults={"role": Role.OWNER}
        )
    return org, membership, created
