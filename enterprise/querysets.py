"""QuerySet base classes that know about tenant scopes and cache generations."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Self

from django.db import models
from django.db.models.query import ValuesIterable

from enterprise.db.filters import RememberingQuery
from enterprise.db.plans import PlannedModelIterable, PlannedValuesIterable
from enterprise.fields import now_ms
from enterprise.tenancy import Scope


class TenantManager(models.Manager):
    """Hands out querysets whose model reads run from a compiled plan when their shape has one,
    and whose filters build repeated clauses from what the first resolved (``RememberingQuery``).

    Set once here; every clone copies them (``values()`` and friends replace the iterable
    with their own; ``update()`` and friends chain to Django's query classes).
    """

    def get_queryset(self) -> models.QuerySet:
        queryset = self._queryset_class(
            model=self.model, query=RememberingQuery(self.model), using=self._db, hints=self._hints
        )
        queryset._iterable_class = PlannedModelIterable
        return queryset


class TenantQuerySet(models.QuerySet):
    """Rows owned by one organization through ``tenant_field``.

    Querysets from its manager (``as_manager``, ``TenantManager``) read models
    through ``PlannedModelIterable``: a repeated query shape runs its SQL
    compiled once (``enterprise.db.plans``).

    Bulk writes send no signals, so they bump the cache generations of the
    organizations they touch themselves: ``update()`` and ``delete()`` read
    the affected organization ids first (one extra query on the write path),
    ``bulk_create()`` and ``bulk_update()`` take them from the objects.
    """

    tenant_field: ClassVar[str] = "organization_id"
    cache_resource: ClassVar[str]

    @classmethod
    def as_manager(cls) -> models.Manager:
        manager = TenantManager.from_queryset(cls)()
        manager._built_with_as_manager = True
        return manager

    as_manager.queryset_only = True

    def values(self, *fields: Any, **expressions: Any) -> Self:
        """``values()`` whose dicts come from a compiled plan when its shape has one
        (``PlannedValuesIterable``: plain column names only; anything else keeps the ORM)."""
        clone = super().values(*fields, **expressions)
        if clone._iterable_class is ValuesIterable:
            clone._iterable_class = PlannedValuesIterable
        return clone

    def for_scope(self, scope: Scope) -> Self:
        """Only the rows the scope may see; a no-op for the platform scope."""
        if scope.is_platform:
            return self
        return self.filter(**{self.tenant_field: scope.organization_id})

    def newest_first(self) -> Self:
        return self.order_by("-created_at", "-id")

    def _affected_organizations(self) -> set[str]:
        return set(self.order_by().values_list(self.tenant_field, flat=True).distinct())

    def _bump(
        self,
        organization_ids: Iterable[str],
        object_ids: Iterable[str] | None = None,
        *,
        fields: Iterable[str] | None = None,
    ) -> None:
        """Bump the organizations' generations; without ``object_ids`` the write is a bulk one.

        ``fields`` names what an update wrote, so an update that no aggregate
        reads leaves the counts generations alone; bulk writes always bump them.
        """
        from enterprise.cache.invalidation import bump_resources, changes_counts

        bump_resources(
            organization_ids=organization_ids,
            resources=(self.cache_resource,),
            object_ids=object_ids or (),
            bulk=object_ids is None,
            counts=object_ids is None or changes_counts(self.model, fields),
        )

    def bump_written(self, instance: models.Model, *, fields: Iterable[str] | None = None) -> None:
        """Bump what a write of ``instance`` touches: its organization's generations and its
        ``cache_object_ids``; ``fields`` (what an update wrote, ``None`` for a full save)
        decides whether the counts generations move too."""
        self._bump(
            [getattr(instance, self.tenant_field)],
            object_ids=instance.cache_object_ids(),
            fields=fields,
        )

    def update(self, **kwargs: Any) -> int:
        # Every change moves the version, so ETags and Last-Modified follow bulk writes too.
        kwargs.setdefault("updated_at", now_ms())
        organizations = self._affected_organizations()
        updated = super().update(**kwargs)
        if updated:
            self._bump(organizations)
        return updated

    update.alters_data = True

    def update_version(
        self, instance: models.Model, *, expected_updated_at: Any, **values: Any
    ) -> int:
        """Apply ``values`` to ``instance``'s row only if it still has ``expected_updated_at``.

        One conditional ``UPDATE`` (atomic on every backend); bumps the cache
        generations of the instance's organization when it applied.
        """
        updated = models.QuerySet.update(
            self.filter(pk=instance.pk, updated_at=expected_updated_at), **values
        )
        if updated:
            self.bump_written(instance, fields=values)
        return updated

    def delete(self) -> tuple[int, dict[str, int]]:
        organizations = self._affected_organizations()
        result = super().delete()
        if result[0]:
            self._bump(organizations)
        return result

    delete.alters_data = True
    delete.queryset_only = True

    def bulk_create(
        self, objs: Iterable[models.Model], *args: Any, **kwargs: Any
    ) -> list[models.Model]:
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            self._bump(getattr(obj, self.tenant_field) for obj in created)
        return created

    def bulk_update(
        self, objs: Iterable[models.Model], fields: Any, *args: Any, **kwargs: Any
    ) -> int:
        objs = list(objs)
        updated = super().bulk_update(objs, fields, *args, **kwargs)
        if updated:
            self._bump(getattr(obj, self.tenant_field) for obj in objs)
        return updated
