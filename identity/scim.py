"""SCIM 2.0 provisioning (RFC 7643, RFC 7644): the organization's identity provider
creates, changes, deactivates and deletes its people and groups here.

A SCIM User is one person's membership of this organization. Active: a member, with the
role of their groups (an owner maps groups to roles; the highest wins; none: member;
owners are never made or unmade by the provider). Inactive or deleted: the membership is
removed exactly as a manager's removal does — connected accounts disconnected and
revoked, MCP grants and tokens revoked, runs and approvals ended, API keys can no longer
act as them — in the same request, audited (portal.organizations.deprovision_member).

Parsing, validation, PATCH and serialization are scim2-models'; filters become Django
queries through scim2-filter-parser. Nothing here parses SCIM by hand.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from scim2_models import Context, Group, PatchOp, SCIMException

from audit import trail
from core.errors import Conflict, Invalid, NotFound
from core.tenancy import as_uuid
from identity import domains
from identity.models import ScimGroup, ScimGroupMember, ScimUser
from identity.scim_query import ScimError, UserResource, group_resource, parse, user_resource
from portal import organizations
from portal.callers import Caller
from portal.models import Membership, Role
from portal.models import User as PortalUser

# Most capable first: a person in several mapped groups gets the first of these.
ROLE_RANK = [Role.ADMIN, Role.MEMBER, Role.AUDITOR]
MAPPABLE_ROLES = [role.value for role in ROLE_RANK]
DEFAULT_ROLE = Role.MEMBER


# --- reading ---------------------------------------------------------------------


def users(*, caller: Caller) -> QuerySet[ScimUser]:
    return ScimUser.objects.for_org(caller.organization).prefetch_related(
        Prefetch("memberships", queryset=ScimGroupMember.objects.select_related("group"))
    )


def groups(*, caller: Caller) -> QuerySet[ScimGroup]:
    return ScimGroup.objects.for_org(caller.organization).prefetch_related(
        Prefetch("memberships", queryset=ScimGroupMember.objects.select_related("member"))
    )


def get_user(*, caller: Caller, scim_id: Any) -> ScimUser:
    key = as_uuid(scim_id)
    found = users(caller=caller).filter(pk=key).first() if key else None
    if found is None:
        raise ScimError(404, f"No user {scim_id}.")
    return found


def get_group(*, caller: Caller, scim_id: Any) -> ScimGroup:
    key = as_uuid(scim_id)
    found = groups(caller=caller).filter(pk=key).first() if key else None
    if found is None:
        raise ScimError(404, f"No group {scim_id}.")
    return found


# --- users -----------------------------------------------------------------------


def create_user(*, caller: Caller, payload: Any, request: HttpRequest | None = None) -> ScimUser:
    resource = parse(UserResource, payload, Context.RESOURCE_CREATION_REQUEST)
    try:
        with transaction.atomic():
            _check_user_name_free(caller, resource.user_name)
            scim_user = ScimUser(organization=caller.organization, **_columns(resource))
            _link(caller, scim_user, resource)
            scim_user.save()
            _audit(caller, "scim.user_created", scim_user, request)
            _apply_membership(caller, scim_user, request)
    except IntegrityError:
        raise ScimError(409, "That userName is already in use.", "uniqueness") from None
    return get_user(caller=caller, scim_id=scim_user.pk)


def replace_user(
    *, caller: Caller, scim_id: Any, payload: Any, request: HttpRequest | None = None
) -> ScimUser:
    scim_user = get_user(caller=caller, scim_id=scim_id)  # another's id: 404 before all
    resource = parse(UserResource, payload, Context.RESOURCE_REPLACEMENT_REQUEST)
    return _store_user(caller, scim_user, resource, request)


def patch_user(
    *, caller: Caller, scim_id: Any, payload: Any, request: HttpRequest | None = None
) -> ScimUser:
    scim_user = get_user(caller=caller, scim_id=scim_id)
    patched = _patched(UserResource, payload, user_resource(scim_user, base=""))
    return _store_user(caller, scim_user, patched, request)


def _patched(model: Any, payload: Any, current: dict) -> Any:
    """The resource after a PATCH request's operations (RFC 7644 §3.5.2), by scim2-models."""
    patch = parse(PatchOp[model], _removals_by_filter(payload), Context.RESOURCE_PATCH_REQUEST)
    resource = parse(model, current, Context.RESOURCE_QUERY_RESPONSE)
    try:
        patch.patch(resource)
    except SCIMException as exc:
        raise ScimError(exc.status, exc.detail, exc.scim_type) from None
    return resource


def _removals_by_filter(payload: Any) -> Any:
    """Microsoft Entra ID removes group members with `{"op": "Remove", "path": "members",
    "value": [{"value": id}]}`; RFC 7644 §3.5.2.2 says the path's filter selects what a
    remove takes. The same removal, written as the RFC does: one op per member."""
    if not isinstance(payload, dict) or not isinstance(payload.get("Operations"), list):
        return payload
    operations = []
    for operation in payload["Operations"]:
        values = operation.get("value") if isinstance(operation, dict) else None
        if (
            str(operation.get("op", "")).lower() == "remove"
            and isinstance(operation.get("path"), str)
            and "[" not in operation["path"]
            and isinstance(values, list)
            and all(isinstance(v, dict) and isinstance(v.get("value"), str) for v in values)
        ):
            operations += [
                {"op": "remove", "path": f'{operation["path"]}[value eq "{v["value"]}"]'}
                for v in values
                if '"' not in v["value"]
            ]
        else:
            operations.append(operation)
    return {**payload, "Operations": operations}


def _store_user(caller: Caller, scim_user: ScimUser, resource: Any, request) -> ScimUser:
    try:
        with transaction.atomic():
            if resource.user_name.lower() != scim_user.user_name.lower():
                _check_user_name_free(caller, resource.user_name)
            was_active = scim_user.active
            for field, value in _columns(resource).items():
                setattr(scim_user, field, value)
            if scim_user.user_id is None:
                _link(caller, scim_user, resource)
            scim_user.version += 1
            scim_user.save()
            action = "scim.user_updated"
            if was_active != scim_user.active:
                action = "scim.user_activated" if scim_user.active else "scim.user_deactivated"
            _audit(caller, action, scim_user, request)
            _apply_membership(caller, scim_user, request)
    except IntegrityError:
        raise ScimError(409, "That userName is already in use.", "uniqueness") from None
    return get_user(caller=caller, scim_id=scim_user.pk)


def delete_user(*, caller: Caller, scim_id: Any, request: HttpRequest | None = None) -> None:
    scim_user = get_user(caller=caller, scim_id=scim_id)
    with transaction.atomic():
        _deprovision(caller, scim_user, request)
        _audit(caller, "scim.user_deleted", scim_user, request)
        scim_user.delete()


def _columns(resource: Any) -> dict[str, Any]:
    stored = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    for generated in ("id", "meta", "groups"):
        stored.pop(generated, None)
    return {
        "user_name": resource.user_name[:255],
        "external_id": (resource.external_id or "")[:255],
        "display_name": (resource.display_name or "")[:255],
        "active": resource.active is not False,
        "resource": stored,
    }


def _link(caller: Caller, scim_user: ScimUser, resource: Any) -> None:
    """Link the SCIM user to the portal account of its email address (none yet: it
    stays unlinked, not a member, until an address arrives)."""
    email = _email_of(resource)
    if not email:
        return
    user = _portal_user(caller, email, resource)
    if ScimUser.objects.for_org(caller.organization).filter(user=user).exists():
        raise ScimError(409, f"{email} is already provisioned.", "uniqueness")
    scim_user.user, scim_user.email = user, email


def _email_of(resource: Any) -> str:
    """The primary email, else the first, else userName when it is an address; ""."""
    emails = resource.emails or []
    candidates = [e.value for e in emails if e.primary] + [e.value for e in emails]
    for candidate in [*candidates, resource.user_name]:
        address = str(candidate or "").strip().lower()
        try:
            validate_email(address)
        except DjangoValidationError:
            continue
        return address
    return ""


def _check_user_name_free(caller: Caller, user_name: str) -> None:
    if ScimUser.objects.for_org(caller.organization).filter(user_name__iexact=user_name).exists():
        raise ScimError(409, f"The userName {user_name!r} is already in use.", "uniqueness")


def _portal_user(caller: Caller, email: str, resource: Any) -> PortalUser:
    """The portal account this person signs in with: theirs if one exists, else a new
    one without a password (single sign-on, or a password reset, opens it). Somebody's
    existing account joins the organization only when its email domain is one the
    organization verified: an identity provider speaks for its own domains only."""
    org = caller.organization
    verified = domains.is_verified_email(organization=org, email=email)
    user = PortalUser.objects.filter(email__iexact=email).first()
    if user is None:
        given = [resource.name.given_name, resource.name.family_name] if resource.name else []
        name = resource.display_name or " ".join(part for part in given if part)
        user = PortalUser.objects.create_user(email=email, password=None, name=(name or "")[:150])
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=verified)
        return user
    if not verified and not Membership.objects.for_org(org).filter(user=user).exists():
        raise ScimError(
            409,
            f"{email} already has a portal account outside this organization; verify the "
            f"domain {email.rsplit('@', 1)[1]} on the Identity page to provision it.",
            "uniqueness",
        )
    return user


def _apply_membership(caller: Caller, scim_user: ScimUser, request) -> None:
    if scim_user.user is None:
        return
    if not scim_user.active:
        _deprovision(caller, scim_user, request)
        return
    organizations.provision_member(
        caller=caller, user=scim_user.user, role=role_of(scim_user), request=request
    )


def _deprovision(caller: Caller, scim_user: ScimUser, request) -> None:
    if scim_user.user is None:
        return
    try:
        organizations.deprovision_member(caller=caller, user=scim_user.user, request=request)
    except Conflict as exc:  # the last owner
        raise ScimError(409, exc.message, "mutability") from None


def role_of(scim_user: ScimUser) -> str:
    mapped = {
        link.group.role
        for link in ScimGroupMember.objects.for_org(scim_user.organization)
        .filter(member=scim_user)
        .select_related("group")
        if link.group.role
    }
    return next((role for role in ROLE_RANK if role in mapped), DEFAULT_ROLE)


def _audit(caller: Caller, action: str, row: Any, request, **metadata: Any) -> None:
    is_user = isinstance(row, ScimUser)
    trail.record(
        action=action,
        organization=caller.organization,
        caller=caller,
        request=request,
        target_type="scim_user" if is_user else "scim_group",
        target_id=row.pk,
        metadata=(
            {"user_name": row.user_name, "email": row.email, "active": row.active}
            if is_user
            else {"display_name": row.display_name, "role": row.role}
        )
        | metadata,
    )


# --- groups ----------------------------------------------------------------------


def create_group(*, caller: Caller, payload: Any, request: HttpRequest | None = None) -> ScimGroup:
    resource = parse(Group, payload, Context.RESOURCE_CREATION_REQUEST)
    try:
        with transaction.atomic():
            group = ScimGroup.objects.create(
                organization=caller.organization,
                display_name=(resource.display_name or "")[:255],
                external_id=(resource.external_id or "")[:255],
            )
            changed = _set_members(caller, group, resource.members or [])
            _audit(caller, "scim.group_created", group, request, members=len(changed))
            _sync_roles(caller, changed, request)
    except IntegrityError:
        raise ScimError(409, "That displayName is already in use.", "uniqueness") from None
    return get_group(caller=caller, scim_id=group.pk)


def replace_group(
    *, caller: Caller, scim_id: Any, payload: Any, request: HttpRequest | None = None
) -> ScimGroup:
    group = get_group(caller=caller, scim_id=scim_id)  # another's id: 404 before all
    resource = parse(Group, payload, Context.RESOURCE_REPLACEMENT_REQUEST)
    return _store_group(caller, group, resource, request)


def patch_group(
    *, caller: Caller, scim_id: Any, payload: Any, request: HttpRequest | None = None
) -> ScimGroup:
    group = get_group(caller=caller, scim_id=scim_id)
    patched = _patched(Group, payload, group_resource(group, base=""))
    return _store_group(caller, group, patched, request)


def _store_group(caller: Caller, group: ScimGroup, resource: Any, request) -> ScimGroup:
    try:
        with transaction.atomic():
            group.display_name = (resource.display_name or "")[:255]
            group.external_id = (resource.external_id or "")[:255]
            group.version += 1
            group.save()
            changed = _set_members(caller, group, resource.members or [])
            _audit(caller, "scim.group_updated", group, request, members_changed=len(changed))
            _sync_roles(caller, changed, request)
    except IntegrityError:
        raise ScimError(409, "That displayName is already in use.", "uniqueness") from None
    return get_group(caller=caller, scim_id=group.pk)


def delete_group(*, caller: Caller, scim_id: Any, request: HttpRequest | None = None) -> None:
    group = get_group(caller=caller, scim_id=scim_id)
    with transaction.atomic():
        former = list(
            ScimUser.objects.for_org(caller.organization).filter(memberships__group=group)
        )
        _audit(caller, "scim.group_deleted", group, request)
        group.delete()
        _sync_roles(caller, former, request)


def _set_members(caller: Caller, group: ScimGroup, members: list) -> list[ScimUser]:
    """Make the group's members exactly these; the users whose groups changed."""
    wanted_ids = {as_uuid(m.value) for m in members if m.value}
    displays = {as_uuid(m.value): (m.display or "")[:255] for m in members if m.value}
    if None in wanted_ids:
        raise ScimError(400, "A member value is not a user id.", "invalidValue")
    found = {
        u.pk: u for u in ScimUser.objects.for_org(caller.organization).filter(pk__in=wanted_ids)
    }
    if missing := wanted_ids - set(found):
        raise ScimError(400, f"No user {sorted(map(str, missing))[0]}.", "invalidValue")
    current = {
        link.member_id: link
        for link in ScimGroupMember.objects.for_org(caller.organization)
        .filter(group=group)
        .select_related("member")
    }
    leaving = [link for key, link in current.items() if key not in wanted_ids]
    joining = [found[key] for key in wanted_ids if key not in current]
    ScimGroupMember.objects.filter(pk__in=[link.pk for link in leaving]).delete()
    ScimGroupMember.objects.bulk_create(
        [
            ScimGroupMember(
                organization=caller.organization, group=group, member=u, display=displays[u.pk]
            )
            for u in joining
        ]
    )
    for key, link in current.items():
        if key in wanted_ids and link.display != displays[key]:
            ScimGroupMember.objects.filter(pk=link.pk).update(display=displays[key])
    return [link.member for link in leaving] + joining


def _sync_roles(caller: Caller, scim_users: list[ScimUser], request) -> None:
    for scim_user in scim_users:
        if scim_user.active:
            _apply_membership(caller, scim_user, request)


def map_group_role(
    *, caller: Caller, group_id: Any, role: str, request: HttpRequest | None = None
) -> ScimGroup:
    """An owner or admin maps a provisioned group to a role ("" for none); its members'
    roles follow at once."""
    caller.require_manager()
    if role and role not in MAPPABLE_ROLES:
        raise Invalid(f"Groups map to {', '.join(MAPPABLE_ROLES)} or nothing.", code="invalid_role")
    key = as_uuid(group_id)
    group = ScimGroup.objects.for_org(caller.organization).filter(pk=key).first() if key else None
    if group is None:
        raise NotFound("No such group.")
    with transaction.atomic():
        group.role = role
        group.save(update_fields=["role", "updated_at"])
        _audit(caller, "scim.group_role_mapped", group, request)
        members = list(
            ScimUser.objects.for_org(caller.organization).filter(memberships__group=group)
        )
        _sync_roles(caller, members, request)
    return group
