"""``RememberingQuery`` (``enterprise.db.filters``) builds exactly the clauses Django builds.

Every comparison builds the same filters on a tenant queryset (remembering)
and on a plain Django ``QuerySet`` of the model, and compares the WHERE
trees, the SQL and the rows on the lane's real database.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q, QuerySet
from django.test import override_settings
from django.utils import timezone

from assignments.models import ProviderClinicAssignment
from clinics.models import Clinic
from enterprise.db import filters
from enterprise.db.filters import RememberingQuery
from enterprise.tenancy import Role, Scope
from tests.factories import AssignmentFactory, ClinicFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_memory():
    filters.clear()
    yield
    filters.clear()


@pytest.fixture
def clinics():
    made = []
    for _ in range(2):
        org = OrganizationFactory()
        made += [ClinicFactory(organization=org) for _ in range(3)]
    made[1].status = "inactive"
    made[1].save()
    return made


def plain(model) -> QuerySet:
    return QuerySet(model=model)


def live_aliases(query) -> dict[str, int]:
    return {alias: count for alias, count in query.alias_refcount.items() if count}


def same_as_django(build) -> list:
    """Build the filters three times on a tenant queryset (learn, then remembered twice) and
    compare each with Django's own query: WHERE tree, SQL and rows."""
    results = []
    for _ in range(3):
        remembering, django = build(Clinic.objects.all()), build(plain(Clinic))
        assert type(remembering.query) is RememberingQuery
        assert remembering.query.where == django.query.where
        assert str(remembering.query) == str(django.query)
        # The same tables in use (Django also keeps the join a foreign key's column set up
        # and trimmed, unreferenced; the remembered clause never sets it up).
        assert live_aliases(remembering.query) == live_aliases(django.query)
        assert remembering.count() == django.count()
        rows = sorted(clinic.pk for clinic in remembering)
        assert rows == sorted(clinic.pk for clinic in django)
        results.append(rows)
    return results[-1]


def test_column_filters_are_remembered_and_build_what_django_builds(clinics):
    org, other = clinics[0].organization_id, clinics[3].organization_id
    since = timezone.now() - timedelta(days=1)
    cases = [
        lambda qs: qs.filter(organization_id=org),
        lambda qs: qs.filter(organization=org, status="active"),
        lambda qs: qs.filter(pk=clinics[4].pk.upper()),
        lambda qs: qs.filter(pk__in=[clinics[0].pk, clinics[5].pk]),
        lambda qs: qs.filter(pk__in=(clinics[2].pk,)),
        lambda qs: qs.filter(created_at__gte=since, organization_id=other).order_by("-id"),
        lambda qs: qs.filter(name__icontains=clinics[2].name[2:6]),
        lambda qs: qs.filter(organization_id=org).filter(code=clinics[1].code),
        # Each side of an OR is a plain clause too; Django combines them as before.
        lambda qs: qs.filter(Q(status="inactive") | Q(code=clinics[4].code)),
        # A join after a remembered foreign-key column: the same SQL, the same rows.
        lambda qs: qs.filter(organization_id=org).filter(
            organization__name=clinics[0].organization.name
        ),
        lambda qs: qs.filter(organization_id=other).order_by("organization__slug", "code"),
    ]
    answers = [same_as_django(case) for case in cases]
    assert answers[0] == sorted(c.pk for c in clinics[:3])
    assert answers[1] == sorted([clinics[0].pk, clinics[2].pk])
    assert answers[2] == [clinics[4].pk]
    assert answers[7] == [clinics[1].pk]
    assert answers[8] == sorted([clinics[1].pk, clinics[4].pk])
    assert answers[9] == answers[0] and answers[10] == sorted(c.pk for c in clinics[3:])
    assert filters.counts["remembered"] > 0


def test_a_remembered_name_binds_each_new_value(clinics):
    for clinic in clinics:
        (found,) = Clinic.objects.filter(pk=clinic.pk)
        assert found.pk == clinic.pk
    assert filters.counts["remembered"] == len(clinics) - 1


def test_malformed_values_raise_as_django_raises(clinics):
    Clinic.objects.filter(pk=clinics[0].pk)  # learned
    for _ in range(2):
        with pytest.raises(ValidationError):
            Clinic.objects.filter(pk="not-an-object-id")
        with pytest.raises(ValidationError):
            plain(Clinic).filter(pk="not-an-object-id")


def test_joins_expressions_negation_none_and_annotations_keep_the_orm(clinics):
    name = clinics[0].organization.name
    cases = [
        lambda qs: qs.filter(organization__name=name),
        lambda qs: qs.exclude(status="inactive"),
        lambda qs: qs.filter(code=F("code")),
        lambda qs: qs.filter(phone=None),
        # isnull=True may need an outer join, so Django reports no joins used: not remembered.
        lambda qs: qs.filter(phone__isnull=True),
        lambda qs: qs.annotate(n=Count("id")).filter(n=1),
    ]
    for case in cases:
        same_as_django(case)
    assert filters.counts["remembered"] == 0
    # The joined name and isnull were tried once, found not to be plain, and are never retried.
    assert list(filters._remembered.values()) == [None, None]


def test_filters_on_assignment_querysets_follow_the_tenant(clinics):
    assignment = AssignmentFactory(clinic=clinics[0])
    other = AssignmentFactory(clinic=clinics[3])
    for assigned, stranger_of in ((assignment, other), (other, assignment)):
        scope = Scope(role=Role.MEMBER, organization_id=assigned.organization_id, subject="m")
        for _ in range(2):
            rows = list(
                ProviderClinicAssignment.objects.for_scope(scope).filter(
                    provider_id=assigned.provider_id, is_active=True
                )
            )
            assert [row.pk for row in rows] == [assigned.pk]
        stranger = Scope(role=Role.MEMBER, organization_id=stranger_of.organization_id, subject="s")
        assert not ProviderClinicAssignment.objects.for_scope(stranger).filter(pk=assigned.pk)


def test_updates_and_deletes_through_remembered_filters_touch_only_their_rows(clinics):
    Clinic.objects.filter(pk=clinics[5].pk).update(phone="+1 555 0100")  # learned
    assert Clinic.objects.filter(pk=clinics[4].pk).update(phone="+1 555 0199") == 1
    assert list(Clinic.objects.filter(phone="+1 555 0199").values_list("pk", flat=True)) == [
        clinics[4].pk
    ]


def test_the_setting_off_builds_every_filter_through_the_orm(clinics):
    with override_settings(FILTER_MEMORY=False):
        for clinic in clinics:
            assert Clinic.objects.filter(pk=clinic.pk).get().pk == clinic.pk
    assert filters.counts["remembered"] == 0 and filters._remembered == {}


def test_the_table_is_bounded(clinics, monkeypatch):
    monkeypatch.setattr(filters, "MAX_NAMES", 2)
    for name in ("code", "status", "phone", "email", "timezone"):
        list(Clinic.objects.filter(**{name: "x"}))
        assert len(filters._remembered) <= 2
