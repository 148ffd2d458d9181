"""List endpoints over items computed in memory (DRF's generics import the pagination
settings, so this lives apart from core/api/pagination.py)."""

from __future__ import annotations

from rest_framework import generics
from rest_framework.response import Response

from core.api.pagination import ListPagination


class ListOfItems(generics.ListAPIView):
    """A list endpoint over items computed in memory (`items`), answered in the same
    envelope as every other list; `serializer_class` documents an item."""

    pagination_class = ListPagination

    def items(self) -> list:
        raise NotImplementedError

    def list(self, request, *args, **kwargs) -> Response:
        return self.get_paginated_response(self.paginate_queryset(self.items()))
