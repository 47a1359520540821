"""Regenerate ``mongo_migrations/`` (the contrib apps' migrations with ObjectId keys) without a server.

Django's makemigrations checks the applied-migration history on every
configured database; with no MongoDB reachable that check is skipped here.
Run: ``.venv/bin/python scripts/make_mongo_migrations.py``.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DATABASE_URL"] = "mongodb://127.0.0.1:1/enterprise_migrations"
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enterprise.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db.migrations.loader import MigrationLoader  # noqa: E402

MigrationLoader.check_consistent_history = lambda self, connection: None
call_command("makemigrations", "admin", "auth", "contenttypes", *sys.argv[1:])
