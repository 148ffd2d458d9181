"""The reading side of SCIM shared by the service and its views: errors, parsing,
filters (scim2-filter-parser turns them into Django queries), pages and the resources
as served (RFC 7643 §3: id, meta, the provider's attributes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from pydantic import ValidationError
from scim2_filter_parser.attr_paths import AttrPath
from scim2_filter_parser.transpilers.django_q_object import get_query
from scim2_models import Context, EnterpriseUser, SCIMException, User

from identity.models import ScimGroup, ScimUser

UserResource = User[EnterpriseUser]
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
MAX_RESULTS = 200
USER_FILTERS = {
    ("userName", None, None): "user_name",
    ("externalId", None, None): "external_id",
    ("displayName", None, None): "display_name",
    ("active", None, None): "active",
    ("id", None, None): "id",
    ("emails", None, None): "email",
    ("emails", "value", None): "email",
    ("meta", "created", None): "created_at",
    ("meta", "lastModified", None): "updated_at",
}
GROUP_FILTERS = {
    ("displayName", None, None): "display_name",
    ("externalId", None, None): "external_id",
    ("id", None, None): "id",
    ("members", None, None): "memberships__member__id",
    ("members", "value", None): "memberships__member__id",
    ("meta", "created", None): "created_at",
    ("meta", "lastModified", None): "updated_at",
}


class ScimError(Exception):
    """A SCIM error response (RFC 7644 §3.12): status, scimType, detail."""

    def __init__(self, status: int, detail: str, scim_type: str = "") -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type


@dataclass(frozen=True)
class Page:
    total: int
    start_index: int
    items: list


def page(queryset: QuerySet, *, expression: str, attr_map: dict, start: Any, count: Any) -> Page:
    """One page of a filtered list: startIndex is 1-based; count is capped."""
    start_index = max(_integer(start, 1), 1)
    size = min(max(_integer(count, MAX_RESULTS), 0), MAX_RESULTS)
    chosen = _filtered(queryset, expression, attr_map).order_by("created_at", "pk")
    try:
        total = chosen.count()
        items = list(chosen[start_index - 1 : start_index - 1 + size]) if size else []
    except DjangoValidationError as exc:  # e.g. `id eq "not-a-uuid"`
        raise ScimError(
            400, f"A filter value is not valid: {exc.messages[0]}", "invalidFilter"
        ) from None
    return Page(total=total, start_index=start_index, items=items)


def _filtered(queryset: QuerySet, expression: str, attr_map: dict) -> QuerySet:
    if not expression:
        return queryset
    known = {tuple((part or "").lower() for part in key) for key in attr_map}
    try:
        paths = list(AttrPath(expression, attr_map))
        query = get_query(expression, attr_map)
    except Exception as exc:  # the parser's errors have no common base class
        raise ScimError(400, f"The filter is not valid: {exc}", "invalidFilter") from None
    unknown = [p for p in paths if tuple((part or "").lower() for part in p) not in known]
    if unknown or query is None:
        names = ", ".join(".".join(part for part in p if part) for p in unknown) or expression
        raise ScimError(400, f"Cannot filter on {names}.", "invalidFilter")
    try:
        return queryset.filter(query).distinct()
    except DjangoValidationError as exc:
        raise ScimError(
            400, f"A filter value is not valid: {exc.messages[0]}", "invalidFilter"
        ) from None


def _integer(value: Any, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ScimError(400, f"{value!r} is not a number.", "invalidValue") from None


def user_resource(scim_user: ScimUser, *, base: str) -> dict[str, Any]:
    data = dict(scim_user.resource)
    data.update(
        id=str(scim_user.pk),
        groups=[
            {
                "value": str(link.group_id),
                "display": link.group.display_name,
                "$ref": f"{base}/Groups/{link.group_id}",
                "type": "direct",
            }
            for link in scim_user.memberships.all()
        ],
        meta=_meta(scim_user, "User", f"{base}/Users/{scim_user.pk}"),
    )
    return data


def group_resource(group: ScimGroup, *, base: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": str(group.pk),
        "displayName": group.display_name,
        "members": [
            {
                "value": str(link.member_id),
                "display": link.display or link.member.user_name,
                "$ref": f"{base}/Users/{link.member_id}",
                "type": "User",
            }
            for link in group.memberships.all()
        ],
        "meta": _meta(group, "Group", f"{base}/Groups/{group.pk}"),
    }
    if group.external_id:
        data["externalId"] = group.external_id
    return data


def _meta(row: Any, kind: str, location: str) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "created": row.created_at.isoformat(),
        "lastModified": row.updated_at.isoformat(),
        "location": location,
        "version": f'W/"{row.version}"',
    }


def parse(model: Any, payload: Any, context: Context) -> Any:
    try:
        return model.model_validate(payload, scim_ctx=context)
    except ValidationError as exc:
        raise ScimError(400, _first_error(exc), "invalidValue") from None
    except SCIMException as exc:
        raise ScimError(exc.status, exc.detail, exc.scim_type) from None


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'not valid')}" if where else first.get("msg", "")
