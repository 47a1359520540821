"""Filter clauses built from what an earlier identical filter resolved (all backends).

``queryset.filter(provider_id=x)`` makes Django's ``Query.build_filter`` resolve
the name ``provider_id`` afresh every time: split the lookup, walk the model's
fields, set up and trim joins, find the column and the lookup class. For a
column of the model's own table all of that depends only on the model, the
name and the kind of value, never on the value itself. In ``bench.replay``'s
profile of the benchmark mix, ``filter()`` was about 12% of the CPU, most of it
that resolution (the reads' SQL is compiled once already: ``enterprise.db.plans``).

``RememberingQuery`` (the query of every tenant queryset, ``TenantManager``)
remembers, per (model, name, value type), the column and lookup class the
ORM resolved, and builds the next such clause as the ORM's last step does:
``lookup_class(column, value)``, referencing the table's alias as the ORM does
(a foreign key's column skips the join to the related table the ORM sets up
and trims again: an alias with no references, never in the SQL). The lookup's own preparation (field
validation such as the ObjectId check, normalisation) runs for every value
as before.

Learning: the first time a name is seen, the ORM builds the clause and, on a
copy of the query as it was before, the remembered way does too; only if both
give an equal clause and leave the query's aliases, reference counts and
reusable joins equal is the name remembered. Anything else (joins, annotations,
transforms, ``Q`` objects, expressions, negation, ``None`` or other values)
always takes the ORM, as does every query when ``FILTER_MEMORY=0``.
At most ``MAX_NAMES`` entries per process (the table starts over when full).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db.models.expressions import Col
from django.db.models.sql.query import Query
from django.db.models.sql.where import AND, WhereNode

MAX_NAMES = 1024
#: Value types whose clause is the lookup class applied to the value, nothing else.
_PLAIN_VALUES = frozenset({str, int, bool, datetime, date})
_SEQUENCES = frozenset({list, tuple})

_remembered: dict[tuple[Any, ...], tuple[type, Col] | None] = {}
counts = {"remembered": 0, "orm": 0}


def clear() -> None:
    _remembered.clear()
    for name in counts:
        counts[name] = 0


class RememberingQuery(Query):
    def build_filter(
        self,
        filter_expr: Any,
        branch_negated: bool = False,
        current_negated: bool = False,
        can_reuse: set[str] | None = None,
        allow_joins: bool = True,
        split_subq: bool = True,
        check_filterable: bool = True,
        summarize: bool = False,
        update_join_types: bool = True,
    ) -> tuple[WhereNode, Any]:
        key = self._filter_key(
            filter_expr,
            plain_call=not (branch_negated or current_negated or summarize)
            and allow_joins
            and split_subq
            and check_filterable
            and update_join_types,
        )
        if key is None:
            counts["orm"] += 1
            return super().build_filter(
                filter_expr,
                branch_negated=branch_negated,
                current_negated=current_negated,
                can_reuse=can_reuse,
                allow_joins=allow_joins,
                split_subq=split_subq,
                check_filterable=check_filterable,
                summarize=summarize,
                update_join_types=update_join_types,
            )
        entry = _remembered.get(key, _UNSEEN)
        if entry is _UNSEEN:
            return self._learn(key, filter_expr, can_reuse)
        if entry is None:
            counts["orm"] += 1
            return super().build_filter(filter_expr, can_reuse=can_reuse)
        counts["remembered"] += 1
        return self._remembered_clause(entry, filter_expr[1], can_reuse)

    def _filter_key(self, filter_expr: Any, *, plain_call: bool) -> tuple[Any, ...] | None:
        if (
            not plain_call
            or type(filter_expr) is not tuple
            or len(filter_expr) != 2
            or self.annotations
            or self._filtered_relations
            or not settings.FILTER_MEMORY
        ):
            return None
        name, value = filter_expr
        kind = type(value)
        if type(name) is not str:
            return None
        if kind in _SEQUENCES:  # ``__in``: the ORM builds a new list or tuple of the values
            if not all(type(item) in _PLAIN_VALUES for item in value):
                return None
        elif kind not in _PLAIN_VALUES:
            return None
        return (self.model, name, kind, tuple(self.alias_map))

    def _remembered_clause(
        self, entry: tuple[type, Col], value: Any, can_reuse: set[str] | None
    ) -> tuple[WhereNode, set[str]]:
        """What ``build_filter`` returns and changes for a column of the model's own table."""
        lookup_class, column = entry
        if type(value) in _SEQUENCES:
            value = type(value)(value)
        condition = lookup_class(column, value)  # prepares (and validates) the value
        alias = self.get_initial_alias()
        self._lookup_joins = [alias]
        if can_reuse is not None:
            can_reuse.add(alias)
        return WhereNode([condition], connector=AND), {alias}

    def _learn(
        self, key: tuple[Any, ...], filter_expr: Any, can_reuse: set[str] | None
    ) -> tuple[WhereNode, Any]:
        before = self.clone()
        before_reuse = None if can_reuse is None else set(can_reuse)
        clause, used = super().build_filter(filter_expr, can_reuse=can_reuse)
        counts["orm"] += 1
        entry = None
        condition = clause.children[0] if len(clause.children) == 1 else None
        if (
            condition is not None
            and type(clause) is WhereNode
            and clause.connector == AND
            and not clause.negated
            and type(condition.lhs) is Col
            and condition.rhs is not None
        ):
            candidate = (type(condition), condition.lhs)
            try:
                again, again_used = before._remembered_clause(
                    candidate, filter_expr[1], before_reuse
                )
            except Exception:  # any difference keeps the ORM for this name
                again = again_used = None
            if (
                again == clause
                # the joins the clause used (for join promotion), less a trimmed one
                and again_used == {alias for alias in used if self.alias_refcount.get(alias)}
                and before_reuse == can_reuse
                and _same_live_aliases(before, self)
            ):
                entry = candidate
        if len(_remembered) >= MAX_NAMES:
            _remembered.clear()
        _remembered[key] = entry
        return clause, used


def _same_live_aliases(remembered: Query, orm: Query) -> bool:
    """The same aliases in use, the same reference counts; the ORM may have left trimmed ones.

    Filtering on a foreign key's column (``organization_id``) makes Django set up
    the join to the related table and trim it again, leaving it in the alias map
    with no references: the SQL never names it, as it never names any alias
    with no references.
    """
    extra = orm.alias_map.keys() - remembered.alias_map.keys()
    return (
        remembered.alias_map.keys() <= orm.alias_map.keys()
        and all(orm.alias_refcount[alias] == 0 for alias in extra)
        and all(orm.alias_map[alias] == join for alias, join in remembered.alias_map.items())
        and all(
            orm.alias_refcount[alias] == count for alias, count in remembered.alias_refcount.items()
        )
    )


_UNSEEN = object()
