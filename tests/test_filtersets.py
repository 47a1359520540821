"""Filter sets build their form class once; every request still validates on its own."""

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
    assert bad.form.fields["status"] is not good.form.fields["status"]
