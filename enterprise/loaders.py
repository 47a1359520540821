"""A request-scoped batch loader for related objects (the seed's DataLoader).

``prefetch_related()`` raises on MongoDB and ``select_related()`` compiles to
``$lookup`` before ``$match`` there, so related rows are fetched the portable
way: collect the ids a page needs, load them with one ``pk__in`` query,
remember them for the rest of the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


class RelatedLoader(Generic[M]):
    """Loads rows of one model by id, one query per batch of unseen ids."""

    def __init__(self, queryset: models.QuerySet[M]) -> None:
        self._queryset = queryset
        self._cache: dict[str, M | None] = {}

    def load_many(self, ids: Iterable[str]) -> dict[str, M]:
        wanted = list(dict.fromkeys(ids))
        missing = [pk for pk in wanted if pk not in self._cache]
        if missing:
            found = {obj.pk: obj for obj in self._queryset.filter(pk__in=missing).order_by()}
            for pk in missing:
                self._cache[pk] = found.get(pk)
        return {pk: obj for pk in wanted if (obj := self._cache[pk]) is not None}
