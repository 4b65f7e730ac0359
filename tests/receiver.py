"""A webhook receiver for tests: a small HTTP server on 127.0.0.1, in a thread, that keeps
every request it gets and answers as the test tells it.

`receiving(answer)` yields a `Receiver`; `answer(request)` says how to answer one request
(status and seconds to wait first; by default 204 at once). Requests are kept in arrival
order with their headers and exact body bytes, so a test verifies each signature itself.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int  # the status it was (or is about to be) answered with

    @property
    def event(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def seq(self) -> int:
        return int(self.event["seq"])


#: How to answer a request: (status, seconds to wait before answering).
Answer = Callable[["Received"], tuple[int, float]]


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def taken(self) -> list[Received]:
        """The requests answered 2xx (the deliveries), in arrival order."""
        return [r for r in self.requests() if 200 <= r.answered < 300]

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every request's event, each signature verified by `standardwebhooks` (raises)."""
        return [Webhook(secret).verify(r.body, r.headers) for r in self.requests()]

    def wait_for(self, condition: Callable[[Receiver], bool], *, seconds: float = 20.0) -> None:
        """Until `condition(self)` holds; fails with what came after `seconds`."""
        deadline = time.monotonic() + seconds
        while not condition(self):
            if time.monotonic() > deadline:
                seqs = [(r.seq, r.answered) for r in self.requests()]
                raise AssertionError(f"the receiver did not get what was awaited: {seqs}")
            time.sleep(0.02)


def always(status: int = 204, delay: float = 0.0) -> Answer:
    return lambda _request: (status, delay)


@contextlib.contextmanager
def receiving(answer: Answer = always(), *, path: str = "/hook") -> Iterator[Receiver]:
    """A receiver listening on a free port of 127.0.0.1 until the block ends."""
    kept: list[Received] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, delay = answer(Received(self.path, headers, body, 0))
            with lock:  # kept in arrival order, with the answer decided (and maybe not seen)
                kept.append(Received(self.path, headers, body, status))
            if delay:
                time.sleep(delay)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}{path}", kept, lock)
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
