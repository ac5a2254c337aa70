"""The OpenAPI document tells the whole truth about the answers, so that generated clients
and fuzzers can rely on it.

Litestar infers each operation's success response and the schemas from the handlers, and
documents a 400 with its own error body that the registry never sends. `describe_errors`
rewrites the document once, at start-up: it drops that 400, declares on every operation the
errors the registry answers with (by the rules in `_ERRORS`), each as RFC 9457
application/problem+json with the `Problem` schema of problems.py, and marks each request
body whose Struct refuses unknown fields with `additionalProperties: false`.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from litestar import Litestar
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    PathItem,
    Reference,
    Schema,
)
from litestar.routes import HTTPRoute

from registry.api.problems import PROBLEM_JSON

__all__ = ["describe_errors"]

API = "/api/v1"
_STRING = Schema(type=OpenAPIType.STRING)
_PROBLEM_FIELD = Schema(
    type=OpenAPIType.OBJECT,
    required=["field", "pointer", "reason"],
    properties={
        "field": Schema(type=OpenAPIType.STRING, description="the bad field, e.g. items[3].bsn or query:limit"),
        "pointer": Schema(type=OpenAPIType.STRING, description="JSON Pointer (RFC 6901) to it"),
        "reason": _STRING,
    },
)
_PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    description="RFC 9457 problem details",
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="the problem type, e.g. /problems/invalid-input"),
        "title": _STRING,
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": _STRING,
        "instance": Schema(type=OpenAPIType.STRING, description="the request path"),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Reference(ref="#/components/schemas/ProblemField"),
            description="every bad field (invalid input only); of a batch, the first 1,000 in item order",
        ),
        "total_errors": Schema(
            type=OpenAPIType.INTEGER, description="how many errors there are, when `errors` lists only the first"
        ),
        "invalid_items": Schema(type=OpenAPIType.INTEGER, description="a batch: how many of its items are bad"),
    },
)

Rule = Callable[[str, str, Operation], bool]  # (method, path, operation) -> is the status possible


def _api(method: str, path: str, operation: Operation) -> bool:
    return path.startswith(f"{API}/")


def _names_a_record(method: str, path: str, operation: Operation) -> bool:
    """A record named in the path, or a worker's own view when no record of them exists."""
    return _api(method, path, operation) and ("{" in path or f"{path}/".startswith(f"{API}/me/"))


def _writes(method: str, path: str, operation: Operation) -> bool:
    return _api(method, path, operation) and method != "get"


def _has_body(method: str, path: str, operation: Operation) -> bool:
    return operation.request_body is not None


_ERRORS: dict[int, tuple[str, Rule]] = {
    401: ("No valid API key or token in `Authorization: Bearer <credential>`", _api),
    403: ("The caller's role, grant, purpose (X-Purpose) or employer (X-Employer) does not allow this", _api),
    404: ("No such record, or none the caller may see", _names_a_record),
    409: ("The Idempotency-Key was used for another request, or the change clashes with stored data", _writes),
    413: ("The body is larger than this operation accepts", _has_body),
    422: ("Invalid input: `errors` names each bad field of the body, the query or a header", _api),
    429: ("Too many requests: wait a moment and try again", _api),
}

# Headers the registry always sends with these errors (problems.py, rate_limits.py).
_HEADERS: dict[int, dict[str, OpenAPIHeader | Reference]] = {
    401: {"WWW-Authenticate": OpenAPIHeader(schema=_STRING, required=True, description='Bearer realm="registry"')},
    429: {
        "Retry-After": OpenAPIHeader(
            schema=Schema(type=OpenAPIType.INTEGER), required=True, description="seconds until a request fits again"
        )
    },
}


def describe_errors(app: Litestar) -> None:
    """Rewrite the app's OpenAPI document in place (an on_startup hook, before it is served)."""
    document = app.openapi_schema
    schemas = document.components.schemas
    schemas["Problem"] = _PROBLEM
    schemas["ProblemField"] = _PROBLEM_FIELD
    problem = {PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))}
    for path, item in (document.paths or {}).items():
        for method, operation in _operations(item):
            responses = operation.responses or {}
            responses.pop("400", None)  # Litestar's ValidationException body: we answer 422 problem+json
            for status, (description, applies) in _ERRORS.items():
                if applies(method, path, operation):
                    responses[str(status)] = OpenAPIResponse(
                        description=description, content=problem, headers=_HEADERS.get(status)
                    )
            operation.responses = dict(sorted(responses.items()))
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                data = handler.parsed_fn_signature.parameters.get("data")
                if data is not None:
                    _close(schemas, data.annotation)


def _operations(item: PathItem) -> list[tuple[str, Operation]]:
    methods = ("get", "put", "post", "delete", "patch")
    return [(m, op) for m in methods if isinstance(op := getattr(item, m), Operation)]


def _close(schemas: dict[str, Schema], annotation: object) -> None:
    """additionalProperties: false on the schema of a request Struct that forbids unknown fields."""
    info = msgspec.inspect.type_info(annotation)
    if isinstance(info, msgspec.inspect.StructType) and info.forbid_unknown_fields:
        schemas[info.cls.__name__].additional_properties = False
