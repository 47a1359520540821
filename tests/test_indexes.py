"""``manage.py create_indexes``: verify, recreate and explain the declared indexes on the real database."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from clinics.models import Clinic

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "connection.vendor == 'mongodb'", reason="needs DDL through Django's schema editor"
    ),
]


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("create_indexes", *args, stdout=out)
    return out.getvalue()


def test_check_passes_after_migrate_and_explain_finds_no_scan(tenant_a):
    out = _run("--check", "--explain")
    assert "0 missing" in out
    assert "SCAN " not in out
    assert out.count("index  GET") == 7


def test_check_fails_after_an_index_is_dropped_and_create_restores_it():
    index = next(i for i in Clinic._meta.indexes if i.name == "clinic_org_created_id_idx")
    with connection.schema_editor(atomic=False) as editor:
        editor.remove_index(Clinic, index)
    try:
        with pytest.raises(CommandError, match="clinic_org_created_id_idx"):
            _run("--check")
        assert "missing index clinics_clinic.clinic_org_created_id_idx" in _run("--dry-run")
        out = _run()
        assert "created clinics_clinic.clinic_org_created_id_idx" in out
        assert "0 missing" in _run("--check")
        assert "0 index(es) created" in _run()  # idempotent
    finally:
        with connection.cursor() as cursor:
            present = connection.introspection.get_constraints(cursor, Clinic._meta.db_table)
        if index.name not in present:
            with connection.schema_editor(atomic=False) as editor:
                editor.add_index(Clinic, index)


def test_unexpected_indexes_are_reported():
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX handmade_idx ON clinics_clinic (phone)")
    try:
        assert "unexpected index clinics_clinic.handmade_idx" in _run("--check")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX handmade_idx")
