"""``CompiledReader`` renders exactly what DRF's ``Serializer.to_representation`` renders."""

from __future__ import annotations

import json

import pytest

from assignments.serializers import AssignmentSerializer
from clinics.serializers import ClinicSerializer
from enterprise.api.serializers import reader_for
from organizations.serializers import OrganizationSerializer
from providers.serializers import ProviderSerializer
from tests.factories import AssignmentFactory

SERIALIZERS = [OrganizationSerializer, ClinicSerializer, ProviderSerializer, AssignmentSerializer]


@pytest.fixture
def rows(db):
    assignment = AssignmentFactory()
    assignment.clinic.phone, assignment.clinic.address_line2 = "", ""
    assignment.clinic.save()
    assignment.is_active, assignment.ended_at = False, assignment.assigned_at  # a set timestamp
    assignment.save()
    AssignmentFactory()  # ended_at None: rendered as null, not through the timestamp field
    return None


@pytest.mark.parametrize("serializer_class", SERIALIZERS)
def test_model_instances_and_values_rows_render_as_drf_renders_them(rows, serializer_class):
    reader = reader_for(serializer_class)
    model = serializer_class.Meta.model
    assert any(column for _, column, _ in reader.steps), "nothing was compiled"
    instances = list(model.objects.all())
    assert len(instances) >= 2
    for instance in instances:
        assert reader.to_representation(instance) == reader.serializer.to_representation(instance)
    for row in model.objects.values():
        assert reader.to_representation(row) == reader.serializer.to_representation(row)


@pytest.mark.parametrize("serializer_class", SERIALIZERS)
def test_a_field_selection_renders_only_the_selected_fields(rows, serializer_class):
    names = tuple(list(reader_for(serializer_class).fields)[:3])
    reader = reader_for(serializer_class, names)
    for instance in serializer_class.Meta.model.objects.all():
        rendered = reader.to_representation(instance)
        assert list(rendered) == list(names)
        assert rendered == reader.serializer.to_representation(instance)


def test_a_row_missing_a_column_falls_back_to_drf(rows):
    reader = reader_for(ClinicSerializer)
    row = ClinicSerializer.Meta.model.objects.values().first()
    del row["name"]
    with pytest.raises(KeyError):  # DRF's own answer for a required field it cannot read
        reader.serializer.to_representation(row)
    with pytest.raises(KeyError):
        reader.to_representation(row)


@pytest.mark.parametrize(
    ("getter", "resource", "objects"),
    [
        ("clinics.cache.get_clinics_cached", "clinics", "clinics"),
        ("providers.cache.get_providers_cached", "providers", "providers"),
    ],
)
def test_the_object_cache_loads_what_the_detail_route_answers(
    api, tenant_a, tenant_b, getter, resource, objects
):
    """An embedded object (loaded, then cached) is the detail route's body, key for key in the
    same order; another tenant's objects are absent."""
    from django.utils.module_loading import import_string as load

    from enterprise.tenancy import Role, Scope

    get_cached = load(getter)
    scope = Scope(role=Role.MEMBER, organization_id=tenant_a.id, subject="t")
    mine = [obj.pk for obj in getattr(tenant_a, objects)]
    theirs = getattr(tenant_b, objects)[0].pk
    for _ in range(2):  # loaded from the database, then from the object cache
        loaded = get_cached(scope=scope, ids=[*mine, theirs])
        assert set(loaded) == set(mine)
        client = api("member", tenant_a.id)
        for object_id in mine:
            detail = client.get(f"/api/v1/{resource}/{object_id}")
            assert detail.status_code == 200
            assert list(loaded[object_id].items()) == list(json.loads(detail.content).items())
