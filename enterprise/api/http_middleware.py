"""``HttpEfficiencyMiddleware``: request ids, conditional GETs, gzip and cache headers for every response.

The outermost middleware. For each request it:

* echoes a sane ``X-Request-ID`` or generates one (also on hits answered by the cache);
* adds a strong ETag to API 200/201 answers that have none (write responses
  included), and turns a GET whose ``If-None-Match`` (or, without it,
  ``If-Modified-Since``) matches into a 304;
* marks API responses ``Cache-Control: private, no-cache`` (clients revalidate
  with the ETag; shared caches never store tenant data) and
  ``Vary: Accept-Encoding, Authorization``;
* gzips bodies of 1 KB or more for clients that accept it, reusing the bytes
  the response cache already compressed; never the admin (BREACH).

This is Django's ``ConditionalGetMiddleware`` and ``GZipMiddleware`` in one
pass, with deterministic compression (Django adds random bytes against BREACH,
which would defeat storing the compressed body once).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers

from enterprise.http import (
    GZIP_MIN_BYTES,
    TENANT_CACHE_CONTROL,
    accepts_gzip,
    gzip_bytes,
    is_not_modified,
    request_id,
    strong_etag,
)

_KEEP_ON_304 = (
    "ETag",
    "Last-Modified",
    "Cache-Control",
    "Vary",
    "X-Cache",
    "Content-Location",
    "Expires",
)


class HttpEfficiencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = request_id(request.META.get("HTTP_X_REQUEST_ID", ""))
        request.request_id = rid
        response = self.get_response(request)
        response["X-Request-ID"] = rid
        if getattr(response, "final", False):
            return response
        is_api = request.path_info.startswith("/api/")
        if is_api:
            response.setdefault("Cache-Control", TENANT_CACHE_CONTROL)
            patch_vary_headers(response, ("Accept-Encoding", "Authorization"))
        writable = not response.streaming and response.status_code in (200, 201)
        if is_api and writable and not response.has_header("ETag"):
            # Write responses carry the new representation: its ETag is what the next
            # GET answers, so a client can chain If-Match edits without re-reading.
            response["ETag"] = strong_etag(response.content)
        if (
            request.method in ("GET", "HEAD")
            and response.status_code == 200
            and not response.streaming
            and is_not_modified(
                if_none_match=request.META.get("HTTP_IF_NONE_MATCH", ""),
                if_modified_since=request.META.get("HTTP_IF_MODIFIED_SINCE", ""),
                etag=response.get("ETag"),
                last_modified=response.get("Last-Modified"),
            )
        ):
            return self._not_modified(response)
        if is_api and self._compressible(request, response):
            compressed = getattr(response, "gzipped_body", None) or gzip_bytes(response.content)
            response.content = compressed
            response["Content-Encoding"] = "gzip"
            response["Content-Length"] = str(len(compressed))
        elif not response.streaming and not response.has_header("Content-Length"):
            # Answers made before CommonMiddleware (the guard's 503, the body limit's 413)
            # would otherwise go out chunked: a length lets every client frame and reuse
            # the connection.
            response["Content-Length"] = str(len(response.content))
        return response

    @staticmethod
    def _compressible(request: HttpRequest, response: HttpResponse) -> bool:
        return (
            not response.streaming
            and not response.has_header("Content-Encoding")
            and len(response.content) >= GZIP_MIN_BYTES
            and accepts_gzip(request.META.get("HTTP_ACCEPT_ENCODING", ""))
        )

    @staticmethod
    def _not_modified(response: HttpResponse) -> HttpResponse:
        not_modified = HttpResponseNotModified()
        for name in (*_KEEP_ON_304, "X-Request-ID"):
            if response.has_header(name):
                not_modified[name] = response[name]
        return not_modified
