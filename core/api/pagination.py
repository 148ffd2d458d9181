from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from rest_framework import exceptions, pagination
from rest_framework.response import Response

if TYPE_CHECKING:  # DRF's settings import these modules: no import back at run time
    from rest_framework.request import Request
    from rest_framework.views import APIView


def page_size(request: Request, *, default: int, maximum: int = 200, param: str = "limit") -> int:
    """`?limit=` from 1 to `maximum`; anything else is a 400, not silently the default."""
    raw = request.query_params.getlist(param)
    if not raw:
        return default
    if len(raw) > 1 or not raw[0].isdigit() or not 1 <= int(raw[0]) <= maximum:
        raise exceptions.ValidationError({param: [f"An integer from 1 to {maximum}."]})
    return int(raw[0])


def envelope_schema(schema: dict) -> dict:
    """Every list's answer: `{"results": [...], "next_cursor": "…" | null}`."""
    return {
        "type": "object",
        "required": ["results", "next_cursor"],
        "properties": {
            "results": schema,
            "next_cursor": {"type": "string", "nullable": True},
        },
    }


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination: `{"results": [...], "next_cursor": "…" | null}`; pass `?cursor=`."""

    ordering = "-id"
    page_size_query_param = "limit"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        return page_size(request, default=self.page_size or 50, maximum=self.max_page_size)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]}) from None

    def next_cursor(self) -> str | None:
        link = self.get_next_link()
        if not link:
            return None
        return parse_qs(urlsplit(link).query).get(self.cursor_query_param, [None])[0]

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"results": data, "next_cursor": self.next_cursor()})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return envelope_schema(schema)


class ListPagination(pagination.BasePagination):
    """The same envelope and parameters for lists computed in memory (the catalog, the
    caller's tools, event types): the cursor is an opaque position in the list."""

    page_size = 100
    max_page_size = 200

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any]:
        items = list(queryset)
        size = page_size(request, default=self.page_size, maximum=self.max_page_size)
        start = self._position(request)
        self.next_position = start + size if start + size < len(items) else None
        return items[start : start + size]

    @staticmethod
    def _position(request: Request) -> int:
        raw = request.query_params.get("cursor")
        if not raw:
            return 0
        try:
            decoded = base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)).decode()
            position = int(decoded.removeprefix("p="))
        except (ValueError, UnicodeDecodeError):
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]}) from None
        if not decoded.startswith("p=") or position < 0:
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]})
        return position

    def get_paginated_response(self, data: Any) -> Response:
        cursor = None
        if self.next_position is not None:
            cursor = base64.urlsafe_b64encode(f"p={self.next_position}".encode()).decode()
        return Response({"results": data, "next_cursor": cursor})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return envelope_schema(schema)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict]:
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "The next_cursor of the previous page.",
                "schema": {"type": "string"},
            },
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "description": "Number of results to return per page.",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
