"""The one base class every resource viewset shares.

A resource viewset is declarative: it names its serializer, filter set,
selectors and services; this class wires them into list / create / retrieve /
update / partial_update / destroy. Reads go through selectors scoped to the
caller's tenant; writes go through services. Nothing here queries across
tenants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.db import models, transaction
from django.http import Http404
from django.utils.http import http_date
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from audit.models import AuditRecord
from audit.recording import Actor, acting_as, record_write, snapshot
from enterprise.api import idempotency
from enterprise.api.exceptions import PreconditionFailed, PreconditionRequired
from enterprise.api.pagination import PAGINATION_PARAMS
from enterprise.api.permissions import request_scope
from enterprise.api.query_params import KnownQueryParamsMixin
from enterprise.api.renderers import FastJSONRenderer
from enterprise.api.serializers import columns_for, reader_for
from enterprise.cache.policy import CachePolicy
from enterprise.errors import PreconditionFailedError
from enterprise.fields import OBJECT_ID_PATTERN
from enterprise.http import if_match_satisfied, strong_etag
from enterprise.tenancy import Scope


class ResourceViewSet(KnownQueryParamsMixin, viewsets.GenericViewSet):
    """CRUD over one tenant-scoped resource.

    Subclasses set:

    * ``list_selector(*, scope) -> QuerySet``: every row the scope may see;
    * ``create_service(*, scope, data) -> Model``;
    * ``update_service(*, scope, instance, data) -> Model``;
    * ``destroy_service(*, scope, instance) -> Model``: archive/end; answered 200 with the result.
    """

    lookup_field = "pk"
    lookup_url_kwarg = "id"
    lookup_value_regex = OBJECT_ID_PATTERN
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    #: The cache resource this viewset serves (its generations invalidate list and detail).
    cache_resource: ClassVar[str]
    #: TTL name for detail responses (see ``enterprise.cache.conf``).
    detail_ttl: ClassVar[str]

    list_selector: ClassVar[Callable[..., models.QuerySet]]
    create_service: ClassVar[Callable[..., models.Model]]
    update_service: ClassVar[Callable[..., models.Model]]
    destroy_service: ClassVar[Callable[..., models.Model]]

    #: ``get_clinics_cached``: the getter of this resource's cached representations. With it,
    #: lists that select and order rows only by membership fields are refreshed row by row
    #: after a write instead of being rebuilt (``CachePolicy.row_objects``).
    cache_objects: ClassVar[Callable[..., dict[str, dict[str, Any]]] | None] = None

    @classmethod
    def cache_policy_for(cls, action: str) -> CachePolicy | None:
        """The response-cache policy of a GET action (list, retrieve, or an ``@cache_response`` action)."""
        if action == "list":
            policy = cls.__dict__.get("_list_policy")
            if policy is None:
                policy = cls._list_policy = cls._build_list_policy()
            return policy
        if action == "retrieve":
            return CachePolicy(
                cls.cache_resource,
                (cls.cache_resource,),
                cls.detail_ttl,
                "content",
                per_object=True,
            )
        return getattr(getattr(cls, action, None), "cache_policy", None)

    @classmethod
    def _build_list_policy(cls) -> CachePolicy:
        """The list's policy; with ``cache_objects``, which parameters keep it membership-keyed.

        Membership fields are the model's ``COUNTED_FIELDS`` (what the counts
        generations follow) and the fields no write changes (``id``,
        ``created_at``): filters on them, orderings by them, pagination and
        ``fields``. ``search`` and ordering by a name read fields a rename changes.
        """
        getter = cls.cache_objects
        if getter is None:
            return CachePolicy(cls.cache_resource, (cls.cache_resource,), "list")
        model = cls.serializer_class.Meta.model
        membership = set(getattr(model, "COUNTED_FIELDS", ())) | {"id", "pk", "created_at"}
        filters = cls.filterset_class.base_filters if cls.filterset_class else {}
        params = {
            name
            for name, declared in filters.items()
            if declared.method is None and declared.field_name in membership
        }
        orderings = {
            "",
            *(
                f"{sign}{name}"
                for name, column in (getattr(cls, "ordering_fields", None) or {}).items()
                if column in membership
                for sign in ("", "-")
            ),
        }
        return CachePolicy(
            cls.cache_resource,
            (cls.cache_resource,),
            "list",
            row_objects=getter,
            membership_params=frozenset(params | PAGINATION_PARAMS),
            membership_orderings=frozenset(orderings),
        )

    @property
    def cache_dependencies(self) -> dict[str, str]:
        """Generations of objects embedded in this response, recorded by the response cache."""
        request = self.request._request
        if not hasattr(request, "cache_dependencies"):
            request.cache_dependencies = {}
        return request.cache_dependencies

    @property
    def scope(self) -> Scope:
        return request_scope(self.request)

    def get_queryset(self) -> models.QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            return type(self).serializer_class.Meta.model.objects.none()
        queryset = type(self).list_selector(scope=self.scope)
        selected = self.selected_fields()
        if selected is not None:
            # Load only the columns the selected fields (and the page ordering) need:
            # values() is what becomes a $project on MongoDB (only() does not).
            serializer = self.get_serializer_class()(only_fields=selected)
            ordering = set(getattr(self, "ordering_fields", {}).values())
            queryset = queryset.values(
                *sorted(columns_for(serializer) | ordering | {"id", "updated_at"})
            )
        return queryset

    def known_query_params(self) -> set[str]:
        """Lists: filters, pagination, ordering, ``fields``; details: ``fields``; a paginated
        extra route (provider-clinics, clinic-staff): pagination; anything else: none."""
        if self.action == "list":
            filterset = self.filterset_class
            return set(PAGINATION_PARAMS) | set(filterset.base_filters if filterset else ())
        if self.action == "retrieve":
            return {"fields"}
        handler = getattr(self, self.action or "", None)
        if getattr(handler, "kwargs", {}).get("pagination_class"):
            return set(PAGINATION_PARAMS) - {"fields"}
        return set()

    def selected_fields(self) -> list[str] | None:
        """``?fields=a,b`` on list and detail reads: those fields plus ``id``; 400 for unknown names."""
        if self.action not in ("list", "retrieve") or "fields" not in self.request.query_params:
            return None
        # Asked by get_queryset, get_serializer and once per represented row: parse once.
        if hasattr(self, "_selected_fields"):
            return self._selected_fields
        names = [n.strip() for n in self.request.query_params["fields"].split(",") if n.strip()]
        allowed = list(reader_for(type(self).serializer_class, ()).fields)
        unknown = [n for n in names if n not in allowed]
        if unknown or not names:
            raise ValidationError(
                {
                    "fields": [
                        f"Unknown field(s): {', '.join(unknown) or '(none given)'}; allowed: {', '.join(allowed)}."
                    ]
                }
            )
        self._selected_fields = ["id", *dict.fromkeys(n for n in names if n != "id")]
        return self._selected_fields

    def get_serializer(self, *args: Any, **kwargs: Any) -> BaseSerializer:
        selected = self.selected_fields()
        if selected is not None:
            kwargs["only_fields"] = selected
        return super().get_serializer(*args, **kwargs)

    def get_object(self) -> models.Model:
        queryset = self.get_queryset()
        try:
            obj = queryset.get(pk=self.kwargs[self.lookup_url_kwarg].lower())
        except queryset.model.DoesNotExist:
            raise Http404 from None
        self.check_object_permissions(self.request, obj)
        return obj

    def represent(self, instance: Any) -> dict[str, Any]:
        """The representation of one object, through a serializer built once per process.

        DRF builds (and deep-copies) a ModelSerializer's fields for every
        instance, about a third of a cache miss's cost here; reading through one
        pre-built serializer does none of that. ``to_representation`` reads the
        instance and mutates nothing, so sharing it across threads is safe; it
        takes no request context (no field of ours needs one).
        """
        return reader_for(
            type(self).serializer_class, tuple(self.selected_fields() or ())
        ).to_representation(instance)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([self.represent(row) for row in page])

    def _respond(self, instance: models.Model, status_code: int = status.HTTP_200_OK) -> Response:
        response = Response(self.represent(instance), status=status_code)
        updated_at = instance["updated_at"] if isinstance(instance, dict) else instance.updated_at
        response["Last-Modified"] = http_date(updated_at.timestamp())
        return response

    def current_etag(self, instance: models.Model) -> str:
        """The strong ETag a GET of this object answers with (hash of its rendered representation)."""
        return strong_etag(FastJSONRenderer().render(self.represent(instance)))

    def expected_version(self, instance: models.Model) -> datetime | None:
        """Check ``If-Match`` against the current ETag; the version a conditional write must find.

        ``None`` when the client sent no ``If-Match`` (allowed unless
        ``REQUIRE_IF_MATCH``): the write is then unconditional, as old clients expect.
        """
        if_match = self.request.headers.get("If-Match", "")
        if not if_match:
            if settings.REQUIRE_IF_MATCH:
                raise PreconditionRequired
            return None
        current = self.current_etag(instance)
        if not if_match_satisfied(if_match, current):
            raise PreconditionFailed(current)
        return instance.updated_at

    def _write(
        self, service: Callable[..., models.Model], instance: models.Model, **kwargs: Any
    ) -> models.Model:
        """Run a write service, conditionally when ``If-Match`` was sent; 412 if the object moved meanwhile."""
        expected = self.expected_version(instance)
        try:
            return service(
                scope=self.scope, instance=instance, expected_updated_at=expected, **kwargs
            )
        except PreconditionFailedError:
            raise PreconditionFailed(self.current_etag(self.get_object())) from None

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One transaction for a write and its audit records, attributed to the caller."""
        actor = Actor(
            name=self.scope.subject,
            source=AuditRecord.Source.API,
            request_id=getattr(self.request._request, "request_id", ""),
        )
        with transaction.atomic(), acting_as(actor):
            yield

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = idempotency.requested_key(request)
        if key is None:
            return self._create(request)
        reservation = idempotency.reserve(
            scope=self.scope, key=key, digest=idempotency.fingerprint(request)
        )
        if isinstance(reservation, Response):  # the earlier request's answer, replayed
            return reservation
        try:
            return self._create(request, reservation)
        except BaseException:
            idempotency.release(reservation)
            raise

    def _create(
        self, request: Request, reservation: idempotency.Reservation | None = None
    ) -> Response:
        serializer: BaseSerializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with self.writing():
            instance = type(self).create_service(scope=self.scope, data=serializer.validated_data)
            record_write(instance=instance, before={}, action=AuditRecord.Action.CREATE)
            response = self._respond(instance, status.HTTP_201_CREATED)
            if reservation is not None:
                idempotency.complete(reservation, response, FastJSONRenderer().render)
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._respond(self.get_object())

    def update(
        self, request: Request, *args: Any, partial: bool = False, **kwargs: Any
    ) -> Response:
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        before = snapshot(instance)
        with self.writing():
            instance = self._write(
                type(self).update_service, instance, data=serializer.validated_data
            )
            record_write(instance=instance, before=before, action=AuditRecord.Action.UPDATE)
        return self._respond(instance)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        before = snapshot(instance)
        with self.writing():
            instance = self._write(type(self).destroy_service, instance)
            record_write(instance=instance, before=before, action=AuditRecord.Action.DELETE)
        return self._respond(instance)
