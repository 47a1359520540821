"""List pagination: keyset cursors by default, bounded offsets for old clients, count modes.

Every list answers ``{"results": [...], "next": url|null, "previous": url|null}``
plus ``count`` / ``countIsEstimate`` when a count was asked for.

* **Cursor (default).** Keyset pagination on the ordering field with ``id`` as
  the tie-breaker, so the position is unique even when many rows share a
  millisecond: the next page is ``WHERE (f, id) < (v, id_v)`` on an index, and
  page 500 costs what page 1 costs. ``?ordering=`` picks another allowed field
  (``-`` for descending); cursors are opaque base64; a forged one is a 400.
* **Offset (old clients).** ``?offset=N`` or ``?page=N`` switches to offset
  pages, refused with a 400 past ``MAX_OFFSET`` rows (default 10,000) telling
  the client to use the cursor, since the database must skip every row before.
* **Counts.** ``?count=exact|estimated|none``; default ``none`` for cursor
  pages and ``exact`` for offset pages. ``estimated`` uses the backend's cheap
  count when the list is unfiltered platform-wide (PostgreSQL ``reltuples``,
  MongoDB ``estimated_document_count``) and an exact count capped at
  ``COUNT_CAP`` otherwise. Counts are cached per generation.
* ``limit`` is 1-100 (default 20); larger is clamped, a non-number is a 400.

Settings: ``PAGINATION = {"MAX_OFFSET": 10000, "COUNT_CAP": 10000}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from django.conf import settings
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from enterprise.cursors import encode_cursor as _encode_cursor

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
PAGINATION_PARAMS = frozenset({"cursor", "limit", "offset", "page", "ordering", "count", "fields"})
_LIMIT_ERROR = "A whole number from 1 to 100 is required."


_DIGITS = re.compile(r"[0-9]{1,15}")


def pagination_settings() -> dict[str, int]:
    return {"MAX_OFFSET": 10_000, "COUNT_CAP": 10_000, **getattr(settings, "PAGINATION", {})}


def parse_limit(request: Request, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    raw = request.query_params.get("limit")
    if raw is None:  # sent but empty is not absent: a 400 like any other non-number
        return default
    if not _DIGITS.fullmatch(raw):  # int() would take " 5", "1_0" and non-ASCII digits
        raise exceptions.ValidationError({"limit": [_LIMIT_ERROR]})
    value = int(raw)
    if value < 1:
        raise exceptions.ValidationError({"limit": [_LIMIT_ERROR]})
    return min(value, maximum)


def _non_negative(request: Request, name: str, minimum: int = 0) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    value = int(raw) if _DIGITS.fullmatch(raw) else minimum - 1
    if value < minimum:
        raise exceptions.ValidationError(
            {name: [f"A whole number of at least {minimum} is required."]}
        )
    return value


@dataclass(frozen=True, slots=True)
class Ordering:
    param: str  # as the client names it, e.g. "createdAt"
    field: str  # model field, e.g. "created_at"
    descending: bool

    def order_by(self, *, reverse: bool = False) -> list[str]:
        descending = self.descending != reverse
        sign = "-" if descending else ""
        return [f"{sign}{self.field}", f"{sign}id"]


def _value(obj: Any, field: str) -> Any:
    return obj[field] if isinstance(obj, dict) else getattr(obj, field)


def _decode_cursor(token: str, ordering: Ordering, model: Any) -> tuple[list[Any], bool]:
    invalid = exceptions.ValidationError(
        {"cursor": ["Invalid cursor: follow the next/previous links."]}
    )
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        value, object_id = payload["v"]
        reverse = bool(payload.get("r", False))
    except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError):
        raise invalid from None
    field = model._meta.get_field(ordering.field)
    if field.get_internal_type() in ("DateTimeField",) or isinstance(
        getattr(field, "auto_now", None), bool
    ):
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise invalid
        value = parsed
    elif not isinstance(value, (str, int, float, bool)):
        raise invalid
    from enterprise.fields import is_object_id

    if not is_object_id(object_id):
        raise invalid
    return [value, object_id], reverse


def _after(ordering: Ordering, values: list[Any], *, reverse: bool) -> Q:
    """Rows strictly after ``values`` in the (possibly reversed) ordering: the keyset condition.

    ``f <= v AND (f < v OR (f = v AND id < id_v))`` (mirrored for ascending): the
    redundant first bound is what lets PostgreSQL and MongoDB start an index range
    scan at the cursor instead of filtering every row before it, so a deep page
    costs what the first one costs.
    """
    value, object_id = values
    descending = ordering.descending != reverse
    op = "lt" if descending else "gt"
    bound = Q(**{f"{ordering.field}__{op}e": value})
    return bound & (
        Q(**{f"{ordering.field}__{op}": value})
        | Q(**{ordering.field: value, f"id__{op}": object_id})
    )


class KeysetPagination(BasePagination):
    """The default pagination of every list; see the module docstring."""

    default_ordering = "-createdAt"
    ordering_fields = {"createdAt": "created_at", "updatedAt": "updated_at"}

    def _orderings(self, view: Any) -> dict[str, str]:
        return getattr(view, "ordering_fields", None) or self.ordering_fields

    def _ordering(self, request: Request, view: Any) -> Ordering:
        allowed = self._orderings(view)
        raw = request.query_params.get("ordering") or getattr(
            view, "default_ordering", self.default_ordering
        )
        param = raw.lstrip("-")
        if param not in allowed or raw.count("-") > 1:
            choices = ", ".join(sorted(allowed) + sorted(f"-{p}" for p in allowed))
            raise exceptions.ValidationError(
                {"ordering": [f"Unknown ordering {raw!r}; use one of: {choices}."]}
            )
        return Ordering(param=param, field=allowed[param], descending=raw.startswith("-"))

    def _count_mode(self, request: Request, *, default: str) -> str:
        mode = request.query_params.get("count") or default
        if mode not in ("exact", "estimated", "none"):
            raise exceptions.ValidationError({"count": ["Use exact, estimated or none."]})
        return mode

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list[Any]:
        self.request, self.view = request, view
        self.limit = parse_limit(request)
        self.ordering = self._ordering(request, view)
        offset = _non_negative(request, "offset")
        page = _non_negative(request, "page", minimum=1)
        self.offset_mode = offset is not None or page is not None
        self.count_mode = self._count_mode(request, default="exact" if self.offset_mode else "none")
        self.count: int | None = None
        self.count_is_estimate = False
        if self.count_mode != "none":
            self.count, self.count_is_estimate = self._count(queryset, request, view)
        if self.offset_mode:
            return self._offset_page(
                queryset, offset if offset is not None else (page - 1) * self.limit
            )
        return self._keyset_page(queryset, request)

    # --- keyset -----------------------------------------------------------------------------------
    def _keyset_page(self, queryset: QuerySet, request: Request) -> list[Any]:
        token = request.query_params.get("cursor")
        reverse = False
        if token:
            values, reverse = _decode_cursor(token, self.ordering, queryset.model)
            queryset = queryset.filter(_after(self.ordering, values, reverse=reverse))
        rows = list(queryset.order_by(*self.ordering.order_by(reverse=reverse))[: self.limit + 1])
        has_more = len(rows) > self.limit
        rows = rows[: self.limit]
        if reverse:
            rows.reverse()
        self.next_cursor = self.previous_cursor = None
        if rows:
            first = [_value(rows[0], self.ordering.field), _value(rows[0], "id")]
            last = [_value(rows[-1], self.ordering.field), _value(rows[-1], "id")]
            if (has_more and not reverse) or (reverse and token):
                self.next_cursor = _encode_cursor(last, reverse=False)
            if (token and not reverse) or (reverse and has_more):
                self.previous_cursor = _encode_cursor(first, reverse=True)
        elif token and reverse:
            self.next_cursor = _encode_cursor(values, reverse=False)
        return rows

    # --- offset -----------------------------------------------------------------------------------
    def _offset_page(self, queryset: QuerySet, offset: int) -> list[Any]:
        maximum = pagination_settings()["MAX_OFFSET"]
        if offset + self.limit > maximum:
            raise exceptions.ValidationError(
                {
                    "offset": [
                        f"Offset pages stop at {maximum} rows; follow the cursor links (omit offset/page) to go deeper."
                    ]
                }
            )
        rows = list(queryset.order_by(*self.ordering.order_by())[offset : offset + self.limit + 1])
        has_more = len(rows) > self.limit
        self.offset = offset
        self.next_offset = (
            offset + self.limit if has_more and offset + 2 * self.limit <= maximum else None
        )
        self.previous_offset = max(0, offset - self.limit) if offset > 0 else None
        return rows[: self.limit]

    # --- counts -----------------------------------------------------------------------------------
    def _count(self, queryset: QuerySet, request: Request, view: Any) -> tuple[int, bool]:
        from enterprise.cache.conf import ttl
        from enterprise.cache.objects import cached_representations

        filters = sorted(
            (k, v) for k, v in request.query_params.lists() if k not in PAGINATION_PARAMS
        )
        material = f"{request.path}|{self.count_mode}|{urlencode(filters, doseq=True)}"
        digest = hashlib.blake2b(material.encode(), digest_size=12).hexdigest()
        scope = view.scope
        resource = view.cache_resource

        def load(ids: list[str]) -> dict[str, dict[str, Any]]:
            count, estimate = self._compute_count(
                queryset, unfiltered=not filters and scope.is_platform
            )
            return {ids[0]: {"n": count, "e": estimate}}

        # A count is a function of which rows the filters select: creates, deletes and
        # writes of counted fields change it (the counts generation), and with a filter
        # or route on other fields (a search by name) any write can.
        from enterprise.cache.gate import membership_keyed

        policy = view.cache_policy_for(view.action) if view.action == "list" else None
        found = cached_representations(
            scope=scope,
            resource=resource,
            ids=[f"count-{digest}"],
            load=load,
            ttl_seconds=ttl("list"),
            depends_on=(resource,),
            counts_only=policy is not None
            and membership_keyed(policy, request.META.get("QUERY_STRING", "")),
        )
        entry = found[f"count-{digest}"]
        return entry["n"], entry["e"]

    def _compute_count(self, queryset: QuerySet, *, unfiltered: bool) -> tuple[int, bool]:
        if self.count_mode == "exact":
            return queryset.order_by().count(), False
        cap = pagination_settings()["COUNT_CAP"]
        connection = connections[queryset.db]
        if unfiltered and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] >= 0:
                return int(row[0]), True
        if unfiltered and connection.vendor == "mongodb":
            return connection.get_collection(
                queryset.model._meta.db_table
            ).estimated_document_count(), True
        capped = queryset.order_by()[: cap + 1].count()
        return min(capped, cap), capped > cap

    # --- response ---------------------------------------------------------------------------------
    def _link(self, **params: Any) -> str:
        query = self.request.query_params.copy()
        for name in ("cursor", "offset", "page"):
            query.pop(name, None)
        for name, value in params.items():
            query[name] = str(value)
        return self.request.build_absolute_uri(f"{self.request.path}?{query.urlencode()}")

    def get_paginated_response(self, data: list[Any]) -> Response:
        if self.offset_mode:
            next_url = self._link(offset=self.next_offset) if self.next_offset is not None else None
            previous_url = (
                self._link(offset=self.previous_offset)
                if self.previous_offset is not None
                else None
            )
        else:
            next_url = self._link(cursor=self.next_cursor) if self.next_cursor else None
            previous_url = self._link(cursor=self.previous_cursor) if self.previous_cursor else None
        body: dict[str, Any] = {"results": data, "next": next_url, "previous": previous_url}
        if self.count is not None:
            body["count"] = self.count
            body["countIsEstimate"] = self.count_is_estimate
        return Response(body)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next", "previous"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "count": {
                    "type": "integer",
                    "description": "present when ?count=exact|estimated (default on offset pages)",
                },
                "countIsEstimate": {"type": "boolean"},
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        orderings = sorted(self._orderings(view))
        params = [
            ("cursor", "string", "Opaque position from a next/previous link."),
            ("limit", "integer", "Page size, 1-100 (default 20; larger is clamped)."),
            ("offset", "integer", "Offset pages for old clients (max depth 10,000 rows)."),
            ("page", "integer", "1-based page number for old clients (offset pages)."),
            (
                "ordering",
                "string",
                f"One of {', '.join(orderings)}, '-' for descending; ties broken by id.",
            ),
            ("count", "string", "exact | estimated | none."),
        ]
        return [
            {
                "name": name,
                "required": False,
                "in": "query",
                "description": text,
                "schema": {"type": kind},
            }
            for name, kind, text in params
        ]


class AssignedAtPagination(KeysetPagination):
    """Pages over ``(-assigned_at, -id)``, the order of the (provider|clinic, is_active, assigned_at) indexes."""

    default_ordering = "-assignedAt"
    ordering_fields = {"assignedAt": "assigned_at"}

    def _orderings(self, view: Any) -> dict[str, str]:
        return self.ordering_fields

    def _ordering(self, request: Request, view: Any) -> Ordering:
        return super()._ordering(request, None)
