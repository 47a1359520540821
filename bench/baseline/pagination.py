"""Offset pagination with an exact count, as DRF's tutorial configures it."""

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response


class CountedPagination(LimitOffsetPagination):
    """Offset pages with an exact COUNT(*) on every request, as DRF's tutorial sets up."""

    default_limit = 20
    max_limit = 100

    def get_paginated_response(self, data):
        return Response(
            {
                "results": data,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "count": self.count,
            }
        )
