"""Recording operator actions: one row (``OperatorAction``) and one ``perfmon.audit`` log line each."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import DatabaseError

from enterprise.resilience.breakers import CircuitBreaker
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


def breaker_action(target: CircuitBreaker, action: str, *, actor: str, source: str) -> None:
    """``reset`` (close now) or ``force-open`` (refuse calls until reset) a breaker, audited."""
    before = target.state
    if action == "reset":
        target.reset()
        recorded = OperatorAction.Action.BREAKER_RESET
    elif action == "force-open":
        target.force_open()
        recorded = OperatorAction.Action.BREAKER_FORCE_OPEN
    else:
        raise ValueError(f"unknown breaker action {action!r}")
    operator_action_record(
        actor=actor,
        source=source,
        action=recorded,
        target=target.name,
        detail={"before": before, "after": target.state},
    )
