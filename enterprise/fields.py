"""ObjectId identifiers that are the same 24-hex strings on every backend.

Python code and JSON always see lowercase 24-hex strings. The column type
follows ``connection.vendor``: a native ``ObjectId`` stored in ``_id`` on
MongoDB, ``varchar(24)`` on SQLite and PostgreSQL. Neither the column name nor
the type appears in ``deconstruct()``, so one set of migrations serves all
three databases.

ObjectIds are time-ordered (4-byte seconds prefix), which makes
``(created_at, id)`` a unique, index-friendly sort key.
"""

from __future__ import annotations

import re
from typing import Any

from bson import ObjectId
from django.conf import settings
from django.core import exceptions
from django.db import models

OBJECT_ID_PATTERN = r"[0-9a-fA-F]{24}"
_OBJECT_ID_RE = re.compile(rf"^{OBJECT_ID_PATTERN}$")


def new_object_id() -> str:
    """A fresh ObjectId as the 24-hex string used everywhere in Python."""
    return str(ObjectId())


def is_object_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_OBJECT_ID_RE.match(value))


def _is_mongodb(connection: Any) -> bool:
    return connection.vendor == "mongodb"


def _object_id_converters(field: models.Field, converters: list[Any], connection: Any) -> list[Any]:
    """``from_db_value`` only where the database hands back something else than the hex string.

    MongoDB returns ``ObjectId``s. A SQL column holds exactly the lowercased
    string ``get_db_prep_value`` wrote, so a SQL read skips the per-value call
    (about 100,000 a benchmark replay of 8,000 requests made).
    """
    if _is_mongodb(connection):
        return converters
    return [convert for convert in converters if convert != field.from_db_value]


def _to_hex(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value.lower() if isinstance(value, str) else None
    return str(value)


class ObjectIdField(models.CharField):
    """A 24-hex identifier; the primary key of every project model.

    Raises ``ValidationError`` (code ``invalid``) for anything that is not 24
    hex digits, before the value reaches a query.
    """

    default_error_messages = {"invalid": "“%(value)s” is not a valid ObjectId (24 hex digits)."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["max_length"] = 24
        if kwargs.get("primary_key"):
            kwargs.setdefault("default", new_object_id)
            kwargs.setdefault("editable", False)
            if getattr(settings, "IS_MONGODB", False):
                kwargs["db_column"] = "_id"
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_length", None)
        if kwargs.get("db_column") == "_id":
            del kwargs["db_column"]
        return name, path, args, kwargs

    def db_type(self, connection: Any) -> str:
        # varchar, not char: PostgreSQL's bulk insert casts through the type
        # name without its length (UNNEST(%s::char[])), and bare char is char(1).
        return "objectId" if _is_mongodb(connection) else "varchar(24)"

    def rel_db_type(self, connection: Any) -> str:
        return self.db_type(connection)

    def cast_db_type(self, connection: Any) -> str:
        return self.db_type(connection)

    def to_python(self, value: Any) -> str | None:
        value = _to_hex(value)
        if value is not None and not _OBJECT_ID_RE.match(value):
            raise exceptions.ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": value[:40]}
            )
        return value

    def get_prep_value(self, value: Any) -> str | None:
        return self.to_python(super().get_prep_value(value))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        if value is not None and _is_mongodb(connection):
            return ObjectId(value)
        return value

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        return _to_hex(value)

    def get_db_converters(self, connection: Any) -> list[Any]:
        return _object_id_converters(self, super().get_db_converters(connection), connection)


class ObjectIdForeignKey(models.ForeignKey):
    """A ForeignKey to an ``ObjectIdField`` primary key that reads back as a string.

    Django's ForeignKey has no converter of its own, so on MongoDB the raw
    ``ObjectId`` would leak into Python; this one returns the 24-hex string.
    No database constraint is assumed: integrity rules live in unique indexes
    and services (MongoDB has no foreign keys).
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        return _to_hex(value)

    def get_db_converters(self, connection: Any) -> list[Any]:
        return _object_id_converters(self, super().get_db_converters(connection), connection)


def now_ms():
    """``timezone.now()`` truncated to milliseconds, the precision MongoDB stores.

    Truncating on every backend keeps cursors and ETags identical whichever
    database holds the row.
    """
    from django.utils import timezone

    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class MillisecondDateTimeField(models.DateTimeField):
    """A DateTimeField whose automatic values (``auto_now``/``auto_now_add``) have ms precision."""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        if self.auto_now or (self.auto_now_add and add):
            value = now_ms()
            setattr(model_instance, self.attname, value)
            return value
        value = super().pre_save(model_instance, add)
        if value is not None and value.microsecond % 1000:
            value = value.replace(microsecond=value.microsecond // 1000 * 1000)
            setattr(model_instance, self.attname, value)
        return value
