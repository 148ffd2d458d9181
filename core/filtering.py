"""List filters, declared once per list (a django-filter FilterSet) for its page and its
API: the same names, the same meaning, the same checks.

`ListFilter(data, queryset=…, strict=True).narrowed`: the API is strict — a value that
cannot be understood is an Invalid (422) naming the field; a page may be lenient
(`strict=False`) and drop such a value, as a select box left on a stale choice should.
`values` (what was asked, as text) and `query` (it as a query string) serve the page's
form and its links.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from urllib.parse import urlencode

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiParameter

from core.errors import Invalid

VALUE_LIMIT = 255


class ListFilter(django_filters.FilterSet):
    # One error code for every field (e.g. "invalid_filter"), else "invalid_<field>".
    error_code: str | None = None
    # What a value means, where its name does not say it (the API's parameter docs).
    descriptions: dict[str, str] = {}

    @classmethod
    def parameters(cls) -> list[OpenApiParameter]:
        """The list's query parameters for the OpenAPI schema, from the filters themselves."""
        described = []
        for name, declared in cls.base_filters.items():
            kind = int if isinstance(declared, django_filters.NumberFilter) else str
            choices = (
                declared.extra.get("choices")
                if isinstance(declared, django_filters.ChoiceFilter)
                else None
            )
            described.append(
                OpenApiParameter(
                    name,
                    kind,
                    enum=["", *(value for value, _ in choices)] if choices else None,
                    description=cls.descriptions.get(name, "empty: any" if choices else ""),
                )
            )
        return described

    def __init__(self, data: Any = None, *, queryset: QuerySet, strict: bool = True) -> None:
        asked = {
            name: str(data.get(name, "") or "").strip()[:VALUE_LIMIT]
            for name in self.base_filters
            if data is not None and data.get(name) not in (None, "")
        }
        super().__init__(asked, queryset=queryset)
        self.strict = strict

    @property
    def values(self) -> dict[str, str]:
        return dict(self.data)

    @property
    def query(self) -> str:
        return urlencode(self.values)

    @property
    def narrowed(self) -> QuerySet:
        if self.is_valid():
            return self.qs
        if self.strict:
            field, errors = next(iter(self.errors.items()))
            raise Invalid(
                str(errors[0]),
                code=self.error_code or f"invalid_{field}",
                details={"field": field},
            )
        understood = {k: v for k, v in self.data.items() if k not in self.errors}
        return type(self)(understood, queryset=self.queryset, strict=False).qs


def choice_filter(choices: Any, *, field_name: str | None = None, what: str) -> Any:
    """A filter on one of `choices`; an unknown value is "Unknown <what> '<value>'."."""
    return django_filters.ChoiceFilter(
        field_name=field_name,
        choices=choices,
        error_messages={"invalid_choice": f"Unknown {what} %(value)r."},
    )


class IntegerFilter(django_filters.NumberFilter):
    """A whole number (django-filter's NumberFilter takes decimals)."""

    field_class = forms.IntegerField


def id_filter(field_name: str, *, what: str) -> Any:
    """A filter on a UUID primary key, e.g. agent_id."""
    return django_filters.UUIDFilter(
        field_name=field_name, error_messages={"invalid": f"{what} is not a valid id."}
    )


class MomentField(forms.CharField):
    """An ISO date (the whole day: its start, or with `end` its end) or date-time; naive
    values are in the portal's time zone."""

    def __init__(self, *, end: bool = False, **kwargs: Any) -> None:
        self.end = end
        super().__init__(**kwargs)

    def clean(self, value: Any) -> datetime | None:
        value = super().clean(value)
        if not value:
            return None
        message = (
            f"{self.label or 'The time'} must be a date (2026-11-24) or a date and time "
            "(2026-11-24T09:30)."
        )
        try:
            moment = parse_datetime(value)
            if moment is None:
                day = parse_date(value)
                if day is None:
                    raise forms.ValidationError(message)
                moment = datetime.combine(day, time.max if self.end else time.min)
        except (ValueError, OverflowError):  # well-formed but impossible: 2026-13-45
            raise forms.ValidationError(message) from None
        return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class MomentFilter(django_filters.Filter):
    """Created at or after (`gte`) / at or before (`lte`) a moment given as text."""

    field_class = MomentField

    def __init__(self, *, lookup_expr: str, **kwargs: Any) -> None:
        super().__init__(lookup_expr=lookup_expr, end=lookup_expr == "lte", **kwargs)
