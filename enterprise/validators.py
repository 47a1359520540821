"""Field validators shared by models and serializers."""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator


def validate_timezone(value: str) -> None:
    """An IANA time zone name such as ``America/New_York``."""
    try:
        if not value or value != value.strip() or "\x00" in value:
            raise ValueError
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError, IsADirectoryError):
        raise ValidationError(
            "Unknown time zone %(value)s; use an IANA name such as America/New_York.",
            code="invalid",
            params={"value": repr(value)[:70]},
        ) from None


validate_npi = RegexValidator(r"^\d{10}$", "An NPI is exactly 10 digits.", code="invalid")
validate_phone = RegexValidator(
    r"^\+?[0-9 ()./-]{3,32}$", "Use digits, spaces and + ( ) . / - only.", code="invalid"
)
