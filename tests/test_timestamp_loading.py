"""PostgreSQL timestamps are loaded by psycopg's C loader, with exactly Django's values."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg._cmodule import _psycopg
from psycopg.pq import Format

from clinics.models import Clinic
from enterprise.db.postgresql.base import UtcTimestamptzLoader
from tests.factories import ClinicFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL lane"),
]

SAMPLES = (
    "2026-01-02 03:04:05.123456+05",  # another offset: converted to UTC
    "1900-01-01 00:00:00+00",
    "2024-02-29 23:59:59.999999-08",  # crosses into March in UTC
    "9999-12-31 23:59:59.999999+00",
)


def _select(cursor) -> tuple:
    cursor.execute(
        "SELECT " + ", ".join("%s::timestamptz" for _ in SAMPLES) + ", NULL::timestamptz",
        list(SAMPLES),
    )
    return cursor.fetchone()


def test_the_connection_loads_timestamptz_with_the_c_loader() -> None:
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, Format.TEXT)
    assert loader is UtcTimestamptzLoader
    # Each value goes straight to the C loader's method, no Python frame in between.
    bound = UtcTimestamptzLoader(1184, connection.connection).load
    assert type(bound.__self__) is _psycopg.TimestamptzLoader


def test_values_are_those_of_djangos_own_loader() -> None:
    with connection.cursor() as cursor:
        fast = _select(cursor)
    with connection.cursor() as cursor:
        # Django's loader, as its create_cursor registers it when the timezones differ.
        class DjangoLoader(BaseTzLoader):
            timezone = datetime.UTC

        cursor.adapters.register_loader("timestamptz", DjangoLoader)
        slow = _select(cursor)
    assert fast == slow
    assert [value.tzinfo for value in fast[:-1]] == [datetime.UTC] * len(SAMPLES)
    assert fast[0] == datetime.datetime(2026, 1, 1, 22, 4, 5, 123456, tzinfo=datetime.UTC)
    assert fast[-1] is None


def test_models_read_back_what_they_saved() -> None:
    clinic = ClinicFactory()
    loaded = Clinic.objects.get(pk=clinic.pk)
    assert loaded.created_at == clinic.created_at and loaded.updated_at == clinic.updated_at
    assert loaded.created_at.tzinfo is datetime.UTC
