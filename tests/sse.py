"""Reading Server-Sent Events in tests: a live stream from a real server, frame by frame.

Importable from every test module (pytest puts this folder on sys.path with its conftest).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI

from servers import STARTUP_SECONDS, free_port

#: A bound against hangs, not a measurement: the longest a test waits for one frame.
FRAME_SECONDS = 10.0


@dataclass(frozen=True)
class Frame:
    """One event of the stream, or a comment (`comment` set, the rest None)."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    comment: str | None = None


class Stream:
    """The frames of an open `text/event-stream` answer, one at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()

    def next(self) -> Frame:
        fields: dict[str, str] = {}
        for line in self._lines:
            if line == "":
                if fields:
                    return Frame(**fields)
                continue
            name, _, value = line.partition(":")
            name = name or "comment"
            fields[name] = value.removeprefix(" ")
        raise EOFError("the stream ended")

    def events(self, count: int) -> list[Frame]:
        """The next `count` events, skipping comments."""
        found: list[Frame] = []
        while len(found) < count:
            frame = self.next()
            if frame.comment is None:
                found.append(frame)
        return found


@contextlib.contextmanager
def streaming(
    url: str,
    key: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Iterator[Stream]:
    """`GET url` as a stream, answered 200 `text/event-stream`; closed on exit."""
    timeout = httpx.Timeout(FRAME_SECONDS)
    sent = {"Authorization": f"Bearer {key}", **(headers or {})}
    with httpx.stream("GET", url, params=params, headers=sent, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Stream(response)


@contextlib.contextmanager
def uvicorn_thread(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn in a thread of this process on a free port: a real server,
    whose application the test can still look into. Yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STARTUP_SECONDS)
