"""Serializer plumbing: camelCase on the wire, snake_case in Python, ms timestamps."""

from __future__ import annotations

import copy
import functools
import re
import unicodedata
from typing import Any

from django.db import models
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from enterprise.fields import OBJECT_ID_PATTERN, MillisecondDateTimeField, ObjectIdField


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


#: Bidirectional embedding, override and isolate controls: they make text read
#: differently from how it is stored ("Trojan Source"); no name needs them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class StrictCharField(serializers.CharField):
    """A single-line text field: strings only (no coercion), NFC-normalised.

    Refuses control characters (C0, C1, DEL; NUL included), lone surrogates,
    bidi override controls, and values made only of invisible characters
    (zero-width spaces and the like).
    """

    default_error_messages = {
        "invalid": "Must be a string.",
        "control": "Must not contain control characters.",
        "invisible": "Must contain a visible character.",
    }

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        for char in data:
            category = unicodedata.category(char)
            if category in ("Cc", "Cs") or char in _BIDI_CONTROLS:
                self.fail("control")
        value = super().to_internal_value(unicodedata.normalize("NFC", data))
        if value and all(unicodedata.category(c) in ("Cf", "Zs", "Mn") for c in value):
            self.fail("invisible")
        return value


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only: ``"yes"``, ``1`` or ``"on"`` are a 400, not a guess."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictEmailField(StrictCharField, serializers.EmailField):
    pass


class StrictSlugField(StrictCharField, serializers.SlugField):
    pass


class StrictRegexField(StrictCharField, serializers.RegexField):
    pass


class TimestampField(serializers.DateTimeField):
    """ISO 8601 in UTC with millisecond precision and a ``Z``: what every backend stores."""

    #: Accepted years: wide enough for any real record, narrow enough that every backend
    #: and every client's date library handles the value (year 254 does not survive all).
    YEARS = (1900, 2999)

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        low, high = self.YEARS
        if not low <= parsed.year <= high:
            raise serializers.ValidationError(f"Use a date between the years {low} and {high}.")
        return parsed

    def to_representation(self, value: Any) -> str | None:
        if value is None:
            return None
        return (
            f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}."
            f"{value.microsecond // 1000:03d}Z"
        )


class ObjectIdSerializerField(StrictCharField, serializers.RegexField):
    """A 24-hex identifier in a request body (lowercased)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {"invalid": "Must be a 24-character hex ObjectId."})
        super().__init__(rf"^{OBJECT_ID_PATTERN}$", max_length=24, min_length=24, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(data).lower()


#: ``ModelSerializer.get_fields()`` of each CamelModelSerializer class, never bound: see ``get_fields``.
_FIELD_PROTOTYPES: dict[type[serializers.ModelSerializer], dict[str, serializers.Field]] = {}


def _copy_field(field: serializers.Field) -> serializers.Field:
    """A private copy of a prototype field, for one serializer instance to bind.

    DRF copies a field by constructing a new one from the original arguments
    (``Field.__deepcopy__``), about 8 us a field. A prototype field is never
    bound, so a copy of its attributes is the same field, and binding sets the
    copy's own ``field_name``, ``parent``, ``source`` and ``label``. The
    validators list and the error messages are copied (DRF's constructor
    makes new ones too); the validators themselves are shared, as DRF's copy
    shares them. A field holding other fields (a nested serializer, a list's
    ``child``, a relation's ``child_relation``), whose construction binds
    them to itself, is copied DRF's way.
    """
    state = field.__dict__
    if (
        isinstance(field, serializers.BaseSerializer)
        or "child" in state
        or "child_relation" in state
    ):
        return copy.deepcopy(field)
    clone = object.__new__(type(field))
    clone.__dict__.update(state)
    if "_validators" in state:
        clone._validators = list(state["_validators"])
    if "error_messages" in state:
        clone.error_messages = dict(state["error_messages"])
    return clone


class CamelModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose field names are the camelCase of the model's.

    ``Meta.fields`` lists snake_case names; each becomes its camelCase twin with
    ``source`` pointing back. Uniqueness validators are off: the database's
    unique indexes decide, and services turn a violation into a 409.
    """

    def __init__(self, *args: Any, only_fields: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if only_fields is not None:
            for name in set(self.fields) - set(only_fields):
                self.fields.pop(name)

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        MillisecondDateTimeField: TimestampField,
        models.DateTimeField: TimestampField,
        ObjectIdField: StrictCharField,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
        models.SlugField: StrictSlugField,
        models.BooleanField: StrictBooleanField,
    }

    def get_fields(self) -> dict[str, serializers.Field]:
        """DRF's fields for this class, copied from a per-class prototype, camelCased.

        DRF builds a ModelSerializer's fields for every instance: it deep-copies
        the declared ones and builds the others from the model's fields
        (``build_field``, ``get_field_kwargs``: model introspection that comes
        out the same every time, since what it reads is the class's ``Meta`` and
        model). A write validates through a fresh instance (its fields are bound
        to it and its data), so each write paid that build: 0.19 ms per clinic
        PATCH (timeit), 2.9 % of a worker's CPU under the benchmark's mix
        (py-spy). The build now runs once per class; each instance gets its own
        copy of each field (``_copy_field``): a clinic serializer's fields take
        40 us instead of 155 with DRF's deep copy, and a clinic PATCH's
        ``is_valid()`` 89 us instead of 205 (timeit). The camelCase renaming
        sets ``source`` on the copy, so a prototype is never changed.
        """
        prototype = _FIELD_PROTOTYPES.get(type(self))
        if prototype is None:
            prototype = _FIELD_PROTOTYPES.setdefault(type(self), super().get_fields())
        renamed: dict[str, serializers.Field] = {}
        for name, original in prototype.items():
            field = _copy_field(original)
            camel = camel_case(name)
            if camel != name and field.source is None:
                field.source = name
            renamed[camel] = field
        return renamed

    def get_unique_together_validators(self) -> list[Any]:
        return []

    def build_standard_field(
        self, field_name: str, model_field: models.Field
    ) -> tuple[Any, dict[str, Any]]:
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if "validators" in kwargs:
            kwargs["validators"] = [
                v for v in kwargs["validators"] if not isinstance(v, UniqueValidator)
            ]
        return field_class, kwargs


_SNAKE_RE = re.compile(r"(?<!^)(?=[A-Z])")


def snake_case(name: str) -> str:
    return _SNAKE_RE.sub("_", name).lower()


class AddressSerializer(serializers.Serializer):
    """The nested ``address`` object, stored as flat ``address_*`` columns."""

    line1 = StrictCharField(
        source="address_line1", max_length=200, allow_blank=True, required=False
    )
    line2 = StrictCharField(
        source="address_line2", max_length=200, allow_blank=True, required=False
    )
    city = StrictCharField(source="address_city", max_length=100, allow_blank=True, required=False)
    state = StrictCharField(
        source="address_state", max_length=100, allow_blank=True, required=False
    )
    postalCode = StrictCharField(
        source="address_postal_code", max_length=20, allow_blank=True, required=False
    )
    country = StrictRegexField(
        r"^([A-Z]{2})?$",
        source="address_country",
        max_length=2,
        allow_blank=True,
        required=False,
        error_messages={"invalid": "Use an ISO 3166-1 alpha-2 code such as US."},
    )


def columns_for(serializer: serializers.Serializer) -> set[str]:
    """The model columns a serializer's fields read (``source="*"`` nests expand to theirs)."""
    columns: set[str] = set()
    for field in serializer.fields.values():
        if field.source == "*" and isinstance(field, serializers.Serializer):
            columns |= columns_for(field)
        elif field.source and field.source != "*":
            columns.add(field.source.split(".")[0])
    return columns


class CompiledReader:
    """``Serializer.to_representation`` for one pre-built serializer, compiled to a list of steps.

    DRF's loop asks every field, for every row, to find its attribute
    (``get_attribute`` walks ``source_attrs`` under a try, checks for callables
    and mappings), then renders it. For a field that reads one concrete column of
    the serializer's model, the column is known once: the step reads it straight
    from the row (a model instance, or a ``values()`` dict) and renders it, with
    DRF's rule that ``None`` stays ``None``. A nested ``source="*"`` serializer of
    such fields (the address) is compiled the same way. Every other field keeps
    DRF's own path, and a row missing a column falls back to the serializer
    itself, so the output is DRF's, byte for byte (pinned by a test).
    """

    def __init__(self, serializer: serializers.Serializer, columns: frozenset[str]) -> None:
        self.serializer = serializer
        self.steps: list[tuple[str, str | None, Any]] = []
        for field in serializer._readable_fields:
            attrs = field.source_attrs
            if (
                isinstance(field, serializers.Serializer)
                and field.source == "*"
                and type(field).to_representation is serializers.Serializer.to_representation
            ):
                self.steps.append((field.field_name, None, CompiledReader(field, columns)))
            elif (
                len(attrs) == 1
                and attrs[0] in columns
                and not isinstance(field, (serializers.BaseSerializer, serializers.RelatedField))
                and type(field).get_attribute is serializers.Field.get_attribute
            ):
                render = field.to_representation
                if type(field).to_representation is serializers.CharField.to_representation:
                    render = str  # what CharField.to_representation is, minus a frame
                self.steps.append((field.field_name, attrs[0], render))
            else:
                self.steps.append((field.field_name, None, field))

    @property
    def fields(self) -> Any:
        return self.serializer.fields

    def to_representation(self, instance: Any) -> dict[str, Any]:
        try:
            return self._represent(instance)
        except (KeyError, AttributeError):  # a column the row lacks: DRF's rules decide
            return self.serializer.to_representation(instance)

    def _represent(self, instance: Any) -> dict[str, Any]:
        read = instance.__getitem__ if isinstance(instance, dict) else instance.__getattribute__
        out: dict[str, Any] = {}
        for name, column, render in self.steps:
            if column is not None:
                value = read(column)
                out[name] = None if value is None else render(value)
            elif isinstance(render, CompiledReader):
                out[name] = render._represent(instance)
            else:
                out[name] = _drf_field_representation(render, instance)
                if out[name] is _SKIP:
                    del out[name]
        return out


_SKIP = object()


def _drf_field_representation(field: serializers.Field, instance: Any) -> Any:
    """One field exactly as ``Serializer.to_representation`` renders it (``_SKIP`` when skipped)."""
    try:
        attribute = field.get_attribute(instance)
    except serializers.SkipField:
        return _SKIP
    check_for_none = attribute.pk if isinstance(attribute, serializers.PKOnlyObject) else attribute
    return None if check_for_none is None else field.to_representation(attribute)


def _model_columns(serializer: serializers.Serializer) -> frozenset[str]:
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    if model is None:
        return frozenset()
    return frozenset(
        name
        for field in model._meta.concrete_fields
        for name in {field.name, field.attname}
        if not field.is_relation or name == field.attname
    )


@functools.lru_cache(maxsize=256)
def reader_for(
    serializer_class: type[serializers.Serializer], only_fields: tuple[str, ...] = ()
) -> CompiledReader:
    """One compiled reader per (class, field selection), for reads through ``to_representation``.

    DRF builds and deep-copies a ModelSerializer's fields for every instance;
    reading through one shared, pre-built instance does that once per process,
    and ``CompiledReader`` skips the per-row attribute lookup machinery. Safe
    across threads: reading mutates nothing, and no field of ours needs request
    context.
    """
    serializer = serializer_class(only_fields=list(only_fields) or None)
    serializer.fields  # noqa: B018 - build and bind the fields now, once
    return CompiledReader(serializer, _model_columns(serializer))
