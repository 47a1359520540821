"""``manage.py issue_token --role ROLE [--org ID] [--ttl SECONDS] [--sub NAME]``: a JWT for development and scripts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from enterprise.api.authentication import issue_token
from enterprise.fields import is_object_id
from enterprise.tenancy import Role


class Command(BaseCommand):
    help = "Print a signed bearer token for the API (development and scripts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--role",
            required=True,
            choices=[r.value for r in Role],
            help="Role carried in the 'roles' claim.",
        )
        parser.add_argument(
            "--org", help="Organization id (24 hex); required for every role but platform_admin."
        )
        parser.add_argument(
            "--ttl", type=int, default=3600, help="Lifetime in seconds (default 3600)."
        )
        parser.add_argument(
            "--sub", default="cli", help="Subject claim: who the token speaks for (default 'cli')."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        role = Role(options["role"])
        org = options.get("org")
        if role is not Role.PLATFORM_ADMIN and not org:
            raise CommandError("--org is required for this role")
        if org and not is_object_id(org):
            raise CommandError("--org must be a 24-hex organization id")
        if options["ttl"] <= 0:
            raise CommandError("--ttl must be positive")
        token = issue_token(
            subject=options["sub"],
            role=role,
            organization_id=org.lower() if org else None,
            ttl_seconds=options["ttl"],
        )
        self.stdout.write(token)
