"""``manage.py ensure_admin``: create the admin superuser once (password from an environment variable)."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Create a superuser for the Django admin if it does not exist; never changes an existing one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin", help="Login name (default 'admin').")
        parser.add_argument(
            "--password-env",
            default="ADMIN_PASSWORD",
            help="Environment variable holding the password.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get(options["password_env"])
        if not password:
            raise CommandError(f"{options['password_env']}: set it to the admin password")
        user_model = get_user_model()
        if user_model.objects.filter(username=options["username"]).exists():
            self.stdout.write(f"Admin user {options['username']!r} exists; left unchanged.")
            return
        user_model.objects.create_superuser(
            username=options["username"], email="", password=password
        )
        self.stdout.write(f"Created admin user {options['username']!r}.")
