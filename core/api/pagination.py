from urllib.parse import parse_qs, urlsplit

from rest_framework import exceptions, pagination
from rest_framework.response import Response


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination: `{"results": [...], "next_cursor": "…" | null}`; pass `?cursor=`."""

    ordering = "-id"
    page_size_query_param = "limit"
    max_page_size = 200

    def get_page_size(self, request) -> int:
        """`?limit=` from 1 to 200; anything else is a 400, not silently the default."""
        raw = request.query_params.getlist(self.page_size_query_param)
        if not raw:
            return self.page_size
        if len(raw) > 1 or not raw[0].isdigit() or not 1 <= int(raw[0]) <= self.max_page_size:
            raise exceptions.ValidationError(
                {"limit": [f"An integer from 1 to {self.max_page_size}."]}
            )
        return int(raw[0])

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]}) from None

    def next_cursor(self) -> str | None:
        link = self.get_next_link()
        if not link:
            return None
        return parse_qs(urlsplit(link).query).get(self.cursor_query_param, [None])[0]

    def get_paginated_response(self, data) -> Response:
        return Response({"results": data, "next_cursor": self.next_cursor()})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results", "next_cursor"],
            "properties": {
                "results": schema,
                "next_cursor": {"type": "string", "nullable": True},
            },
        }
