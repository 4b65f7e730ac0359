"""ASGI middleware that guards the edge before any route runs."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnistock.api.problems import PROBLEM_JSON, problem


class BodyGuard:
    """Read each request body once, up to `max_bytes`, and refuse what no route should see.

    - over the limit, whether declared in Content-Length or streamed: 413;
    - a Content-Length that is not a number: 400;
    - a body that is not JSON by its Content-Type: 415;
    - a JSON body that is not UTF-8 (RFC 8259 section 8.1; Python's json would otherwise
      accept UTF-16 and UTF-32 too): 400.

    The body is then handed on whole, so no route ever sees a partial one.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and not declared.isdigit():
            await _refuse(send, 400, "malformed-body", "Content-Length is not a number")
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
        if body and not _is_json(headers.get(b"content-type", b"")):
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

    async def _too_large(self, send: Send) -> None:
        detail = f"request bodies are limited to {self.max_bytes} bytes"
        await _refuse(send, 413, "body-too-large", detail)


def _is_json(content_type: bytes) -> bool:
    media_type = content_type.split(b";", 1)[0].strip().lower()
    return media_type == b"application/json" or media_type.endswith(b"+json")


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
