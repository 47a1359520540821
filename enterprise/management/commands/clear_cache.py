"""``manage.py clear_cache``: invalidate the project's cached responses, nothing else.

It bumps generations (O(1) per key) instead of deleting: entries become
unreachable and expire on their own. It never runs FLUSHDB/FLUSHALL (what
django-redis's ``cache.clear()`` does), so circuit-breaker state, throttle
counters and stale copies survive.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from enterprise.cache.keys import RESOURCES
from enterprise.cache.operations import clear_response_cache
from enterprise.fields import is_object_id


class Command(BaseCommand):
    help = "Invalidate cached API responses by resource and/or organization, or all of them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--resource",
            action="append",
            choices=RESOURCES,
            help="Resource to invalidate (repeatable); default: every resource.",
        )
        parser.add_argument(
            "--org", action="append", help="Organization id to invalidate (repeatable)."
        )
        parser.add_argument(
            "--all", action="store_true", help="Invalidate every cached response (bumps the epoch)."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print what would be invalidated without doing it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not (options["all"] or options["resource"] or options["org"]):
            raise CommandError("say what to clear: --all, --resource R and/or --org ID")
        for org in options["org"] or ():
            if not is_object_id(org):
                raise CommandError(f"--org {org!r} is not a 24-hex organization id")
        result = clear_response_cache(
            everything=options["all"],
            resources=tuple(options["resource"] or RESOURCES),
            organization_ids=tuple(o.lower() for o in options["org"] or ()),
            dry_run=options["dry_run"],
        )
        verb = "Would bump" if options["dry_run"] else "Bumped"
        self.stdout.write(
            f"{verb} {len(result.keys)} generation key(s) on the {result.store} store:"
        )
        for key in result.keys:
            self.stdout.write(f"  {key}")
        if not result.ok:
            raise CommandError(
                "the cache store did not answer; the bumps are queued for when it does"
            )
