"""Every error leaves the API as RFC 9457 problem+json; this is the one place that says how.

Registry errors carry their own status and slug. Litestar's own errors (unknown route,
wrong method, body too large, a body that does not fit the schema) are translated here
too, and a body that does not fit is re-read field by field so the answer names every
bad field, not just the first.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.utils.scope.state import ScopeState

from schemas.errors import FieldError, InvalidInput, RegistryError
from schemas.validation import parse

__all__ = ["PROBLEM_JSON", "Problem", "exception_handlers"]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("registry.api")


class ProblemField(msgspec.Struct, frozen=True):
    field: str
    pointer: str  # JSON Pointer (RFC 6901) into the request body
    reason: str


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemField] = msgspec.field(default_factory=list)
    # When `errors` lists only the first (a batch: MAX_LISTED_ERRORS, and never past
    # MAX_ANSWER_BYTES): how many errors there are, and in how many of the batch's items.
    total_errors: int | None = None
    invalid_items: int | None = None


# A problem answer stays below 1 MiB whatever the request held: the errors past this many
# bytes (of their JSON) are counted in total_errors, not listed.
MAX_ANSWER_BYTES = 1024 * 1024 - 16 * 1024


def _pointer(field: str) -> str:
    if not field or field.startswith("row "):  # a cell of a lab's file (row 7, column "X"): not JSON
        return ""
    parts = field.replace("[", ".").replace("]", "").split(".")
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts if p)


def problem_response(request: Request[Any, Any, Any], exc: RegistryError) -> Response[Problem]:
    errors = exc.errors if isinstance(exc, InvalidInput) else []
    listed = _within_budget([ProblemField(field=e.field, pointer=_pointer(e.field), reason=e.reason) for e in errors])
    total = exc.total_errors if isinstance(exc, InvalidInput) else None
    problem = Problem(
        type=f"/problems/{exc.slug}",
        title=exc.title,
        status=exc.status,
        detail=exc.detail,
        instance=request.url.path,
        errors=listed,
        total_errors=len(errors) if total is None and len(listed) < len(errors) else total,
        invalid_items=exc.invalid_items if isinstance(exc, InvalidInput) else None,
    )
    headers = {"WWW-Authenticate": 'Bearer realm="registry"'} if exc.status == 401 else None
    return Response(problem, status_code=exc.status, media_type=PROBLEM_JSON, headers=headers)


def _within_budget(fields: list[ProblemField]) -> list[ProblemField]:
    """The first errors whose JSON fits in MAX_ANSWER_BYTES."""
    used = 0
    for count, field in enumerate(fields):
        used += len(msgspec.json.encode(field)) + 1
        if used > MAX_ANSWER_BYTES:
            return fields[:count]
    return fields


def _registry_error(request: Request[Any, Any, Any], exc: RegistryError) -> Response[Problem]:
    if exc.status >= 500:
        log.error("request %s failed: %s", request.url.path, type(exc).__name__)
    return problem_response(request, exc)


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    return problem_response(request, _explain(request, exc))


def _explain(request: Request[Any, Any, Any], exc: ValidationException) -> InvalidInput:
    """Re-read the body against the handler's schema to list every bad field."""
    body = ScopeState.from_scope(request.scope).json
    data_field = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data_field is not None and isinstance(body, (dict, list)):
        try:
            parse(data_field.annotation, body)
        except InvalidInput as full:
            return full
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        source = item.get("source", "") if isinstance(item, dict) else ""
        source = getattr(source, "value", source)  # Litestar's ParamType, e.g. "query"
        key = str(item.get("key", "")) if isinstance(item, dict) else ""
        message = str(item.get("message", exc.detail)) if isinstance(item, dict) else str(item)
        errors.append(FieldError(field=key if source == "body" else f"{source}:{key}".strip(":"), reason=message))
    if not errors:
        errors.append(FieldError(field="", reason=exc.detail or "the request does not fit the schema"))
    return InvalidInput(errors)


_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
}


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
    detail = exc.detail if exc.detail and exc.detail != title else title
    if isinstance(exc.__cause__, SerializationException):  # the body did not decode: "\n", "{", "nul"...
        error = InvalidInput([FieldError(field="", reason="body is not valid JSON")], detail="body is not valid JSON")
        return problem_response(request, error)
    problem = Problem(
        type=f"/problems/{slug}",
        title=title,
        status=exc.status_code,
        detail=detail,
        instance=request.url.path,
    )
    return Response(problem, status_code=exc.status_code, media_type=PROBLEM_JSON, headers=exc.headers)


def _too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Problem]:
    """msgspec refuses JSON nested deeper than Python's recursion allows: a client's error."""
    error = InvalidInput(
        [FieldError(field="", reason="the body is nested too deeply")], detail="body nested too deeply"
    )
    return problem_response(request, error)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    # Log the type only: a message or traceback may carry personal data from the request.
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    problem = Problem(
        type="/problems/internal-error",
        title="Internal error",
        status=500,
        detail="the registry could not complete the request; nothing was stored",
        instance=request.url.path,
    )
    return Response(problem, status_code=500, media_type=PROBLEM_JSON)


exception_handlers: dict[Any, Any] = {
    RegistryError: _registry_error,
    ValidationException: _validation,
    HTTPException: _http,
    RecursionError: _too_deep,
    Exception: _unexpected,
}
