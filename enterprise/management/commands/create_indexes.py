"""``manage.py create_indexes [--check] [--explain] [--dry-run]``: make the database's indexes match the models."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from enterprise.indexes import create_missing_indexes, explain_list_queries, inspect_indexes


class Command(BaseCommand):
    help = (
        "Create every index declared on the models that the database lacks (idempotent; CONCURRENTLY on "
        "PostgreSQL), report missing and unexpected indexes, and optionally explain each list endpoint's query."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Create nothing; exit with status 1 when a declared index is missing (for deploy pipelines).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be created; create nothing."
        )
        parser.add_argument(
            "--explain",
            action="store_true",
            help="Explain each list endpoint's default query and fail on a full table/collection scan.",
        )
        parser.add_argument(
            "--org",
            default=None,
            help="Organization id used to build the explained queries (default: any existing one).",
        )
        parser.add_argument(
            "--database", default="default", help="Database alias (default 'default')."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        using = options["database"]
        reports = inspect_indexes(using)
        missing = [f"{r.table}.{name}" for r in reports for name in r.missing]
        for report in reports:
            for name in report.unexpected:
                self.stdout.write(
                    f"unexpected index {report.table}.{name} (not declared on {report.model})"
                )
        if options["check"] or options["dry_run"]:
            for name in missing:
                self.stdout.write(f"missing index {name}")
        else:
            created = create_missing_indexes(
                reports, using, progress=lambda n: self.stdout.write(f"created {n}")
            )
            missing = []
            self.stdout.write(f"{len(created)} index(es) created")
        total = sum(len(r.present) for r in reports)
        self.stdout.write(f"{total} declared index(es) present, {len(missing)} missing")

        failures = []
        if options["explain"]:
            from organizations.models import Organization

            org = (
                options["org"]
                or Organization.objects.using(using).values_list("id", flat=True).first()
            )
            if org is None:
                org = "0" * 24
            for result in explain_list_queries(org, using):
                verdict = "SCAN" if result.scan else "index"
                self.stdout.write(f"{verdict:5}  {result.endpoint}")
                if options["verbosity"] > 1 or result.scan:
                    for line in result.plan.splitlines():
                        self.stdout.write(f"       {line}")
                if result.scan:
                    failures.append(result.endpoint)
        if options["check"] and missing:
            raise CommandError(f"{len(missing)} declared index(es) missing: {', '.join(missing)}")
        if failures:
            raise CommandError(f"full scans in: {', '.join(failures)}")
