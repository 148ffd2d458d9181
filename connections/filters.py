"""The connected-account list's filters, for the admin page and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from connections.models import AccountStatus
from core.filtering import ListFilter, choice_filter


class ConnectedAccountFilter(ListFilter):
    connection_name = django_filters.CharFilter(field_name="connection__name")
    identifier = django_filters.CharFilter(field_name="identifier")
    status = choice_filter(AccountStatus.choices, what="status")
    q = django_filters.CharFilter(method="by_text")
    descriptions = {"q": "identifier, email or provider account (contains)"}

    def by_text(self, accounts: QuerySet, name: str, value: str) -> QuerySet:
        return accounts.filter(
            Q(identifier__icontains=value)
            | Q(user__email__icontains=value)
            | Q(provider_account_label__icontains=value)
        )
