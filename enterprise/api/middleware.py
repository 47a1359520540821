"""Request guards that must run before any view or parser."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from enterprise.api.exceptions import error_body


class RequestBodyLimitMiddleware:
    """Refuse a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` with a JSON 413 before reading it.

    Chunked bodies without a length are still capped by Django when read
    (``RequestDataTooBig``), which the API exception handler maps to 413 too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw_length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            return JsonResponse(
                error_body("bad_request", "Content-Length is not a number."), status=400
            )
        if limit is not None and length > limit:
            return JsonResponse(
                error_body("payload_too_large", f"The request body exceeds {limit} bytes."),
                status=413,
            )
        return self.get_response(request)
