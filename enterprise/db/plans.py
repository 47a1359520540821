"""Compiled-SQL reuse for the reads the API repeats with new values (SQL backends only).

Django compiles a query's SQL afresh every time it runs. For the reads a cache
miss makes (a page of one provider's assignments, one clinic by id) that
compile, plus the iterator around it, costs more than executing the SQL: on
the provider-clinics page query, ``list(queryset)`` took ~1.4-1.9 ms where
executing the same SQL already compiled and building the models took
~0.4-0.6 ms. A *plan* is the compiled SQL of one query shape with the places
of its values marked, so the next query of that shape binds its own values
and runs without compiling.

When a query may use a plan
    Only a query this module fully understands: one table (no joins left),
    no annotations, ``extra``, ``select_related``, ``distinct``,
    locking or combinators, ordering by field names, and a WHERE tree of
    AND/OR/NOT nodes whose leaves compare a column with a plain value
    (strings, datetimes and dates are values; ``True``/``False``/``None`` are
    part of the shape, since SQL may inline them), or a column ``IN`` a list of
    distinct values (whose length is part of the shape). It loads models, or
    (``values()`` of plain column names, ``PlannedValuesIterable``) dicts of
    those columns. Any other state in the query means no plan and the ORM runs
    as always.

The shape
    Everything in that state except the values: model, database, selected
    columns, ordering, limits, the table aliases, and the tree with each leaf's lookup class,
    column and value type. Two queries of one shape compile to the same SQL
    up to their values; the probing below checks exactly that.

Learning a shape (its second sighting; one-off shapes never pay for it)
    Its SQL is compiled with the real values and with two sets of probe
    values. A parameter that is the leaf's value in all three compiles is a
    slot for that value; one that is identical in all three is a constant.
    If the SQL text differs, or a parameter is neither (``icontains`` wraps
    the value in ``%...%``; SQLite turns datetimes into strings), the shape
    is recorded as not plannable and keeps the ORM. The values bound are the
    lookups' already-prepared values (field validation and normalisation
    such as lower-casing ids have run when the ORM built the query), exactly
    what the compiler would pass on.

Running a plan
    Through the connection's cursor, so every execute wrapper (perfmon's
    round-trip counts and slow-query log, the database guard) sees it as
    before; rows go through the backend's and fields' converters and
    ``Model.from_db``, as ``ModelIterable`` does (or into dicts keyed by the
    selected names, as ``ValuesIterable`` does).

Plans live per process, at most ``MAX_SHAPES`` shapes (the table starts
over when full). ``QUERY_PLANS=0`` turns them off. MongoDB keeps the ORM
path: its compiler builds MQL, not SQL text with parameters.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import Model
from django.db.models.expressions import Col
from django.db.models.lookups import In, Lookup
from django.db.models.query import ModelIterable, ValuesIterable
from django.db.models.sql.datastructures import BaseTable
from django.db.models.sql.query import Query
from django.db.models.sql.where import WhereNode

#: Backends whose SQL is planned; MongoDB compiles to MQL and keeps the ORM path.
SQL_VENDORS = frozenset({"postgresql", "sqlite"})
#: Shapes remembered per process (plans and "not plannable" verdicts alike).
MAX_SHAPES = 512

#: Leaf values bound into slots. Not ints: Django compiles an out-of-range integer
#: comparison to "no rows" instead of a parameter, so their SQL depends on the value.
_BOUND_TYPES = frozenset({str, datetime, date})
#: Leaf values that are part of the shape (SQL may inline them: ``IS NULL``, ``NOT "flag"``).
_SHAPE_TYPES = frozenset({bool, type(None)})

#: Query state that either cannot change the SQL or is part of the shape.
_FREE_STATE = frozenset(
    {
        "model",
        "base_table",  # cached: the first alias
        "alias_refcount",
        "alias_map",
        "table_map",
        "used_aliases",
        "where",
        "filter_is_sticky",
        "_lookup_joins",
        "order_by",
        "low_mark",
        "high_mark",
        "default_ordering",
        "standard_ordering",
    }
)
#: Query state a planned query may carry only with these (default) values.
_DEFAULT_STATE: dict[str, Any] = {
    "alias_cols": True,
    "external_aliases": {},
    "annotations": {},
    "extra": {},
    "_filtered_relations": {},
    "_annotation_select_cache": None,
    "annotation_select_mask": None,
    "extra_select_mask": None,
    "_extra_select_cache": None,
    "extra_order_by": (),
    "extra_tables": (),
    "select": (),
    "values_select": (),
    "selected": None,
    "default_cols": True,
    "select_related": False,
    "distinct": False,
    "distinct_fields": (),
    "group_by": None,
    "combinator": None,
    "combined_queries": (),
    "select_for_update": False,
    "deferred_loading": (frozenset(), True),
    "subquery": False,
    "explain_info": None,
}
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Plan:
    """One shape's compiled SQL: ``params`` as learned, with ``slots`` (position, value index) rebound per query."""

    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, int], ...]
    #: (position, converter functions, column) of each selected column that has converters,
    #: the backend's and then its field's, as the compiler would apply them (found at learning)
    converters: tuple[tuple[int, tuple[Any, ...], Col], ...]
    attnames: tuple[str, ...]  # the model's attributes, or the values() names

    def bind(self, values: list[Any]) -> list[Any]:
        params = list(self.params)
        for position, index in self.slots:
            params[position] = values[index]
        return params

    def rows(self, db: str, values: list[Any]) -> Iterator[list[Any] | tuple[Any, ...]]:
        """The query's rows, each value through the backend's and its field's converters."""
        connection = connections[db]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.bind(values))
            rows = cursor.fetchall()
        converters = self.converters
        for row in rows:
            if converters:
                row = list(row)
                for position, functions, column in converters:
                    value = row[position]
                    for convert in functions:
                        value = convert(value, column, connection)
                    row[position] = value
            yield row

    def run(self, model: type[Model], db: str, values: list[Any]) -> Iterator[Model]:
        attnames, width = self.attnames, len(self.attnames)
        for row in self.rows(db, values):
            yield model.from_db(db, attnames, row[:width])

    def run_values(self, db: str, values: list[Any]) -> Iterator[dict[str, Any]]:
        names = self.attnames
        for row in self.rows(db, values):
            yield dict(zip(names, row, strict=True))


class _Plans:
    """The per-process table: shape -> ``Plan`` or ``None`` (not plannable); shapes seen once."""

    def __init__(self) -> None:
        self.plans: dict[tuple[Any, ...], Plan | None] = {}
        self.seen: set[tuple[Any, ...]] = set()
        self.counts = {"planned": 0, "learned": 0, "unplannable": 0, "orm": 0}

    def clear(self) -> None:
        self.plans.clear()
        self.seen.clear()
        for name in self.counts:
            self.counts[name] = 0

    def lookup(self, key: tuple[Any, ...], query: Query, db: str, values: list[Any]) -> Plan | None:
        plan = self.plans.get(key, _MISSING)
        if plan is not _MISSING:
            return plan  # type: ignore[return-value]
        if key not in self.seen:
            if len(self.seen) >= MAX_SHAPES:
                self.seen.clear()
            self.seen.add(key)
            return None
        try:
            plan = learn(query, db, values)
        except Exception:
            plan = None  # a shape the compiler cannot probe keeps the ORM (which raises its own errors)
        if len(self.plans) >= MAX_SHAPES:
            self.plans.clear()
        self.plans[key] = plan
        self.counts["learned" if plan is not None else "unplannable"] += 1
        return plan


PLANS = _Plans()


def plan_stats() -> dict[str, int]:
    """Counts since start (or the last ``PLANS.clear()``): queries run from a plan or the ORM, shapes learned."""
    return {**PLANS.counts, "shapes": len(PLANS.plans)}


# --- shapes -------------------------------------------------------------------------------------
#: The state ``values(*names)`` of plain column names sets (checked by ``_plain_values``).
_VALUES_STATE = frozenset(
    {
        "select",
        "values_select",
        "selected",
        "default_cols",
        "extra_select_mask",
        "annotation_select_mask",
    }
)


def _plain_values(query: Query) -> bool:
    """``values()`` of plain column names: ``select`` holds exactly their columns, in order."""
    names = query.values_select
    return (
        type(names) is tuple
        and bool(names)
        and query.default_cols is False
        and not query.extra_select_mask  # values() masks to none of the (absent) extras
        and not query.annotation_select_mask
        and query.selected == {name: index for index, name in enumerate(names)}
        and type(query.select) is tuple
        and len(query.select) == len(names)
        and all(
            type(column) is Col and column.target.attname == name
            for column, name in zip(query.select, names, strict=True)
        )
    )


def _plain_query(query: Query) -> bool:
    values = bool(query.values_select)
    if values and not _plain_values(query):
        return False
    for name, value in vars(query).items():
        if name in _FREE_STATE or (values and name in _VALUES_STATE):
            continue
        expected = _DEFAULT_STATE.get(name, _MISSING)
        if expected is _MISSING or type(value) is not type(expected) or value != expected:
            return False
    return all(type(field) is str for field in query.order_by)


def _aliases(query: Query) -> tuple[tuple[str, bool], ...] | None:
    """The aliases and whether each is used; ``None`` unless only the model's own table is."""
    table = query.model._meta.db_table
    used = []
    for alias, refcount in query.alias_refcount.items():
        if refcount:
            entry = query.alias_map.get(alias)
            if type(entry) is not BaseTable or entry.table_name != table or alias != table:
                return None
        used.append((alias, bool(refcount)))
    return tuple(used)


def _where_shape(node: Any, values: list[Any]) -> tuple[Any, ...] | None:
    if type(node) is not WhereNode:
        return None
    parts: list[Any] = [node.connector, node.negated]
    for child in node.children:
        if type(child) is WhereNode:
            inner = _where_shape(child, values)
            if inner is None:
                return None
            parts.append(inner)
            continue
        if not isinstance(child, Lookup) or child.bilateral_transforms:
            return None
        column, rhs = child.lhs, child.rhs
        if type(column) is not Col:
            return None
        kind = type(rhs)
        if kind in _SHAPE_TYPES:
            detail: Any = rhs
        elif kind in _BOUND_TYPES:
            detail = kind is datetime and rhs.tzinfo is None
            values.append(rhs)
        elif kind is list and isinstance(child, In):
            detail = _in_list_shape(rhs)
            if detail is None:
                return None
            values.extend(rhs)
        else:
            return None
        parts.append((type(child), column.alias, column.target, column.output_field, kind, detail))
    return tuple(parts)


def _in_list_shape(rhs: list[Any]) -> tuple[int, type] | None:
    """``IN`` lists of distinct values of one bound type: their length and type are the shape.

    Distinct, because the compiler drops repeated values (and ``None``) from the
    list, which changes the SQL; such a list keeps the ORM.
    """
    kinds = {type(value) for value in rhs}
    if len(kinds) != 1 or not kinds <= _BOUND_TYPES or len(set(rhs)) != len(rhs):
        return None
    kind = kinds.pop()
    if kind is datetime and len({value.tzinfo is None for value in rhs}) != 1:
        return None
    return len(rhs), kind


def shape_of(query: Query, db: str, values: list[Any]) -> tuple[Any, ...] | None:
    """The query's shape, appending its bound values to ``values``; ``None`` if it cannot have a plan."""
    if not _plain_query(query):
        return None
    aliases = _aliases(query)
    if aliases is None:
        return None
    where = _where_shape(query.where, values)
    if where is None:
        return None
    return (
        query.model,
        db,
        aliases,
        query.values_select,
        query.order_by,
        query.default_ordering,
        query.standard_ordering,
        query.low_mark,
        query.high_mark,
        where,
    )


# --- learning -----------------------------------------------------------------------------------
def _probe(value: Any, round_: int, index: int) -> Any:
    """A value of ``value``'s type that no real row or other probe has."""
    if type(value) is str:
        return f"\x00plan-probe-{round_}-{index}\x00"
    if type(value) is datetime:
        return datetime(1901, 2, 3, 4, 5, 6, round_ * 1000 + index + 1, tzinfo=value.tzinfo)
    return date(1901 + index, 1 + round_, 1)


def _probed(node: WhereNode, probes: Iterator[Any]) -> WhereNode:
    """A copy of the tree with every bound value replaced by the next probe (the tree is not changed)."""
    clone = WhereNode(connector=node.connector, negated=node.negated)
    for child in node.children:
        if type(child) is WhereNode:
            child = _probed(child, probes)
        elif type(child.rhs) in _BOUND_TYPES:
            child = copy.copy(child)
            child.rhs = next(probes)
        elif type(child.rhs) is list:  # an IN list (see _in_list_shape)
            child = copy.copy(child)
            child.rhs = [next(probes) for _ in child.rhs]
        clone.children.append(child)
    return clone


def _compile(query: Query, db: str) -> tuple[str, tuple[Any, ...], Any] | None:
    compiler = query.get_compiler(using=db)
    try:
        sql, params = compiler.as_sql()
    except (EmptyResultSet, FullResultSet):
        return None
    return sql, tuple(params), compiler


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def learn(query: Query, db: str, values: list[Any]) -> Plan | None:
    """The plan of ``query``'s shape, or ``None`` when its SQL is not its values' plain substitution."""
    real = _compile(query, db)
    if real is None:
        return None
    sql, params, compiler = real
    info = compiler.klass_info
    names = query.values_select
    if names:  # dicts of these columns: exactly they are selected, in this order
        positions = {name: index for index, name in enumerate(names)}
        if (
            (
                info is not None
                and (
                    info["model"] is not query.model
                    or info.get("related_klass_infos")
                    or list(info["select_fields"]) != list(range(len(names)))
                )
            )
            or compiler.annotation_col_map not in ({}, positions)
            or compiler.col_count != len(names)
            # the compiler selects exactly the columns _plain_values checked, in their order
            or [column for column, _sql, _alias in compiler.select] != list(query.select)
        ):
            return None
    elif (
        info is None
        or info["model"] is not query.model
        or info.get("related_klass_infos")
        or compiler.annotation_col_map
        or list(info["select_fields"]) != list(range(len(compiler.select)))
        or compiler.col_count != len(compiler.select)
    ):
        return None
    probes = []
    for round_ in (1, 2):
        probe_values = [_probe(value, round_, i) for i, value in enumerate(values)]
        probe_query = query.clone()
        probe_query.where = _probed(query.where, iter(probe_values))
        compiled = _compile(probe_query, db)
        if compiled is None or compiled[0] != sql or len(compiled[1]) != len(params):
            return None
        probes.append((probe_values, compiled[1]))
    slots = []
    for position, param in enumerate(params):
        if all(_same(param, other[position]) for _, other in probes):
            continue  # a constant
        index = _slot(position, values, param, probes)
        if index is None:
            return None
        slots.append((position, index))
    columns = tuple(column for column, _sql, _alias in compiler.select)
    return Plan(
        sql=sql,
        params=params,
        slots=tuple(slots),
        converters=_converters(columns, connections[db]),
        attnames=names or tuple(column.target.attname for column in columns),
    )


def _converters(columns: tuple[Col, ...], connection: Any) -> tuple[Any, ...]:
    """What ``SQLCompiler.get_converters`` finds for these columns (they depend on the column and backend only)."""
    found = []
    for position, column in enumerate(columns):
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            found.append((position, tuple(functions), column))
    return tuple(found)


def _slot(
    position: int, values: list[Any], param: Any, probes: list[tuple[list[Any], tuple[Any, ...]]]
) -> int | None:
    """The one value whose probes show up verbatim at ``position`` in every compile, if any."""
    for index, value in enumerate(values):
        if _same(param, value) and all(
            _same(compiled[position], probe_values[index]) for probe_values, compiled in probes
        ):
            return index
    return None


# --- the iterable -------------------------------------------------------------------------------
def _plan_for(iterable: ModelIterable | ValuesIterable) -> tuple[Plan, list[Any]] | None:
    """The plan the iterable's query runs from, with its values; ``None``: the ORM runs it."""
    queryset = iterable.queryset
    db = queryset.db
    if (
        iterable.chunked_fetch
        or queryset._known_related_objects
        or not settings.QUERY_PLANS
        or connections[db].vendor not in SQL_VENDORS
    ):
        return None
    values: list[Any] = []
    key = shape_of(queryset.query, db, values)
    plan = PLANS.lookup(key, queryset.query, db, values) if key is not None else None
    if plan is None:
        PLANS.counts["orm"] += 1
        return None
    PLANS.counts["planned"] += 1
    return plan, values


class PlannedModelIterable(ModelIterable):
    """``ModelIterable`` that runs a query from its shape's plan when it has one (see the module docstring)."""

    def __iter__(self) -> Iterator[Model]:
        planned = _plan_for(self)
        if planned is None:
            yield from super().__iter__()
            return
        plan, values = planned
        yield from plan.run(self.queryset.model, self.queryset.db, values)


class PlannedValuesIterable(ValuesIterable):
    """``ValuesIterable`` (``values(*names)``) run from its shape's plan when it has one."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        planned = _plan_for(self)
        if planned is None:
            yield from super().__iter__()
            return
        plan, values = planned
        yield from plan.run_values(self.queryset.db, values)
