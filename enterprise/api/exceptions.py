"""One JSON error shape for every error response.

``{"error": {"code": "...", "message": "...", "fields": {...}}}`` for 4xx and
5xx alike, whether the error comes from DRF, a service, the database or the
URL conf. ``fields`` is keyed by the camelCase names clients send.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from enterprise.errors import ConflictError
from enterprise.resilience.database import (
    database_error_kind,
    database_error_response,
    mark_database_failure,
)

logger = logging.getLogger("enterprise.api")


class PreconditionFailed(exceptions.APIException):
    """412: the ``If-Match`` ETag is not the object's current one; carries the current ETag."""

    status_code = 412
    default_detail = "The object changed since you read it; fetch it again and retry with its ETag."
    default_code = "precondition_failed"

    def __init__(self, current_etag: str) -> None:
        super().__init__()
        self.current_etag = current_etag


class PreconditionRequired(exceptions.APIException):
    """428: this deployment requires ``If-Match`` on writes (``REQUIRE_IF_MATCH``)."""

    status_code = 428
    default_detail = "This write needs an If-Match header with the ETag you read."
    default_code = "precondition_required"


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten_messages(detail: Any) -> Any:
    """DRF ``ErrorDetail`` trees to plain strings, keeping the nesting of nested serializers."""
    if isinstance(detail, dict):
        return {str(key): _flatten_messages(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [str(item) for item in detail]
        return [_flatten_messages(item) for item in detail]
    return [str(detail)]


def _django_validation_fields(exc: DjangoValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        return {
            field: [str(m) for e in errors for m in e.messages]
            for field, errors in exc.error_dict.items()
        }
    return {"nonFieldErrors": [str(m) for m in exc.messages]}


_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "malformed_request",
    PreconditionFailed: "precondition_failed",
    PreconditionRequired: "precondition_required",
}


def _api_exception_response(exc: exceptions.APIException) -> Response:
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if getattr(exc, "current_etag", None):
        headers["ETag"] = exc.current_etag
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_messages(exc.detail)
        if not isinstance(fields, dict):
            fields = {"nonFieldErrors": fields}
        body = error_body("validation_error", "The request has invalid fields.", fields)
    else:
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
        if code is None:
            code = exc.default_code if isinstance(exc.default_code, str) else "error"
        message = (
            str(exc.detail) if not isinstance(exc.detail, (dict, list)) else str(exc.default_detail)
        )
        body = error_body(code, message)
    return Response(body, status=exc.status_code, headers=headers)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """DRF ``EXCEPTION_HANDLER``: map every known failure to the shared error shape.

    Returns ``None`` for unexpected exceptions so Django's ``handler500`` (also
    JSON) answers and the error is logged with its traceback.
    """
    if isinstance(exc, exceptions.APIException):
        set_rollback()
        return _api_exception_response(exc)
    kind = database_error_kind(exc)
    if kind is not None:  # 503 (breaker failure, stale copy for GETs) or 504
        set_rollback()
        request = context.get("request")
        mark_database_failure(getattr(request, "_request", None), kind)
        logger.warning("database %s in %s: %s", kind, type(context.get("view")).__name__, exc)
        return database_error_response(kind)
    if isinstance(exc, Http404):
        return Response(error_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoPermissionDenied):
        return _api_exception_response(exceptions.PermissionDenied())
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body(
                "payload_too_large", "The request body is larger than this service accepts."
            ),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", "The request was rejected."), status=400)
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return Response(
            error_body(
                "validation_error",
                "The request has invalid fields.",
                _django_validation_fields(exc),
            ),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ConflictError):
        set_rollback()
        return Response(
            error_body("conflict", exc.message, exc.fields), status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, IntegrityError):
        set_rollback()
        logger.info("integrity error mapped to 409: %s", type(exc).__name__)
        return Response(
            error_body("conflict", "The change conflicts with existing data."),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DataError):
        set_rollback()
        return Response(
            error_body("invalid_data", "A value is not acceptable to the database."), status=400
        )
    return None


def _json_error(request: HttpRequest, status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(request, 400, "bad_request", "The request was rejected.")


def json_permission_denied(
    request: HttpRequest, exception: Exception | None = None
) -> JsonResponse:
    return _json_error(
        request, 403, "permission_denied", "You do not have permission to access this resource."
    )


@csrf_exempt  # the API's catch-all: an unknown path is a 404 for every method, never a CSRF 403
def json_page_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(request, 404, "not_found", "Not found.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: the JSON error shape under ``/api/``, Django's page elsewhere (admin)."""
    if request.path.startswith("/api/"):
        return _json_error(request, 403, "csrf_failed", "CSRF verification failed.")
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return _json_error(request, 500, "server_error", "The server failed to answer this request.")
