"""Opaque keyset cursors: base64url of ``{"v": [value, id], "r": reverse}`` (no Django needed)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson


def encode_cursor(values: list[Any], *, reverse: bool) -> str:
    raw = orjson.dumps(
        {"v": [v.isoformat() if isinstance(v, datetime) else v for v in values], "r": reverse}
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
