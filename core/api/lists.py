"""List endpoints over items computed in memory (DRF's generics import the pagination
settings, so this lives apart from core/api/pagination.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rest_framework import generics
from rest_framework.response import Response

from core.api.pagination import ListPagination

if TYPE_CHECKING:  # DRF's settings import these modules: no import back at run time
    from rest_framework.request import Request


class ListOfItems(generics.ListAPIView):
    """A list endpoint over items computed in memory (`items`), answered in the same
    envelope as every other list; `serializer_class` documents an item."""

    pagination_class = ListPagination

    def items(self) -> list:
        raise NotImplementedError

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(cast(Any, self.items()))  # a list pages like a queryset
        return self.get_paginated_response(page)
