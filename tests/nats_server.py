"""A real `nats-server -js` for tests: on a free port of 127.0.0.1, its store in a temporary
directory, stopped at the end; and what a test asks of its JetStream.

Without nats-server the tests that need it are skipped with the reason, except under CI
(`CI` set), where `.ci/run` installs it and a missing one fails them.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import nats.js.errors
import pytest

from clusters import running_in_ci

STARTUP_SECONDS = 10.0  # a bound against hangs, not a measurement
NOT_FOUND = "nats-server not found: install the Debian package nats-server"


def nats_server_path() -> str | None:
    return shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/bin")


def nats_server_or_skip() -> str:
    found = nats_server_path()
    if found is None:
        if running_in_ci():
            pytest.fail(f"{NOT_FOUND} (CI must run the relay's tests)", pytrace=False)
        pytest.skip(NOT_FOUND)
    return found


@contextlib.contextmanager
def nats_server(store: Path, port: int) -> Iterator[str]:
    """`nats-server -js` on 127.0.0.1:`port` until it accepts connections; yields its URL."""
    command = [nats_server_or_skip(), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)]
    log = (store.parent / f"nats-{port}.log").open("ab")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _accepts(port):
            assert process.poll() is None, f"nats-server exited ({process.returncode})"
            assert time.monotonic() < deadline, "nats-server did not listen in time"
            time.sleep(0.02)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(STARTUP_SECONDS)
        log.close()


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class Message:
    subject: str
    msg_id: str
    data: bytes


def stream_messages(url: str, stream: str) -> list[Message]:
    """Every message the stream holds, in its order (none when there is no stream yet)."""

    async def read() -> list[Message]:
        client = await nats.connect(url)
        try:
            jetstream = client.jetstream()
            try:
                state = (await jetstream.stream_info(stream)).state
            except nats.js.errors.NotFoundError:
                return []
            found = []
            for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
                raw = await jetstream.get_msg(stream, seq)
                found.append(Message(raw.subject, (raw.headers or {})["Nats-Msg-Id"], raw.data))
            return found
        finally:
            await client.close()

    return asyncio.run(read())


def stream_size(url: str, stream: str) -> int:
    """How many messages the stream holds (0 when there is no stream yet)."""

    async def count() -> int:
        client = await nats.connect(url)
        try:
            return (await client.jetstream().stream_info(stream)).state.messages
        except nats.js.errors.NotFoundError:
            return 0
        finally:
            await client.close()

    return asyncio.run(count())
