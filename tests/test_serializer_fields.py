"""Serializer fields copied from a per-class prototype are the fields DRF builds, and private to their instance."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from assignments.serializers import AssignmentSerializer
from clinics.serializers import ClinicSerializer
from enterprise.api.serializers import CamelModelSerializer, camel_case
from organizations.serializers import OrganizationSerializer
from providers.serializers import ProviderSerializer

SERIALIZERS = [OrganizationSerializer, ClinicSerializer, ProviderSerializer, AssignmentSerializer]


def _describe(field: serializers.Field) -> dict:
    """What a field validates and renders with (not its identity)."""
    described = {
        "class": type(field),
        "source": field.source,
        "required": field.required,
        "read_only": field.read_only,
        "write_only": field.write_only,
        "allow_null": field.allow_null,
        "default": field.default,
        "validators": [(type(v), getattr(v, "limit_value", None)) for v in field.validators],
        "error_messages": field.error_messages,
    }
    for name in ("max_length", "min_length", "allow_blank", "choices", "max_value", "min_value"):
        if hasattr(field, name):
            described[name] = getattr(field, name)
    if isinstance(field, serializers.Serializer):
        described["fields"] = {key: _describe(child) for key, child in field.fields.items()}
    return described


def _drf_fields(serializer_class: type[CamelModelSerializer]) -> dict[str, dict]:
    """The fields as DRF's own ModelSerializer.get_fields builds them, renamed as ours are."""
    instance = serializer_class()
    built = serializers.ModelSerializer.get_fields(instance)
    described = {}
    for name, field in built.items():
        if camel_case(name) != name and field.source is None:
            field.source = name
        field.bind(camel_case(name), instance)
        described[camel_case(name)] = _describe(field)
    return described


@pytest.mark.parametrize("serializer_class", SERIALIZERS)
def test_fields_are_the_ones_drf_builds(serializer_class):
    for _ in range(2):  # the first instance builds the prototype, the second copies it
        fields = serializer_class().fields
        assert {name: _describe(field) for name, field in fields.items()} == _drf_fields(
            serializer_class
        )


@pytest.mark.parametrize("serializer_class", SERIALIZERS)
def test_each_instance_has_its_own_bound_fields(serializer_class):
    first, second = serializer_class(), serializer_class()
    for name, field in first.fields.items():
        other = second.fields[name]
        assert field is not other
        assert field.parent is first and other.parent is second
        # Containers a caller may change in place are the instance's own too.
        assert field.validators is not other.validators
        assert field.error_messages is not other.error_messages
        if isinstance(field, serializers.Serializer):
            for child, nested in field.fields.items():
                assert nested is not other.fields[child]
                assert nested.root is first and other.fields[child].root is second


def test_changing_one_instances_field_leaves_the_next_instances_alone():
    first = ClinicSerializer()
    name = first.fields["name"]
    name.error_messages["blank"] = "changed"
    name.validators.append(lambda value: None)
    required = name.required
    name.required = not required
    again = ClinicSerializer().fields["name"]
    assert again.error_messages["blank"] != "changed"
    assert len(again.validators) == len(name.validators) - 1
    assert again.required is required


def test_validation_uses_the_instance_it_was_given(db):
    from tests.factories import ClinicFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    good = ClinicSerializer(
        clinic, data={"name": "North", "address": {"city": "Lyon"}}, partial=True
    )
    bad = ClinicSerializer(other, data={"name": "", "address": {"country": "France"}}, partial=True)
    assert good.is_valid(), good.errors
    assert not bad.is_valid()
    assert good.validated_data == {"name": "North", "address_city": "Lyon"}
    assert set(bad.errors) == {"name", "address"}
    assert set(bad.errors["address"]) == {"country"}
    assert good.instance is clinic and bad.instance is other
