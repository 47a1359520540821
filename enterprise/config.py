"""Read the service's configuration from the environment, failing loudly.

Every reader raises ``ImproperlyConfigured`` with the variable's name in the
message, so a wrong value stops start-up with a line that says what to fix
instead of a traceback from deep inside Django.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}: expected one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ImproperlyConfigured(f"{name}: expected an integer {bound}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str, *, base_dir: Path, name: str = "DATABASE_URL") -> dict[str, Any]:
    """Translate ``sqlite:///path``, ``postgres://...`` or ``mongodb://...`` into a DATABASES entry."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: not a URL ({exc})") from None
    scheme = parts.scheme.lower()
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path (the SQLAlchemy convention).
        prefix = url[: len("sqlite:///")]
        path = (
            unquote(url[len(prefix) :].split("?", 1)[0]) if prefix.lower() == "sqlite:///" else ""
        )
        if not path:
            raise ImproperlyConfigured(
                f"{name}: sqlite URL needs a file path, e.g. sqlite:///var/db.sqlite3"
            )
        db_path = Path(path) if Path(path).is_absolute() else base_dir / path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(db_path),
            "OPTIONS": {
                # WAL lets gunicorn workers read while one writes; the busy timeout
                # queues concurrent writers instead of failing them at once.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
            },
            # One connection per worker thread, kept: opening SQLite per request costs
            # more than most queries do.
            "CONN_MAX_AGE": None,
        }
    if scheme in {"postgres", "postgresql", "pgsql"}:
        db_name = unquote(parts.path.lstrip("/"))
        if not db_name:
            raise ImproperlyConfigured(f"{name}: postgres URL needs a database name")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name}: invalid port in {url!r}") from None
        host = unquote(parts.hostname or "") or options.pop("host", "")
        return {
            # Django's backend, with connection attempts bounded by the request's deadline.
            "ENGINE": "enterprise.db.postgresql",
            "NAME": db_name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": host,
            "PORT": str(port or ""),
            # Persistent connections with a health check: a database restart costs
            # one reconnect, not one failed request per worker.
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {"connect_timeout": int(options.pop("connect_timeout", 3)), **options},
        }
    if scheme in {"mongodb", "mongodb+srv"}:
        db_name = unquote(parts.path.lstrip("/"))
        if not db_name:
            raise ImproperlyConfigured(
                f"{name}: mongodb URL needs a database name, e.g. mongodb://host/enterprise"
            )
        return {
            "ENGINE": "django_mongodb_backend",
            "HOST": url,
            "NAME": db_name,
            "OPTIONS": {
                # pymongo waits 30 s by default: as long as gunicorn's worker
                # timeout, so an outage would kill workers before any answer.
                "serverSelectionTimeoutMS": 1000,
                "connectTimeoutMS": 1000,
                "maxPoolSize": 50,
                "minPoolSize": 5,
                "maxIdleTimeMS": 300000,
            },
        }
    raise ImproperlyConfigured(
        f"{name}: unsupported scheme {parts.scheme!r}; use sqlite:///, postgres:// or mongodb://"
    )
