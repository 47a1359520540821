"""``explain_endpoint``: run one GET through the whole stack and explain every query it made.

The request goes through Django's test client with the response cache
switched off (a hit would make no query), as a platform admin or as a member
of one organization. Every SQL statement (with its parameters, held in
memory only) or MongoDB command the request ran is then explained on the
database it ran on: ``EXPLAIN`` on PostgreSQL (sequential scans disabled, so
the question is whether an index *can* serve it, as for ``create_indexes
--explain``), ``EXPLAIN QUERY PLAN`` on SQLite, the ``explain`` command
(``queryPlanner``) on MongoDB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.test import Client, override_settings

from enterprise.api.authentication import issue_token
from enterprise.cache.conf import cache_settings
from enterprise.indexes import plan_has_scan
from enterprise.tenancy import Role
from perfmon.db import capturing


@dataclass(frozen=True)
class ExplainedOperation:
    vendor: str
    statement: str
    plan: str
    scan: bool


def _explain_sql(vendor: str, sql: str, params: Any, using: str) -> str:
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def _explain_mongo(command: dict[str, Any], using: str) -> str:
    database = connections[using].database
    command = {k: v for k, v in command.items() if k not in {"$db", "lsid", "$clusterTime"}}
    result = database.command({"explain": command, "verbosity": "queryPlanner"})
    return json.dumps(result.get("queryPlanner", result), default=str, indent=1)


def explain_endpoint(
    path: str, *, organization_id: str | None = None, using: str = "default"
) -> tuple[int, list[ExplainedOperation]]:
    """``(status, operations)`` for ``GET path``; see the module docstring."""
    role = Role.MEMBER if organization_id else Role.PLATFORM_ADMIN
    token = issue_token(
        subject="explain_endpoint", role=role, organization_id=organization_id, ttl_seconds=60
    )
    host = next((h for h in settings.ALLOWED_HOSTS if h not in {"*", ""}), "localhost").lstrip(".")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", SERVER_NAME=host)
    with override_settings(RESPONSE_CACHE={**settings.RESPONSE_CACHE, "ENABLED": False}):
        cache_settings.cache_clear()
        try:
            with capturing() as captured:
                response = client.get(path)
        finally:
            cache_settings.cache_clear()
    operations = []
    for vendor, statement, params in captured:
        if vendor != "mongodb" and statement.lstrip().upper().startswith("SET "):
            continue  # the time budget's SET statement_timeout: nothing to plan
        if vendor == "mongodb":
            plan = _explain_mongo(statement, using)
            text = json.dumps(statement, default=str)
        else:
            plan = _explain_sql(vendor, statement, params, using)
            text = statement
        operations.append(ExplainedOperation(vendor, text, plan, plan_has_scan(vendor, plan)))
    return response.status_code, operations
