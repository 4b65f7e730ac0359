"""ASGI middleware at the edge: what every request goes through before and after its route."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnistock.api.metrics import Metrics
from omnistock.api.problems import PROBLEM_JSON, internal_error, problem
from omnistock.logs import REQUESTS

#: An incoming X-Request-ID kept as the request's id: a token, not free text.
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:+/=~-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: The route label of a request that matched no route (a 404): never the raw path.
UNMATCHED = "unmatched"
_log = logging.getLogger(REQUESTS)


class RequestTelemetry:
    """Give every request an id, say it in the answer's `X-Request-ID`, and count and time it
    per route template (`metrics`) and log it as one line (`log_requests`) just before the
    answer's last part leaves, so that a client holding the answer finds it counted.

    The id is the client's `X-Request-ID` when it is a sane token (1 to 128 letters, digits
    and `._:+/=~-`), else a new one. This middleware is the outermost of the app's, so
    BodyGuard's refusals carry the id too; and when a route raises before answering, it
    answers the 500 itself (with the id), the error handler then only logging the error.
    The key id is the caller's, which the `scope` dependency leaves in the request's state.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics | None, log_requests: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests
        self.templates = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        header = (b"x-request-id", request_id.encode())
        status = 0
        counted = False

        async def answer(message: Message) -> None:
            nonlocal status, counted
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            elif not message.get("more_body", False):  # the last part: counted before it leaves
                counted = True
                self._answered(scope, request_id, status, time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, answer)
        except Exception:
            if status == 0:
                await internal_error()(scope, receive, answer)
            raise
        finally:
            if status and not counted:  # the answer broke off (no status: the client left)
                self._answered(scope, request_id, status, time.perf_counter() - started)

    def _answered(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        if self.metrics is None and not self.log_requests:
            return
        route = self.templates.of(scope)
        if self.metrics is not None:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.metrics.request_answered(method, route or UNMATCHED, status, seconds)
        if self.log_requests:
            fields = {
                "request_id": request_id,
                "method": scope["method"],
                "route": route,
                "status": status,
                "ms": round(seconds * 1000, 3),
                "key_id": scope.get("state", {}).get("key_id"),
            }
            _log.info("%s %s %d", scope["method"], route, status, extra={"request": fields})


class RouteTemplates:
    """The path template of a request's route (`/v1/orders/{id}`), never its raw path.

    The route the router picked is in the scope, but an included router's route knows only its
    own part of the path (`/orders/{id}`, without the `/v1` it was included under), and a
    request a guard refused before routing (BodyGuard's 413) has none. So the templates come
    from the list `create_app` keeps in `app.state.route_templates` (every route's path,
    whole; not the OpenAPI document, which takes a second to build), matched as OpenAPI's
    readers match them: a concrete path before templated ones. Each route found is
    remembered with its template, so a request costs one regular expression once the route
    has been seen.
    """

    def __init__(self) -> None:
        self._table: list[tuple[re.Pattern[str], str]] | None = None
        self._seen: dict[int, tuple[re.Pattern[str], str]] = {}

    def of(self, scope: Scope) -> str | None:
        path: str = scope["path"]
        route = scope.get("route")
        seen = self._seen.get(id(route))
        if seen is not None and seen[0].fullmatch(path):
            return seen[1]
        suffix = getattr(route, "path_format", None) or ""
        for regex, template in self._templates(scope):
            if template.endswith(suffix) and regex.fullmatch(path):
                if route is not None:
                    self._seen[id(route)] = (regex, template)
                return template
        return suffix or None

    def _templates(self, scope: Scope) -> list[tuple[re.Pattern[str], str]]:
        if self._table is None:
            templates = dict.fromkeys(scope["app"].state.route_templates)
            ordered = sorted((t for t in templates if t), key=lambda t: "{" in t)
            self._table = [(compile_path(t)[0], t) for t in ordered]
        return self._table


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if _SANE_REQUEST_ID.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return uuid.uuid4().hex


class BodyGuard:
    """Read each request body once, up to `max_bytes`, and refuse what no route should see.

    - over the limit, whether declared in Content-Length or streamed: 413;
    - a Content-Length that is not a number: 400;
    - a body that is not JSON by its Content-Type: 415;
    - a JSON body that is not UTF-8 (RFC 8259 section 8.1; Python's json would otherwise
      accept UTF-16 and UTF-32 too): 400.

    The body is then handed on whole, so no route ever sees a partial one.

    Routes under `streamed` (the imports) read their bodies as a stream themselves, and
    count them against `max_streamed_bytes`: here only a Content-Length above that is refused.
    The console's forms (`forms`) send `application/x-www-form-urlencoded` bodies instead of
    JSON, within the same limit.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        streamed: tuple[str, ...] = (),
        max_streamed_bytes: int = 0,
        forms: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed = streamed
        self.max_streamed_bytes = max_streamed_bytes
        self.forms = forms

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and not declared.isdigit():
            await _refuse(send, 400, "malformed-body", "Content-Length is not a number")
            return
        if str(scope.get("path", "")).startswith(self.streamed) and self.streamed:
            if declared is not None and int(declared) > self.max_streamed_bytes:
                await self._too_large(send, self.max_streamed_bytes)
                return
            await self.app(scope, receive, send)
            return
        if declared is not None and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"")
        if self.forms and str(scope.get("path", "")).startswith(self.forms):
            if body and not _is_form(content_type):
                detail = "send the form as application/x-www-form-urlencoded"
                await _refuse(send, 415, "unsupported-media-type", detail)
                return
        elif body and not _is_json(content_type):
            detail = "send the body as JSON, with Content-Type: application/json"
            await _refuse(send, 415, "unsupported-media-type", detail)
            return
        if body and not _is_utf8(body):
            await _refuse(send, 400, "malformed-body", "a JSON body must be encoded in UTF-8")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, limit: int | None = None) -> None:
        detail = f"request bodies are limited to {limit or self.max_bytes} bytes"
        await _refuse(send, 413, "body-too-large", detail)


def _is_json(content_type: bytes) -> bool:
    media_type = content_type.split(b";", 1)[0].strip().lower()
    return media_type == b"application/json" or media_type.endswith(b"+json")


def _is_form(content_type: bytes) -> bool:
    media_type = content_type.split(b";", 1)[0].strip().lower()
    return media_type == b"application/x-www-form-urlencoded"


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    # UTF-16/32 text of ASCII characters decodes as UTF-8 too, but carries NUL bytes,
    # which a UTF-8 JSON text can only hold escaped (\u0000), never raw.
    return b"\x00" not in body


async def _refuse(send: Send, status: int, code: str, detail: str) -> None:
    body = bytes(problem(status, code, detail, field="body").body)  # encoded as every problem
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
