"""``Idempotency-Key`` on POST: a retried create returns the first answer and creates nothing.

The key is reserved in its own committed write *before* the create runs, so a
concurrent duplicate finds it and is told 409 instead of creating a second
object; the create and the stored response commit together (one transaction on
the SQL backends), so a replay never finds a reservation whose object exists
without its answer. Keys are scoped per tenant and per caller; the same key
with a different body is 422. A create that fails (400, 409, ...) releases the
key: nothing was created, the client may fix the request and retry with it.

Reservations left ``processing`` by a crashed worker are taken over after
``IDEMPOTENCY["LOCK_SECONDS"]``; answers are kept for ``IDEMPOTENCY["TTL_SECONDS"]``
(expired keys are reusable at once and purged by ``manage.py purge_idempotency_keys``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from enterprise.fields import now_ms
from enterprise.models import IdempotencyKey
from enterprise.tenancy import Scope

logger = logging.getLogger("enterprise.api")

HEADER = "Idempotency-Key"
#: Response headers a replay repeats (the body and status come from the record).
_REPLAYED_HEADERS = ("Last-Modified", "Location")
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, no spaces


class KeyInUse(exceptions.APIException):
    status_code = 409
    default_detail = "A request with this Idempotency-Key is still being processed; retry later."
    default_code = "idempotency_key_in_use"


class KeyReused(exceptions.APIException):
    status_code = 422
    default_detail = "This Idempotency-Key was used with a different request; use a new key."
    default_code = "idempotency_key_reused"


@dataclass(frozen=True, slots=True)
class Reservation:
    record: IdempotencyKey


def requested_key(request: Request) -> str | None:
    """The header's value, ``None`` when absent; 400 naming the header when malformed."""
    value = request.headers.get(HEADER)
    if value is None:
        return None
    if not _KEY_RE.match(value):
        raise exceptions.ValidationError(
            {HEADER: ["1 to 255 visible ASCII characters (a UUID is a good choice)."]}
        )
    return value


def fingerprint(request: Request) -> str:
    body = orjson.dumps(request.data, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(
        b"\0".join((request.method.encode(), request.path.encode(), body))
    ).hexdigest()


def _replay(record: IdempotencyKey) -> Response:
    response = Response(orjson.loads(record.body), status=record.status_code)
    for name, value in record.headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def reserve(*, scope: Scope, key: str, digest: str) -> Reservation | Response:
    """Reserve the key for this request, or answer from (or about) the earlier one."""
    conf = settings.IDEMPOTENCY
    for _ in range(2):  # a second pass after clearing an expired or abandoned reservation
        now = now_ms()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    scope=scope.cache_key,
                    subject=scope.subject,
                    key=key,
                    fingerprint=digest,
                    expires_at=now + timedelta(seconds=conf["TTL_SECONDS"]),
                )
            return Reservation(record)
        except IntegrityError:
            pass
        earlier = IdempotencyKey.objects.filter(
            scope=scope.cache_key, subject=scope.subject, key=key
        ).first()
        if earlier is None:  # released between our insert and this read: try again
            continue
        abandoned = earlier.state == IdempotencyKey.State.PROCESSING and (
            earlier.created_at < now - timedelta(seconds=conf["LOCK_SECONDS"])
        )
        if earlier.expires_at <= now or abandoned:
            # Compare-and-delete: only the request that still sees this exact row clears it.
            IdempotencyKey.objects.filter(pk=earlier.pk, created_at=earlier.created_at).delete()
            continue
        if earlier.fingerprint != digest:
            raise KeyReused
        if earlier.state == IdempotencyKey.State.PROCESSING:
            raise KeyInUse
        return _replay(earlier)
    raise KeyInUse


def complete(
    reservation: Reservation, response: Response, render: Callable[[object], bytes]
) -> None:
    """Store the answer on the reservation (call inside the create's transaction)."""
    headers = {name: response[name] for name in _REPLAYED_HEADERS if response.has_header(name)}
    IdempotencyKey.objects.filter(pk=reservation.record.pk).update(
        state=IdempotencyKey.State.DONE,
        status_code=response.status_code,
        body=render(response.data).decode(),
        headers=headers,
    )


def release(reservation: Reservation) -> None:
    """Forget the reservation of a request that created nothing.

    If the database cannot be reached now (the create failed for the same
    reason), the reservation stays and is taken over after ``LOCK_SECONDS``.
    """
    try:
        IdempotencyKey.objects.filter(pk=reservation.record.pk).delete()
    except DatabaseError:
        logger.warning(
            "idempotency key %s not released; reusable after the lock expires",
            reservation.record.pk,
        )


def purge_expired() -> int:
    """Delete answers past their TTL; the number deleted."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now_ms()).delete()
    return deleted
