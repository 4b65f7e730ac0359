"""RFC 9457 problem details: every error answer, mapped once here.

Domain errors, request validation, unknown routes, oversized or malformed bodies all leave as
`application/problem+json` with `type`, `title`, `status`, `detail`, and a `field` naming
the offending input where there is one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from omnistock.api.schemas.common import PATTERN_SENTENCES
from omnistock.db import Outage, commit_in_doubt, outage_of
from omnistock.domain.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    OmnistockError,
    Unauthorized,
)

log = logging.getLogger("omnistock.api")

PROBLEM_JSON = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    500: "Internal server error",
    503: "Service unavailable",
    507: "Insufficient storage",
}


_DESCRIPTIONS = {
    400: "Malformed body (not JSON, not UTF-8, bad Content-Length)",
    401: "No API key, or an unknown one",
    403: "The API key lacks the scope",
    404: "Not found",
    409: "Refused by the current state (e.g. stock-conflict with the position)",
    413: "Request body too large",
    415: "The body is not JSON",
    422: "Invalid input (the field is named) or Idempotency-Key reused with another body",
    503: "The database is unavailable or busy (restarting, out of reach): retry after the"
    " seconds in Retry-After; a write that lost its connection while committing says so"
    " (`in_doubt`: repeat it with the same Idempotency-Key)",
    507: "The database has no room left to write (storage-full): nothing was changed; writes"
    " succeed again once space is freed",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI answers for these error statuses, as problem details (the `Problem` component,
    which `component_schemas` describes)."""
    schema = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    return {status: {"description": _DESCRIPTIONS[status], **schema} for status in statuses}


def component_schemas() -> dict[str, Any]:
    """`Problem` and the models it nests, as OpenAPI components that refer to one another."""
    from omnistock.api.schemas.problems import Problem

    schema = Problem.model_json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    nested: dict[str, Any] = schema.pop("$defs", {})
    return {"Problem": schema, **nested}


def problem_body(status: int, code: str, detail: str, **extensions: Any) -> dict[str, Any]:
    return {
        "type": f"urn:omnistock:problem:{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **extensions,
    }


def problem(status: int, code: str, detail: str, **extensions: Any) -> JSONResponse:
    return _answer(status, problem_body(status, code, detail, **extensions))


def _answer(status: int, body: dict[str, Any]) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "1"}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(error: OmnistockError) -> int:
    if isinstance(error, Unauthorized):
        return 401
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, InvalidInput | IdempotencyKeyReused):
        return 422
    if isinstance(error, Conflict):
        return 409
    return 400


#: Tagged unions in request bodies: pydantic puts the tag in an error's location
#: (`delivery.ship.address`), which names no field the client sent.
_UNION_TAGS = {"delivery": {"ship", "pickup", "in_store", "pickup,in_store"}}


def field_name(loc: tuple[int | str, ...], *, discriminator: str | None = None) -> str:
    """('body', 'lines', 0, 'sku') -> 'lines[0].sku'; ('query', 'limit') -> 'limit'; a
    tagged union's tag is left out, and a missing or unknown tag names the discriminator."""
    parts = list(loc[1:]) if loc and loc[0] in {"body", "query", "path", "header"} else list(loc)
    parts = [
        part
        for i, part in enumerate(parts)
        if not (i and part in _UNION_TAGS.get(str(parts[i - 1]), ()))
    ]
    if discriminator:
        parts.append(discriminator.strip("'\""))
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or str(loc[0] if loc else "body")


def as_answered(error: OmnistockError, path_params: Mapping[str, Any]) -> OmnistockError:
    """The error as the client is told it: a resource the request's *path* names that does
    not exist is a 404; one named anywhere else (a body, a query) is a value that fails
    validation, answered like any other: 422 invalid-request naming the field."""
    if isinstance(error, NotFound) and error.field and error.field not in path_params:
        return _NamesNothing(error, error.field)
    return error


class _NamesNothing(InvalidInput):
    """A key in a body or a query that names nothing: a failed validation, which still says
    what it looked for (`resource`, `key`), as a 404 would."""

    def __init__(self, error: NotFound, field: str) -> None:
        super().__init__(field, f"no {error.resource} {error.key!r} exists")
        self.resource, self.key = error.resource, error.key

    def extensions(self) -> dict[str, Any]:
        return {**super().extensions(), "resource": self.resource, "key": self.key}


def refusal(error: OmnistockError, path_params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and problem body that answer `error`."""
    told = as_answered(error, path_params)
    status = status_of(told)
    return status, problem_body(status, told.code, told.detail, **told.extensions())


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, OmnistockError)
    return _answer(*refusal(error, request.path_params))


def _message(error: Any) -> str:
    """pydantic's message, in words where it would say less than a person needs, or show a
    regex: an unknown field, and a string of the wrong form."""
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "not a field of this request: check its spelling, or leave it out"
    if kind == "string_pattern_mismatch":
        pattern = str(error.get("ctx", {}).get("pattern", ""))
        return PATTERN_SENTENCES.get(pattern, "has a character or a form not allowed here")
    return str(error.get("msg", ""))


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = []
    for e in error.errors():
        if e.get("type") == "json_invalid":
            return problem(
                400, "malformed-json", "the request body is not valid JSON", field="body"
            )
        tagged = e.get("type") in {"union_tag_invalid", "union_tag_not_found"}
        discriminator = str(e.get("ctx", {}).get("discriminator", "")) if tagged else None
        field = field_name(tuple(e.get("loc", ())), discriminator=discriminator)
        errors.append({"field": field, "message": _message(e)})
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "invalid-request", detail, field=first["field"], errors=errors)


def _allowed_methods(request: Request) -> str:
    """Every method the API documents on this path, from its OpenAPI description, where a
    concrete path wins over templated ones as OpenAPI matches them (`/v1/stock/movements`
    is not `/v1/stock/{sku}`)."""
    paths = request.app.openapi()["paths"]
    path = request.url.path
    if path in paths:
        return ", ".join(sorted(m.upper() for m in paths[path]))
    methods: set[str] = set()
    for template, operations in paths.items():
        if compile_path(template)[0].match(path):
            methods |= {m.upper() for m in operations}
    return ", ".join(sorted(methods))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    codes = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized", 403: "forbidden"}
    code = codes.get(error.status_code, "bad-request")
    detail = error.detail if isinstance(error.detail, str) else _TITLES.get(error.status_code, "")
    if error.status_code == 400:
        detail = "the request body could not be read as JSON"
        return problem(400, "malformed-body", detail, field="body")
    answer = problem(error.status_code, code, detail)
    if error.status_code == 405:
        answer.headers["Allow"] = _allowed_methods(request)
    return answer


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    """An outage of the database is a 503 (or a 507, disk full) to retry; any other
    database error is a bug: a logged 500."""
    assert isinstance(error, DBAPIError)
    outage = outage_of(error)
    where = f"{request.method} {request.url.path}"
    if outage is Outage.STORAGE_FULL:
        log.error("database storage full on %s: %s", where, error.orig)
        detail = "the database has no room left to write; nothing was changed"
        return problem(507, "storage-full", detail)
    if outage is Outage.UNAVAILABLE:
        log.warning("database unavailable on %s: %s", where, error.orig)
        if commit_in_doubt(error):
            detail = (
                "the database went away while committing: the change may or may not have been"
                " made; repeat the request with the same Idempotency-Key to be sure"
            )
            return problem(503, "database-unavailable", detail, in_doubt=True)
        detail = "the database is unavailable or busy; nothing was changed, try again"
        return problem(503, "database-unavailable", detail)
    return await _unexpected(request, error)


def internal_error() -> JSONResponse:
    """The answer to an error nobody foresaw (a bug), logged where it is caught."""
    return problem(500, "internal-error", "something went wrong on our side; it was logged")


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return internal_error()


def install(app: FastAPI) -> None:
    app.add_exception_handler(OmnistockError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
