"""OpenAPI (drf-spectacular) extensions for the project's own API plumbing."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import is_serializer
from drf_spectacular.utils import OpenApiParameter

from enterprise.api.serializers import reader_for


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "enterprise.api.authentication.JWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


_ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}

_DESCRIPTIONS = {
    "304": "Not modified (the If-None-Match ETag is current).",
    "400": "Invalid parameters or body; `error.fields` names each offending field.",
    "401": "Missing, malformed, expired or wrongly signed bearer token.",
    "403": "The caller's role may not do this.",
    "404": "No such object in the caller's tenant (malformed ids included).",
    "409": "Conflicts with existing data (uniqueness) or an Idempotency-Key still in flight.",
    "412": "If-Match does not match the current ETag (the current one is in `ETag`).",
    "413": "Request body larger than the configured limit.",
    "415": "Request body is not JSON.",
    "422": "Idempotency-Key reused with a different request.",
    "428": "If-Match is required by this deployment (`REQUIRE_IF_MATCH`).",
    "429": "Rate limit exceeded; retry after `Retry-After` seconds.",
    "503": "Database unavailable (circuit breaker open); retry after `Retry-After`.",
    "504": "The request exceeded its time budget.",
}


class EnterpriseAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus what the API really answers.

    Every operation documents the error statuses it can return, each with the
    shared error body; ``DELETE`` answers 200 with the archived/ended object
    (never 204); the conditional-request and idempotency headers are listed.
    """

    def get_response_serializers(self) -> Any:
        serializers = super().get_response_serializers()
        if self.method == "DELETE" and is_serializer(serializers):
            return {200: serializers}
        return serializers

    def _error_codes(self) -> list[str]:
        public = (
            not self.view.get_authenticators() if hasattr(self.view, "get_authenticators") else True
        )
        codes = {"400", "429", "503", "504"}
        if not public:
            codes |= {"401", "403"}
        if "{" in self.path:
            codes.add("404")
        if self.method in ("POST", "PUT", "PATCH"):
            codes |= {"409", "413", "415"}
        if self._is_create_operation():
            codes |= {"409", "422"}
        if self.method in ("PUT", "PATCH", "DELETE"):
            codes |= {"412", "428"}
        if self.method == "GET" and not public:
            codes.add("304")
        return sorted(codes)

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code in responses:
                continue
            responses[code] = {"description": _DESCRIPTIONS[code]}
            if code != "304":
                responses[code]["content"] = {"application/json": {"schema": _ERROR_SCHEMA}}
        return responses

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._is_create_operation() and hasattr(self.view, "cache_resource"):
            parameters.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    str,
                    OpenApiParameter.HEADER,
                    description=(
                        "Makes a retried create safe: the same key and body replay the first "
                        "answer (Idempotent-Replayed: true) and create nothing."
                    ),
                    pattern=r"^[\x21-\x7e]{1,255}$",
                )
            )
        if getattr(self.view, "action", None) in ("list", "retrieve") and hasattr(
            self.view, "cache_resource"
        ):
            names = "|".join(reader_for(type(self.view).serializer_class, ()).fields)
            parameters.append(
                OpenApiParameter(
                    "fields",
                    str,
                    OpenApiParameter.QUERY,
                    description=(
                        "Comma-separated field names: only those (and id) are returned and "
                        "loaded; an unknown name is a 400 listing the allowed ones."
                    ),
                    pattern=rf"^({names})(,({names}))*$",
                )
            )
        if self.method in ("PUT", "PATCH", "DELETE") and hasattr(self.view, "cache_resource"):
            parameters.append(
                OpenApiParameter(
                    "If-Match",
                    str,
                    OpenApiParameter.HEADER,
                    description="The ETag you read: the write applies only if the object is unchanged (else 412).",
                )
            )
        return parameters


def blank_strings_any_of(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular writes ``allow_blank`` as ``oneOf: [<field>, {maxLength: 0}]``.

    When the field's own schema also accepts ``""`` (a pattern such as
    ``^([A-Z]{2})?$``) both branches match and ``oneOf`` rejects the very value
    the API returns; ``anyOf`` says what is meant.
    """

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            one_of = node.get("oneOf")
            if (
                isinstance(one_of, list)
                and len(one_of) == 2
                and one_of[1] == {"type": "string", "maxLength": 0}
            ):
                node["anyOf"] = node.pop("oneOf")
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(result)
    return result


def field_selection_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """With ``?fields=`` a list or detail read answers only the fields asked for (``id``
    always): its 200 body is the full object or that subset, each ``<Name>Fields``."""
    components = result.get("components", {}).get("schemas", {})

    def full_or_selected(ref: str) -> dict[str, Any]:
        name = ref.rsplit("/", 1)[1]
        selected = f"{name}Fields"
        if selected not in components:
            components[selected] = {
                "type": "object",
                "description": f"{name} with only the fields asked for in ?fields= (id always).",
                "properties": components[name]["properties"],
                "required": ["id"],
            }
        return {"anyOf": [{"$ref": ref}, {"$ref": f"#/components/schemas/{selected}"}]}

    for operations in result.get("paths", {}).values():
        read = operations.get("get")
        if not read or not any(
            p.get("in") == "query" and p.get("name") == "fields" for p in read.get("parameters", [])
        ):
            continue
        content = read["responses"]["200"]["content"]["application/json"]
        ref = content["schema"].get("$ref")
        if not ref:
            continue
        target = components[ref.rsplit("/", 1)[1]]
        results = target.get("properties", {}).get("results")
        if results is not None:  # a page of the list (its component serves this list only)
            if "$ref" in results.get("items", {}):
                results["items"] = full_or_selected(results["items"]["$ref"])
        else:
            content["schema"] = full_or_selected(ref)
    return result
