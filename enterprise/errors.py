"""Errors raised by services and mapped to HTTP answers by the API's exception handler."""

from __future__ import annotations


class ConflictError(Exception):
    """A write would break a uniqueness rule (HTTP 409).

    ``fields`` maps the offending field names (camelCase, as clients see them)
    to messages.
    """

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class PreconditionFailedError(Exception):
    """A conditional write (``If-Match``) found the object changed since the client read it (HTTP 412)."""
