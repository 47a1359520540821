"""Filter sets build their form class once and copy nothing deeply; every request still validates
on its own."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from assignments.filters import AssignmentFilterSet
from clinics.filters import ClinicFilterSet
from clinics.models import Clinic


@pytest.mark.parametrize("filterset_class", [ClinicFilterSet, AssignmentFilterSet])
def test_the_form_class_is_built_once_per_filter_set(filterset_class):
    model = filterset_class._meta.model
    first = filterset_class(QueryDict(""), model.objects.none()).get_form_class()
    second = filterset_class(QueryDict(""), model.objects.none()).get_form_class()
    assert first is second
    assert set(first.base_fields) == set(filterset_class.base_filters)


def test_requests_sharing_the_form_class_validate_independently(db):
    bad = ClinicFilterSet(QueryDict("status=nope"), Clinic.objects.all())
    good = ClinicFilterSet(QueryDict("status=active"), Clinic.objects.all())
    assert type(bad.form) is type(good.form)
    assert not bad.is_valid() and "status" in bad.errors
    assert good.is_valid() and good.form.cleaned_data["status"] == "active"
    assert not bad.is_valid()  # the good request's form did not touch the bad one's
    assert bad.form.fields is not good.form.fields


def _field_state(field):
    return {
        name: repr(value) for name, value in vars(field).items() if not name.startswith("_cached")
    } | {"widget": repr(vars(field.widget))}


@pytest.mark.parametrize(
    "filterset_class, query",
    [
        (ClinicFilterSet, "status=nope&organizationId=xyz&search=" + "x" * 101),
        (ClinicFilterSet, "status=active&organizationId=6b0ac80d5fc57d2d8494c306&search=a"),
        (AssignmentFilterSet, "clinicId=&isActive=maybe&role=nope"),
        (AssignmentFilterSet, "clinicId=6b0ac80d5fc57d2d8494c306&isActive=true"),
    ],
)
def test_validating_leaves_the_shared_form_fields_as_they_were(db, filterset_class, query):
    """Forms share their fields (no per-request deep copy), so validating must not alter one."""
    model = filterset_class._meta.model
    form_class = filterset_class(QueryDict(""), model.objects.none()).get_form_class()
    before = {name: _field_state(field) for name, field in form_class.base_fields.items()}
    filterset = filterset_class(QueryDict(query), model.objects.all())
    filterset.is_valid()
    filterset.errors  # noqa: B018 - renders the error messages
    assert all(filterset.form.fields[name] is form_class.base_fields[name] for name in before)
    assert {name: _field_state(field) for name, field in form_class.base_fields.items()} == before


def test_each_filter_set_gets_its_own_filters_with_methods_bound_to_it(db):
    """Filters are copied shallowly per request; a ``method`` filter calls this filter set's method."""
    first = ClinicFilterSet(QueryDict("search=alpha"), Clinic.objects.all())
    second = ClinicFilterSet(QueryDict("search=beta"), Clinic.objects.all())
    for filterset in (first, second):
        for name, filter_ in filterset.filters.items():
            assert filter_ is not ClinicFilterSet.base_filters[name]
            assert filter_.parent is filterset and filter_.model is Clinic
        assert filterset.filters["search"].filter.f is filterset.filters["search"]
    assert "alpha" in str(first.qs.query) and "beta" not in str(first.qs.query)
    assert "beta" in str(second.qs.query) and "alpha" not in str(second.qs.query)
    assert not hasattr(ClinicFilterSet.base_filters["search"], "parent")
