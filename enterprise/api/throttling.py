"""Abuse limits: DRF throttles per caller and per client address, for writes and expensive reads.

Scopes (rates in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, from the
environment; an empty rate switches a scope off):

* ``writes`` / ``writes_ip``: POST, PUT, PATCH, DELETE, per token subject within its
  organization / per client address.
* ``expensive`` / ``expensive_ip``: reads that cost the database most, searches
  (``?search=``) and reports (views' ``report_actions``, e.g. the organization
  summary), the same two ways.

Over the limit: 429 with ``Retry-After`` and the shared error body. Counters live
in Django's default cache (Redis when ``REDIS_URL`` is set, so every worker
shares them); if that cache is unavailable, requests are not throttled rather
than refused. Cached GETs answered at the WSGI boundary never reach a throttle:
they cost nothing to abuse.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


def _is_write(request: Request) -> bool:
    return request.method not in ("GET", "HEAD", "OPTIONS")


def _is_expensive(request: Request, view: Any) -> bool:
    if _is_write(request):
        return False
    if request.query_params.get("search"):
        return True
    action = getattr(view, "action", None)
    return bool(action) and action in getattr(view, "report_actions", ())


class _ScopedThrottle(SimpleRateThrottle):
    per_address = False

    def applies(self, request: Request, view: Any) -> bool:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        if not self.rate or not self.applies(request, view):
            return True
        return super().allow_request(request, view)

    def get_rate(self) -> str | None:
        # Read per instance (not the class attribute DRF binds at import), so settings
        # overrides apply; a missing or empty rate switches the scope off.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if self.per_address:
            ident = self.get_ident(request)
        else:
            scope = getattr(request.user, "scope", None)
            if scope is None:
                return None  # unauthenticated: refused before this matters
            ident = f"{scope.organization_id or 'platform'}:{scope.subject}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class WriteRateThrottle(_ScopedThrottle):
    scope = "writes"

    def applies(self, request: Request, view: Any) -> bool:
        return _is_write(request)


class WriteAddressRateThrottle(WriteRateThrottle):
    scope = "writes_ip"
    per_address = True


class ExpensiveRateThrottle(_ScopedThrottle):
    scope = "expensive"

    def applies(self, request: Request, view: Any) -> bool:
        return _is_expensive(request, view)


class ExpensiveAddressRateThrottle(ExpensiveRateThrottle):
    scope = "expensive_ip"
    per_address = True


__all__ = [
    "ExpensiveAddressRateThrottle",
    "ExpensiveRateThrottle",
    "WriteAddressRateThrottle",
    "WriteRateThrottle",
]
