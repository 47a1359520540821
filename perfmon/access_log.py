"""gunicorn's access log, with each line built from only the atoms its format names.

gunicorn's ``Logger.atoms()`` builds every atom any format could use for every
request: some twenty fixed ones (a ``strftime`` among them) and one per request
header, response header and WSGI environ entry; ``SafeAtoms`` then copies the
lot, escaping each string. ``gunicorn.conf.py``'s line names seven. Under the
benchmark's mix (py-spy on the workers at 800 requests/s) access logging was
4.3 % of a worker's CPU, about half of it in those comprehensions. Building
only the named atoms, ``Logger.access`` with this format takes 14 us instead
of 27 (timeit, a 27-entry environ); the rest is the ``logging`` call itself.
``tests/perfmon/test_access_log.py`` checks the lines are gunicorn's.

The lines are gunicorn's own: same atoms, same escaping (``SafeAtoms``), same
``-`` for an atom the request does not have, written through the same
``gunicorn.access`` logger, so ``--access-logfile``, ``--access-logformat``
and logging configuration behave as documented.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from gunicorn import glogging

#: ``%(name)s``-style references in an access log format: ``h``, ``{x-request-id}o``...
_REFERENCE = re.compile(r"%\(([^)]*)\)")


def _status(resp: Any) -> Any:
    status = resp.status
    return status.split(None, 1)[0] if isinstance(status, str) else status


def _sent(resp: Any) -> Any:
    return getattr(resp, "sent", None)


#: The fixed atoms, as gunicorn's ``Logger.atoms`` computes them (gunicorn 23-27).
_FIXED: dict[str, Callable[[Any, Any, Any, dict[str, Any], timedelta], Any]] = {
    "h": lambda log, resp, req, environ, rt: environ.get("REMOTE_ADDR", "-"),
    "l": lambda log, resp, req, environ, rt: "-",
    "u": lambda log, resp, req, environ, rt: log._get_user(environ) or "-",
    "t": lambda log, resp, req, environ, rt: log.now(),
    "r": lambda log, resp, req, environ, rt: (
        f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
    ),
    "s": lambda log, resp, req, environ, rt: _status(resp),
    "m": lambda log, resp, req, environ, rt: environ.get("REQUEST_METHOD"),
    "U": lambda log, resp, req, environ, rt: environ.get("PATH_INFO"),
    "q": lambda log, resp, req, environ, rt: environ.get("QUERY_STRING"),
    "H": lambda log, resp, req, environ, rt: environ.get("SERVER_PROTOCOL"),
    "b": lambda log, resp, req, environ, rt: _sent(resp) is not None and str(resp.sent) or "-",
    "B": lambda log, resp, req, environ, rt: _sent(resp),
    "f": lambda log, resp, req, environ, rt: environ.get("HTTP_REFERER", "-"),
    "a": lambda log, resp, req, environ, rt: environ.get("HTTP_USER_AGENT", "-"),
    "T": lambda log, resp, req, environ, rt: rt.seconds,
    "D": lambda log, resp, req, environ, rt: rt.seconds * 1_000_000 + rt.microseconds,
    "M": lambda log, resp, req, environ, rt: rt.seconds * 1000 + int(rt.microseconds / 1000),
    "L": lambda log, resp, req, environ, rt: f"{rt.seconds}.{rt.microseconds:06d}",
    "p": lambda log, resp, req, environ, rt: f"<{os.getpid()}>",
}


def _pairs(headers: Any) -> Iterable[tuple[str, Any]]:
    headers = getattr(headers, "headers", headers)
    return headers.items() if hasattr(headers, "items") else headers


_MISSING = object()


def _last(pairs: Iterable[tuple[str, Any]], lowered: str) -> Any:
    """The value of the last pair named ``lowered`` (any case), as gunicorn's dict keeps it."""
    found = _MISSING
    for name, value in pairs:
        if name.lower() == lowered:
            found = value
    return found


class AccessLogger(glogging.Logger):
    """gunicorn's ``Logger``, whose ``atoms()`` computes only the atoms the access format names.

    Atoms it does not name are left out: ``SafeAtoms`` answers ``-`` for them,
    as it does for a header the request lacks. A ``{name}i``/``{name}o``/
    ``{name}e`` atom is looked up case-insensitively, the last of repeated
    headers winning, as in gunicorn.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self._references = tuple(
            dict.fromkeys(
                name.lower() if name.startswith("{") else name
                for name in _REFERENCE.findall(cfg.access_log_format or "")
            )
        )

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> dict:
        atoms: dict[str, Any] = {}
        for name in self._references:
            fixed = _FIXED.get(name)
            if fixed is not None:
                atoms[name] = fixed(self, resp, req, environ, request_time)
            elif name.startswith("{") and name.endswith(("}i", "}o", "}e")) and len(name) > 3:
                key, kind = name[1:-2], name[-1]
                if kind == "e":
                    value = _last(environ.items(), key)
                else:
                    value = _last(_pairs(req if kind == "i" else resp), key)
                if value is not _MISSING:
                    atoms[name] = value
        return atoms
