"""Cursor pagination on ``(created_at, id)``, newest first.

Lists answer ``{"results": [...], "next": url|null, "previous": url|null}``.
``limit`` is 1-100 (default 20); a larger value is clamped, a non-number is a
400 naming the parameter. Cursors are opaque and a forged one is a 404.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def parse_limit(request: Request, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise exceptions.ValidationError(
            {"limit": ["A whole number from 1 to 100 is required."]}
        ) from None
    if value < 1:
        raise exceptions.ValidationError({"limit": ["A whole number from 1 to 100 is required."]})
    return min(value, maximum)


class CreatedCursorPagination(CursorPagination):
    """Keyset pages over ``(-created_at, -id)``: page N costs what page 1 costs."""

    ordering = ("-created_at", "-id")
    page_size = DEFAULT_LIMIT
    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT
    cursor_query_param = "cursor"

    def get_page_size(self, request: Request) -> int:
        return parse_limit(request, default=self.page_size, maximum=self.max_page_size)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next", "previous"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
            },
        }
