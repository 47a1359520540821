"""Response-cache settings: ``settings.RESPONSE_CACHE`` merged over these defaults.

TTL names (seconds):

* ``organization_detail``, ``clinic_detail``, ``provider_detail``: 300
* ``assignments``: 60 (assignment detail and the provider-clinics / clinic-staff routes)
* ``list``: 30 (every list endpoint)
* ``summary``: 120 (the organization summary and other aggregations)

Other keys: ``STALE_GRACE`` (seconds an entry is kept past its TTL so one
worker rebuilds it while the others serve it, marked ``X-Cache: STALE``),
``LOCK_MS`` (single-flight lock lifetime), ``WAIT_MS`` (how long a cold miss
waits for another worker's rebuild), ``LOCAL_MAX_ENTRIES`` (per-process entry
bound without Redis), ``LOCAL_DIR`` (where generations live without Redis),
``ERROR_LOG_INTERVAL`` and ``ERROR_BACKOFF`` (seconds), ``SHADOW_TTL`` (seconds a
stale shadow copy of each response is kept, to answer GETs while the database
is unavailable; 0 keeps none).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "ENABLED": True,
    "TTL": {
        "organization_detail": 300,
        "clinic_detail": 300,
        "provider_detail": 300,
        "assignments": 60,
        "list": 30,
        "summary": 120,
    },
    "STALE_GRACE": 10,
    "SHADOW_TTL": 86400,
    "LOCK_MS": 2000,
    "WAIT_MS": 150,
    "LOCAL_MAX_ENTRIES": 5000,
    "LOCAL_DIR": None,
    "KEY_PREFIX": "dos",
    "ERROR_LOG_INTERVAL": 30,
    "ERROR_BACKOFF": 1.0,
}


@cache
def cache_settings() -> dict[str, Any]:
    user = getattr(settings, "RESPONSE_CACHE", {})
    merged = {**DEFAULTS, **user}
    merged["TTL"] = {**DEFAULTS["TTL"], **user.get("TTL", {})}
    return merged


def ttl(name: str) -> int:
    return int(cache_settings()["TTL"][name])
