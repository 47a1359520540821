"""``manage.py explain_endpoint PATH [--org ID] [--fail-on-scan]``: the plan of every query a GET runs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from enterprise.fields import is_object_id
from perfmon.explain import explain_endpoint


class Command(BaseCommand):
    help = (
        "Run GET PATH (e.g. '/api/v1/clinics?status=active') with the response cache off and "
        "print the database plan of every query it made, on any backend."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", help="The API path with its query string, e.g. /api/v1/clinics."
        )
        parser.add_argument(
            "--org",
            help="Ask as a member of this organization (default: as a platform admin).",
        )
        parser.add_argument(
            "--fail-on-scan",
            action="store_true",
            help="Exit non-zero when any plan scans a whole table or collection.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path, org = options["path"], options["org"]
        if not path.startswith("/"):
            raise CommandError("PATH must start with '/', e.g. /api/v1/clinics")
        if org is not None and not is_object_id(org):
            raise CommandError(f"--org {org!r} is not a 24-hex organization id")
        status, operations = explain_endpoint(path, organization_id=org)
        self.stdout.write(f"GET {path} -> {status}, {len(operations)} database operation(s)")
        scans = 0
        for number, operation in enumerate(operations, start=1):
            flag = "  [FULL SCAN]" if operation.scan else ""
            scans += operation.scan
            self.stdout.write(f"\n#{number} ({operation.vendor}){flag}\n{operation.statement}")
            self.stdout.write("plan:\n  " + operation.plan.replace("\n", "\n  "))
        if status >= 400:
            raise CommandError(f"the endpoint answered {status}: nothing meaningful to explain")
        if scans and options["fail_on_scan"]:
            raise CommandError(f"{scans} operation(s) scan a whole table or collection")
