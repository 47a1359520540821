"""Recording operator actions: one row (``OperatorAction``) and one ``perfmon.audit`` log line each."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import DatabaseError

from perfmon.models import OperatorAction

logger = logging.getLogger("perfmon.audit")


def operator_action_record(
    *, actor: str, source: str, action: str, target: str = "", detail: dict[str, Any] | None = None
) -> OperatorAction | None:
    """Persist and log the action. The log line is written even if the row cannot be (database down)."""
    detail = detail or {}
    logger.warning(
        json.dumps(
            {
                "event": "operator_action",
                "actor": actor,
                "source": source,
                "action": action,
                "target": target,
                "detail": detail,
            },
            default=str,
        )
    )
    try:
        return OperatorAction.objects.create(
            actor=actor[:200], source=source, action=action, target=target[:200], detail=detail
        )
    except DatabaseError as exc:  # e.g. a breaker forced open while the database is down
        logger.error("operator action not persisted (%s); the log line above is the record", exc)
        return None
