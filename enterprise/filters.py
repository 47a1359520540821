"""Filter-set plumbing shared by the resource apps."""

from __future__ import annotations

import operator
from functools import reduce

import django_filters
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Q, QuerySet


class SearchFilterSet(django_filters.FilterSet):
    """Adds ``?search=`` (case-insensitive substring over ``search_fields``, 1-100 characters)."""

    search = django_filters.CharFilter(
        method="filter_search", max_length=100, validators=[ProhibitNullCharactersValidator()]
    )

    search_fields: tuple[str, ...] = ()

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            reduce(operator.or_, (Q(**{f"{f}__icontains": value}) for f in self.search_fields))
        )


class ObjectIdFilter(django_filters.CharFilter):
    """An id filter: a malformed id is a 400 naming the parameter, not a database error."""

    def __init__(self, *args, **kwargs) -> None:
        from django.core.validators import RegexValidator

        from enterprise.fields import OBJECT_ID_PATTERN

        kwargs.setdefault(
            "validators",
            [RegexValidator(rf"^{OBJECT_ID_PATTERN}$", "Must be a 24-character hex ObjectId.")],
        )
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        return super().filter(qs, value.lower() if value else value)
