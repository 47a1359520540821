"""Compiled-SQL plans (``enterprise.db.plans``) answer exactly what the ORM answers, per tenant.

Every comparison runs the same query through Django's own ``ModelIterable``
and through the planned path, on the lane's real database (SQLite or
PostgreSQL), and compares every loaded attribute.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.query import ModelIterable, ValuesIterable, ValuesListIterable
from django.test import override_settings

from assignments import selectors
from assignments.models import ProviderClinicAssignment
from assignments.serializers import EMBEDDED_ASSIGNMENT_COLUMNS
from clinics.models import Clinic
from enterprise.db import plans
from enterprise.db.plans import PLANS, PlannedModelIterable, PlannedValuesIterable
from enterprise.tenancy import Role, Scope
from perfmon.db import observing
from providers.models import Provider
from tests.conftest import requires_sql
from tests.factories import AssignmentFactory, ClinicFactory, OrganizationFactory, ProviderFactory

pytestmark = [requires_sql, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def fresh_plans():
    PLANS.clear()
    yield
    PLANS.clear()


@pytest.fixture
def tenants():
    """Two organizations, each with two clinics, three providers, all assigned to both clinics, one assignment ended."""
    world = {}
    for name in ("a", "b"):
        org = OrganizationFactory()
        clinics = [ClinicFactory(organization=org) for _ in range(2)]
        providers = [ProviderFactory(organization=org) for _ in range(3)]
        for provider in providers:
            for clinic in clinics:
                assignment = AssignmentFactory(clinic=clinic, provider=provider)
        assignment.is_active = False  # the last one ended: providers[2] at clinics[1]
        assignment.save()
        world[name] = {
            "scope": Scope(role=Role.MEMBER, organization_id=org.pk, subject=f"member-{name}"),
            "org": org,
            "clinics": clinics,
            "providers": providers,
        }
    return world


def loaded(objects: list) -> list:
    return [(type(obj), {k: v for k, v in vars(obj).items() if k != "_state"}) for obj in objects]


def through_orm(queryset: QuerySet) -> list:
    queryset = queryset.all()
    queryset._iterable_class = ModelIterable
    return list(queryset)


def planned_run(make: Callable[[], QuerySet]) -> list:
    """Run the shape until its plan is learned, then once more; that last run must come from the plan."""
    list(make())  # first sighting: the ORM
    list(make())  # second: learned
    before = PLANS.counts["planned"]
    result = list(make())
    assert PLANS.counts["planned"] == before + 1, plans.plan_stats()
    return result


def test_a_plan_learned_on_one_tenant_answers_another_tenant_exactly_as_the_orm(tenants):
    a, b = tenants["a"], tenants["b"]

    def page(scope, provider):
        return selectors.provider_active_assignments(scope=scope, provider_id=provider.pk)[:21]

    learned_on_a = planned_run(lambda: page(a["scope"], a["providers"][0]))
    assert loaded(learned_on_a) == loaded(through_orm(page(a["scope"], a["providers"][0])))

    before = PLANS.counts["planned"]
    on_b = list(page(b["scope"], b["providers"][1]))
    assert PLANS.counts["planned"] == before + 1
    assert loaded(on_b) == loaded(through_orm(page(b["scope"], b["providers"][1])))
    assert len(on_b) == 2 and {row.organization_id for row in on_b} == {b["org"].pk}

    # Another tenant's provider through a's scope: nothing, as through the ORM.
    assert (
        list(page(a["scope"], b["providers"][1]))
        == []
        == through_orm(page(a["scope"], b["providers"][1]))
    )
    assert PLANS.counts["learned"] == 1


def test_detail_reads_are_planned_and_stay_inside_the_tenant(tenants):
    a, b = tenants["a"], tenants["b"]

    def get(scope, pk):
        return Clinic.objects.for_scope(scope).get(pk=pk)

    get(a["scope"], a["clinics"][0].pk)  # first sighting of get()'s shape: the ORM
    assert loaded([get(a["scope"], a["clinics"][1].pk)]) == loaded([a["clinics"][1]])  # learned
    assert loaded([get(b["scope"], b["clinics"][0].pk)]) == loaded([b["clinics"][0]])
    with pytest.raises(Clinic.DoesNotExist):
        get(a["scope"], b["clinics"][0].pk)
    assert PLANS.counts["learned"] == 1 and PLANS.counts["planned"] == 3


def test_the_same_value_in_two_places_then_different_values_bind_to_their_own_places(tenants):
    clinics = tenants["a"]["clinics"] + tenants["b"]["clinics"]
    for clinic in clinics:
        Clinic.objects.filter(pk=clinic.pk).update(
            name=clinic.code
        )  # name == code: one value twice

    def both(name, code):
        return Clinic.objects.filter(name=name, code=code).order_by("id")

    first = clinics[0]
    assert loaded(planned_run(lambda: both(first.code, first.code))) == loaded(
        through_orm(both(first.code, first.code))
    )
    second = clinics[3]
    assert loaded(list(both(second.code, second.code))) == loaded(
        through_orm(both(second.code, second.code))
    )
    assert list(both(first.code, second.code)) == [] == through_orm(both(first.code, second.code))
    assert PLANS.counts["learned"] == 1


def test_in_lists_are_planned_by_length_and_bind_each_value(tenants):
    a, b = tenants["a"], tenants["b"]

    def providers(scope, ids):
        return Provider.objects.for_scope(scope).filter(pk__in=ids).order_by("id")

    mine = [p.pk for p in a["providers"]]
    theirs = [p.pk for p in b["providers"]]
    learned = planned_run(lambda: providers(a["scope"], mine[:2]))
    assert loaded(learned) == loaded(through_orm(providers(a["scope"], mine[:2])))
    for scope, ids in ((b["scope"], theirs[1:]), (a["scope"], [mine[2], theirs[0]])):
        assert loaded(list(providers(scope, ids))) == loaded(through_orm(providers(scope, ids)))
    assert [p.pk for p in providers(a["scope"], [mine[2], theirs[0]])] == [mine[2]]
    assert PLANS.counts["learned"] == 1 and PLANS.counts["planned"] == 5
    list(providers(a["scope"], mine))  # three values: another shape, first seen
    assert PLANS.counts["planned"] == 5


def test_true_false_and_null_are_part_of_the_shape(tenants):
    org = tenants["a"]["org"]

    def active(flag):
        return ProviderClinicAssignment.objects.filter(organization_id=org.pk, is_active=flag)

    def ended(is_null):
        return ProviderClinicAssignment.objects.filter(
            organization_id=org.pk, ended_at__isnull=is_null
        )

    for make in (lambda: active(True), lambda: active(False), lambda: ended(True)):
        assert loaded(planned_run(make)) == loaded(through_orm(make()))
    assert len(list(active(False))) == 1 and len(list(active(True))) == 5
    assert PLANS.counts["learned"] == 3


def test_keyset_cursor_conditions_are_planned_where_the_backend_passes_datetimes_through(tenants):
    provider = tenants["a"]["providers"][0]
    rows = through_orm(
        ProviderClinicAssignment.objects.filter(provider_id=provider.pk).order_by("-assigned_at")
    )

    def after(moment):
        bound = Q(assigned_at__lte=moment) & (
            Q(assigned_at__lt=moment) | Q(assigned_at=moment, id__lt="f" * 24)
        )
        return ProviderClinicAssignment.objects.filter(bound, provider_id=provider.pk).order_by(
            "-assigned_at", "-id"
        )

    for _ in range(3):
        list(after(rows[0].assigned_at))
    later = rows[0].assigned_at - timedelta(microseconds=1000)
    assert loaded(list(after(later))) == loaded(through_orm(after(later)))
    if connection.vendor == "postgresql":
        assert PLANS.counts["learned"] == 1 and PLANS.counts["planned"] == 3
    else:  # SQLite's driver gets datetimes as strings: no verbatim slot, so the ORM keeps them
        assert PLANS.counts["unplannable"] == 1 and PLANS.counts["planned"] == 0


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda org: Clinic.objects.filter(organization_id=org, name__icontains="c"),
            id="icontains",
        ),
        pytest.param(
            lambda org: Clinic.objects.filter(organization_id=org, name__startswith="Cl"),
            id="startswith",
        ),
    ],
)
def test_values_the_sql_rewrites_make_the_shape_unplannable(tenants, make):
    org = tenants["a"]["org"].pk
    for _ in range(3):
        assert loaded(list(make(org))) == loaded(through_orm(make(org)))
    assert PLANS.counts == {**PLANS.counts, "learned": 0, "unplannable": 1, "planned": 0}


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda org: Clinic.objects.filter(organization_id=org).select_related("organization"),
            id="select_related",
        ),
        pytest.param(
            lambda org: Clinic.objects.filter(organization_id=org).only("name"), id="only"
        ),
        pytest.param(
            lambda org: Clinic.objects.filter(organization_id=org).distinct(), id="distinct"
        ),
        pytest.param(
            lambda org: Clinic.objects.filter(organization_id=org).annotate(n=F("code")),
            id="annotate",
        ),
        pytest.param(
            lambda org: Clinic.objects.filter(
                organization__slug__isnull=False, organization_id=org
            ),
            id="join",
        ),
        pytest.param(
            lambda org: Clinic.objects.filter(pk__in=[org, org]), id="in-list-with-repeats"
        ),
        pytest.param(
            lambda org: Clinic.objects.filter(organization_id=org).order_by(F("name").desc()),
            id="expression-ordering",
        ),
        pytest.param(
            lambda org: Clinic.objects.filter(organization_id=org).extra(where=["1 = 1"]),
            id="extra",
        ),
        pytest.param(lambda org: Clinic.objects.filter(name=F("code")), id="column-to-column"),
    ],
)
def test_queries_outside_the_plain_shape_always_take_the_orm(tenants, make):
    org = tenants["a"]["org"].pk
    for _ in range(3):
        assert loaded(list(make(org))) == loaded(through_orm(make(org)))
    assert PLANS.counts["planned"] == 0 and PLANS.counts["learned"] == 0


def test_planned_queries_pass_through_the_execute_wrappers(tenants):
    a = tenants["a"]

    def page():
        return selectors.clinic_active_assignments(scope=a["scope"], clinic_id=a["clinics"][0].pk)[
            :21
        ]

    planned_run(page)
    before = PLANS.counts["planned"]
    with observing() as observation:
        assert len(list(page())) == 3
    assert PLANS.counts["planned"] == before + 1
    assert observation.round_trips == 1


def test_a_shape_that_cannot_be_learned_keeps_the_orm_and_is_not_retried(tenants, monkeypatch):
    org = tenants["a"]["org"].pk
    attempts = []

    def failing(*args):
        attempts.append(args)
        raise RuntimeError("compiler failure while probing")

    monkeypatch.setattr(plans, "learn", failing)
    for _ in range(4):
        assert loaded(list(Clinic.objects.filter(organization_id=org))) == loaded(
            through_orm(Clinic.objects.filter(organization_id=org))
        )
    assert len(attempts) == 1
    assert PLANS.counts["unplannable"] == 1 and PLANS.counts["planned"] == 0


def test_query_plans_setting_off_runs_every_query_through_the_orm(tenants):
    org = tenants["a"]["org"].pk
    with override_settings(QUERY_PLANS=False):
        for _ in range(3):
            list(Clinic.objects.filter(organization_id=org))
    assert PLANS.counts["planned"] == 0 and PLANS.counts["learned"] == 0


def test_the_table_of_shapes_is_bounded(tenants, monkeypatch):
    monkeypatch.setattr(plans, "MAX_SHAPES", 2)
    org = tenants["a"]["org"].pk
    for limit in range(1, 6):
        for _ in range(2):
            list(Clinic.objects.filter(organization_id=org)[:limit])
        assert len(PLANS.plans) <= 2 and len(PLANS.seen) <= 2
    assert PLANS.counts["learned"] == 5


def test_tenant_querysets_use_the_planned_iterables(tenants):
    org = tenants["a"]["org"]
    assert Clinic.objects.filter(organization_id=org.pk)._iterable_class is PlannedModelIterable
    assert org.clinics.order_by("id")._iterable_class is PlannedModelIterable  # related managers
    assert Clinic.objects.values("id")._iterable_class is PlannedValuesIterable
    assert Clinic.objects.values_list("id")._iterable_class is ValuesListIterable


def through_orm_values(queryset: QuerySet) -> list:
    queryset = queryset.all()
    queryset._iterable_class = ValuesIterable
    return list(queryset)


def test_values_pages_are_planned_and_answer_each_tenant_as_the_orm(tenants):
    """The provider-clinics page query: values() of plain columns, learned on one tenant."""
    a, b = tenants["a"], tenants["b"]
    columns = (*EMBEDDED_ASSIGNMENT_COLUMNS, "clinic_id")

    def page(scope, provider, limit=21):
        return selectors.provider_active_assignments(scope=scope, provider_id=provider.pk).values(
            *columns
        )[:limit]

    learned = planned_run(lambda: page(a["scope"], a["providers"][0]))
    assert learned == through_orm_values(page(a["scope"], a["providers"][0]))
    assert [list(row) for row in learned] == [list(columns)] * 2  # the names, in their order
    before = PLANS.counts["planned"]
    on_b = list(page(b["scope"], b["providers"][1]))
    assert PLANS.counts["planned"] == before + 1
    assert on_b == through_orm_values(page(b["scope"], b["providers"][1]))
    assert len(on_b) == 2 and {row["clinic_id"] for row in on_b} <= {c.pk for c in b["clinics"]}
    assert list(page(a["scope"], b["providers"][1])) == []  # another tenant's provider
    # Other columns, or another limit, are other shapes: never answered by this plan.
    assert list(page(a["scope"], a["providers"][0], limit=1)) == through_orm_values(
        page(a["scope"], a["providers"][0], limit=1)
    )
    ids = ProviderClinicAssignment.objects.filter(provider_id=a["providers"][0].pk).values("id")
    assert sorted(r["id"] for r in ids) == sorted(r["id"] for r in through_orm_values(ids))
    assert PLANS.counts["learned"] == 1


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda org: Clinic.objects.filter(organization_id=org).values(), id="all"),
        pytest.param(
            lambda org: Clinic.objects.filter(organization_id=org).values("organization"),
            id="relation-name",
        ),
        pytest.param(
            lambda org: Clinic.objects.filter(organization_id=org).values(upper=F("code")),
            id="expression",
        ),
        pytest.param(
            lambda org: Clinic.objects.filter(organization_id=org).values("organization__slug"),
            id="join",
        ),
    ],
)
def test_values_outside_plain_column_names_take_the_orm(tenants, make):
    org = tenants["a"]["org"].pk
    for _ in range(3):
        assert list(make(org)) == through_orm_values(make(org))
    assert PLANS.counts["planned"] == 0 and PLANS.counts["learned"] == 0


def test_sql_reads_of_ids_skip_the_object_id_converter_and_read_the_stored_strings(tenants):
    """A SQL column holds the lowercased hex ``get_db_prep_value`` wrote; no per-value call on read.

    (The MongoDB lane keeps the converter: ``tests/mongo``.)
    """
    pk, organization = Clinic._meta.pk, Clinic._meta.get_field("organization")
    assert pk.get_db_converters(connection) == []
    assert organization.get_db_converters(connection) == []
    clinic = tenants["a"]["clinics"][0]
    expected = (clinic.pk, tenants["a"]["org"].pk)
    (orm,) = through_orm(Clinic.objects.filter(pk=clinic.pk.upper()))
    (planned,) = planned_run(lambda: Clinic.objects.filter(pk=clinic.pk.upper()))
    for read in (orm, planned):
        assert (read.pk, read.organization_id) == expected
        assert read.pk == read.pk.lower() and type(read.pk) is str
