"""``manage.py seed_demo``: demo organizations, clinics, providers and assignments (idempotent)."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from organizations.demo import DemoSizes, seed_demo


class Command(BaseCommand):
    help = "Create demo data with bulk inserts. Reruns skip organizations that already exist."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--organizations", type=int, default=5, help="Number of organizations (default 5)."
        )
        parser.add_argument(
            "--clinics-per-org", type=int, default=10, help="Clinics per organization (default 10)."
        )
        parser.add_argument(
            "--providers-per-org",
            type=int,
            default=100,
            help="Providers per organization (default 100).",
        )
        parser.add_argument(
            "--assignments-per-provider",
            type=int,
            default=2,
            help="Active assignments per provider, each at a different clinic (default 2).",
        )
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed for reproducible data (default 42)."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any organization exists."
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not draw the progress bar."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sizes = DemoSizes(
            organizations=options["organizations"],
            clinics_per_org=options["clinics_per_org"],
            providers_per_org=options["providers_per_org"],
            assignments_per_provider=options["assignments_per_provider"],
        )
        if min(sizes.organizations, sizes.clinics_per_org, sizes.providers_per_org) < 1:
            raise CommandError("sizes must be at least 1")
        if sizes.assignments_per_provider < 0:
            raise CommandError("--assignments-per-provider must not be negative")
        if options["if_empty"]:
            from organizations.models import Organization

            if Organization.objects.exists():
                self.stdout.write("Organizations exist; nothing seeded (--if-empty).")
                return
        started = time.monotonic()
        show = not options["no_progress"] and sys.stderr.isatty()

        def progress(done: int, total: int) -> None:
            if show:
                width = 40
                filled = width * done // total
                sys.stderr.write(
                    f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} organizations"
                )
                if done == total:
                    sys.stderr.write("\n")

        report = seed_demo(sizes=sizes, seed=options["seed"], progress=progress)
        self.stdout.write(
            f"Seeded {report.organizations_created} organizations ({report.organizations_skipped} already there), "
            f"{report.clinics} clinics, {report.providers} providers, {report.assignments} assignments "
            f"in {time.monotonic() - started:.1f} s."
        )
