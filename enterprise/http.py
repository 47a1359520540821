"""HTTP efficiency primitives: gzip, ETags, conditional requests, request ids.

Shared by the WSGI hit path, the response-cache middleware and
``HttpEfficiencyMiddleware`` so that a hit, a miss and an uncached response
carry the same headers and obey the same rules:

* gzip (level 6, ``mtime`` 0 so equal bodies compress to equal bytes) for
  bodies of ``GZIP_MIN_BYTES`` (1 KB) or more when the client accepts it;
  ``Vary: Accept-Encoding`` always;
* strong ETags from the identity body's hash (details), weak ETags from the
  generation-bearing cache key (lists: computable before any database work);
* ``If-None-Match`` (weak comparison) before ``If-Modified-Since``, per RFC 9110.

BREACH: compression is never applied to the Django admin (HTML carrying CSRF
tokens next to reflected input). The API returns no secrets (tokens are
issued by ``manage.py issue_token``, not over HTTP), so its JSON is compressed.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import zlib
from email.utils import parsedate_to_datetime

GZIP_MIN_BYTES = 1024
GZIP_LEVEL = 6
TENANT_CACHE_CONTROL = "private, no-cache"
_ACCEPTS_GZIP = re.compile(r"\bgzip\b(?!\s*;\s*q=0(?:\.0*)?\b)")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def accepts_gzip(accept_encoding: str) -> bool:
    return bool(accept_encoding) and bool(_ACCEPTS_GZIP.search(accept_encoding))


def gzip_bytes(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def gzip_for_storage(body: bytes) -> bytes | None:
    """The gzip a cached entry stores for ``body``: ``None`` below ``GZIP_MIN_BYTES`` (kept as is)."""
    return gzip_bytes(body) if len(body) >= GZIP_MIN_BYTES else None


def gunzip_bytes(body: bytes) -> bytes:
    """The body of one gzip member (what ``gzip_bytes`` writes), its CRC and length checked."""
    return zlib.decompress(body, wbits=31)


def strong_etag(body: bytes) -> str:
    """A strong validator for exactly these bytes (the identity-encoded body)."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def weak_etag_for_key(key: str) -> str:
    """A weak validator for a cache key that embeds the generations of everything the body depends on."""
    return 'W/"' + hashlib.blake2b(key.encode(), digest_size=16).hexdigest() + '"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(if_none_match: str, etag: str | None) -> bool:
    """Weak comparison, as ``If-None-Match`` requires; ``*`` matches any current representation."""
    if not if_none_match or not etag:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = _opaque(etag)
    return any(_opaque(candidate) == wanted for candidate in if_none_match.split(","))


def if_match_satisfied(if_match: str, etag: str) -> bool:
    """Strong comparison, as ``If-Match`` requires (weak tags never match)."""
    if if_match.strip() == "*":
        return True
    return any(
        candidate.strip() == etag
        for candidate in if_match.split(",")
        if not candidate.strip().startswith("W/")
    )


def not_modified_since(if_modified_since: str, last_modified: str | None) -> bool:
    if not if_modified_since or not last_modified:
        return False
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False


def is_not_modified(
    *, if_none_match: str, if_modified_since: str, etag: str | None, last_modified: str | None
) -> bool:
    if if_none_match:
        return etag_matches(if_none_match, etag)
    return not_modified_since(if_modified_since, last_modified)


def request_id(incoming: str) -> str:
    """The client's ``X-Request-ID`` when it is a sane token, otherwise a fresh one: 128
    random bits as 32 hex digits (``uuid4().hex`` without building a UUID, a few
    percent of a cache hit)."""
    return incoming if incoming and _REQUEST_ID.match(incoming) else os.urandom(16).hex()
