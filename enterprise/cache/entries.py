"""The cached unit: one rendered response, with its freshness deadline.

Encoded as ``<fresh_until ms, 13 digits><deps length, 5 digits><deps><json
header>\\n<body>`` so the Redis lookup script can read the deadline and check
the recorded dependencies (``key=generation;...``: the generations of objects
embedded in the body, read before they were loaded) without decoding anything
else, and a hit is written out without re-rendering. No pickle anywhere: a cache that can
be written to must not be able to execute code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import orjson

from enterprise.http import gunzip_bytes

_SHARED_MAX = 256
_SHARED_MAX_BYTES = 16 * 1024
#: Largest inflated body an entry keeps for clients that do not accept gzip (so the
#: per-process memo of shared entries holds at most _SHARED_MAX times this, 16 MiB).
_IDENTITY_MAX_BYTES = 64 * 1024
_shared: dict[bytes, CachedResponse] = {}


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class CachedResponse:
    status: int
    content_type: str
    body: bytes
    fresh_until_ms: int
    created_ms: int
    headers: dict[str, str] = field(default_factory=dict)
    #: The body is stored gzip-compressed (bodies of 1 KB or more): compressed once at
    #: store time, sent as is to clients that accept gzip, inflated for the others.
    gzipped: bool = False
    #: Generations of embedded objects as read before loading them: the entry is only
    #: served while every one of them is unchanged.
    deps: dict[str, str] = field(default_factory=dict)
    #: The inflated body, once a client that does not accept gzip has asked for it
    #: (``identity_body``); not part of the entry's value.
    _identity: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def identity_body(self) -> bytes:
        """The body without content coding: inflated once per entry, not per request.

        A shared entry (``decode_shared``) serves every hit on its key until the
        key is rewritten; only bodies up to ``_IDENTITY_MAX_BYTES`` are kept.
        """
        if not self.gzipped:
            return self.body
        identity = self._identity
        if identity is None:
            identity = gunzip_bytes(self.body)
            if len(identity) <= _IDENTITY_MAX_BYTES:
                self._identity = identity
        return identity

    def encode(self) -> bytes:
        header = orjson.dumps(
            {
                "s": self.status,
                "ct": self.content_type,
                "c": self.created_ms,
                "h": self.headers,
                "z": self.gzipped,
            }
        )
        deps = ";".join(f"{k}={v}" for k, v in self.deps.items()).encode()
        return b"%013d%05d" % (self.fresh_until_ms, len(deps)) + deps + header + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> CachedResponse:
        fresh_until = int(raw[:13])
        deps_end = 18 + int(raw[13:18])
        deps = dict(item.split("=", 1) for item in raw[18:deps_end].decode().split(";") if item)
        newline = raw.index(b"\n", deps_end)
        header = orjson.loads(raw[deps_end:newline])
        return cls(
            status=header["s"],
            content_type=header["ct"],
            body=raw[newline + 1 :],
            fresh_until_ms=fresh_until,
            created_ms=header["c"],
            headers=header.get("h", {}),
            gzipped=header.get("z", False),
            deps=deps,
        )

    @classmethod
    def decode_shared(cls, raw: bytes) -> CachedResponse:
        """``decode()``, memoised per process by the exact stored bytes, for the read paths.

        A hot entry is read many times between writes; its bytes identify it
        completely (deadline, dependencies, headers and body), so equal bytes
        decode to an equal entry, and entries are never mutated once built.
        Small entries only, first in first out: at most ``_SHARED_MAX`` entries
        of ``_SHARED_MAX_BYTES`` each per worker.
        """
        if len(raw) > _SHARED_MAX_BYTES:
            return cls.decode(raw)
        entry = _shared.get(raw)
        if entry is None:
            entry = cls.decode(raw)
            if len(_shared) >= _SHARED_MAX:
                _shared.pop(next(iter(_shared), b""), None)
            _shared[raw] = entry
        return entry

    @property
    def etag(self) -> str | None:
        return self.headers.get("ETag")

    @property
    def age_seconds(self) -> int:
        return max(0, (now_ms() - self.created_ms) // 1000)
