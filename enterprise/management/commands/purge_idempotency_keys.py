"""``manage.py purge_idempotency_keys``: delete stored ``Idempotency-Key`` answers past their TTL.

Expired keys are already ignored (and reusable) by the API; this only keeps the
table small. Safe to run at any time, e.g. hourly from cron.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from enterprise.api.idempotency import purge_expired


class Command(BaseCommand):
    help = "Delete Idempotency-Key records whose TTL (IDEMPOTENCY_KEY_TTL) has passed."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"purged {purge_expired()} expired idempotency key(s)")
