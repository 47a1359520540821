"""The list filter backend: django-filter, skipped when the request names no filter."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.request import Request


class ScopedFilterBackend(DjangoFilterBackend):
    """``DjangoFilterBackend`` that does nothing when no query parameter is one of the view's filters.

    Building a FilterSet (a deep copy of its filters and a Django form) costs
    about as much as the page query; most list requests filter only through the
    tenant scope, which the selector already applied. Unknown parameters are
    ignored either way; invalid values of known ones are still a 400.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or not (
            set(request.query_params) & set(filterset_class.base_filters)
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)
