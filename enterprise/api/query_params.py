"""Unknown query parameters are a 400 naming them.

A mistyped filter (``?organisationId=``, ``?is_active=``) would otherwise be
ignored and the answer would be everything the caller may see, which looks
like a filtered result. Each endpoint knows exactly the parameters its
schema documents: its filters, pagination, ordering and field selection, or
the few a monitoring view reads.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class KnownQueryParamsMixin:
    """For DRF views: ``known_query_params()`` lists what the endpoint reads; the rest is a 400
    (after authentication and permissions, so an anonymous caller still gets its 401)."""

    #: The parameters a plain view reads (viewsets derive theirs from filters and pagination).
    query_params: ClassVar[tuple[str, ...]] = ()

    def known_query_params(self) -> set[str]:
        return set(self.query_params)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        known = self.known_query_params()
        if settings.DEBUG:
            known.add("format")  # the browsable API's own links
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            reads = ", ".join(sorted(known)) or "no query parameters"
            raise ValidationError(
                {
                    name: [f"Unknown query parameter; this endpoint reads: {reads}."]
                    for name in unknown
                }
            )
