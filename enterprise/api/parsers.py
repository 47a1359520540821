"""A strict, fast JSON body parser."""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework import exceptions, parsers


class StrictJSONParser(parsers.JSONParser):
    """orjson-backed: rejects NaN/Infinity, invalid UTF-8, lone surrogates and nesting over 1024 levels.

    Every failure is a 400 ``malformed_request``; the stdlib parser would turn
    deep nesting into a ``RecursionError`` (a 500).
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return orjson.loads(stream.read())
        except (orjson.JSONDecodeError, RecursionError) as exc:
            reason = (
                "nested too deeply"
                if "allocate" in str(exc) or isinstance(exc, RecursionError)
                else str(exc)
            )
            raise exceptions.ParseError(f"JSON parse error: {reason[:120]}") from None
