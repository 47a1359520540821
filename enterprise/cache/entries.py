"""The cached unit: one rendered response, with its freshness deadline.

Encoded as ``<fresh_until ms, 13 digits><json header>\\n<body>`` so the Redis
lookup script can read the deadline without decoding anything else, and a
hit is written out without re-rendering. No pickle anywhere: a cache that can
be written to must not be able to execute code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import orjson


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
        return b"%013d" % self.fresh_until_ms + header + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> CachedResponse:
        fresh_until = int(raw[:13])
        newline = raw.index(b"\n", 13)
        header = orjson.loads(raw[13:newline])
        return cls(
            status=header["s"],
            content_type=header["ct"],
            body=raw[newline + 1 :],
            fresh_until_ms=fresh_until,
            created_ms=header["c"],
            headers=header.get("h", {}),
            gzipped=header.get("z", False),
        )

    @property
    def etag(self) -> str | None:
        return self.headers.get("ETag")

    @property
    def age_seconds(self) -> int:
        return max(0, (now_ms() - self.created_ms) // 1000)
