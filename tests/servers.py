"""omnistock's processes, run for real in tests: `omnistock serve` or plain uvicorn on a free
port of 127.0.0.1, each in a process group of its own, always stopped (the whole group) at the
end.

- `serving(url)`: the console script, as the README runs it; yields a `Server` with the admin
  key it printed.
- `api_server(url, workers=n, log_path=...)`: uvicorn with `n` worker processes and a known
  admin key, its output in a file; yields an `ApiServer`, whose `kill()` sends SIGKILL to the
  whole group (the fault tests' crash).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnistock.db import Database

OMNISTOCK = Path(sys.executable).parent / "omnistock"
STARTUP_SECONDS = 30.0  # a bound against hangs, not a measurement
STOP_SECONDS = 10.0
ADMIN_KEY = "test-server-admin-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def omnistock_env(**settings: str) -> dict[str, str]:
    """This environment without any OMNISTOCK_ setting of the developer's, plus `settings`
    (`admin_key="k"` becomes OMNISTOCK_ADMIN_KEY=k)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OMNISTOCK_")}
    env["COLUMNS"] = "200"  # rich wraps nothing
    env.update({f"OMNISTOCK_{name.upper()}": value for name, value in settings.items()})
    return env


# --------------------------------------------------------------------------- omnistock serve


@dataclass
class Server:
    url: str
    output: str  # what serve printed before handing over to uvicorn
    admin_key: str
    later: queue.Queue[str | None]  # each line printed since, then None once it has ended
    pid: int = 0  # serve's own process

    def locations(self, key: str) -> httpx.Response:
        return httpx.get(
            f"{self.url}/v1/locations", headers={"Authorization": f"Bearer {key}"}, timeout=10
        )


@contextlib.contextmanager
def serving(
    database_url: str,
    *,
    admin_key: str | None = None,
    demo: bool = False,
    workers: int = 1,
    environment: dict[str, str] | None = None,
    **settings: str,
) -> Iterator[Server]:
    """`omnistock serve` on a free port until its API answers (with `demo`, `--demo`: the demo
    retailer loaded first; `--workers`; `settings` as in `omnistock_env`, `environment` as
    is); stopped (whole group) on exit."""
    assert OMNISTOCK.exists(), f"the console script is not installed at {OMNISTOCK}"
    if admin_key is not None:
        settings["admin_key"] = admin_key
    env = {**omnistock_env(**settings), **(environment or {})}
    port = free_port()
    command = [str(OMNISTOCK), "serve", "--database", database_url, *(["--demo"] if demo else [])]
    command += ["--workers", str(workers)]
    process = start([*command, "--host", "127.0.0.1", "--port", str(port)], env)
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=read_lines, args=(process, lines), daemon=True)
    reader.start()
    try:
        output = output_until(lines, "Try: curl")
        key = re.search(r"Admin key\s+(\S+)", output)
        assert key is not None, output
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, lambda: output)
        yield Server(url, output, key.group(1), lines, process.pid)
    finally:
        stop(process)
        reader.join(STOP_SECONDS)


def start(command: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """The command in a process group of its own, its stdout and stderr in one pipe."""
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )


def read_lines(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


def output_until(lines: queue.Queue[str | None], marker: str) -> str:
    seen: list[str] = []
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"the command printed no {marker!r} line in time:\n{''.join(seen)}")
        if line is None:
            pytest.fail(f"the command ended before printing {marker!r}:\n{''.join(seen)}")
        seen.append(line)
        if line.startswith(marker):
            return "".join(seen)


# --------------------------------------------------------------------------- uvicorn workers


@dataclass
class ApiServer:
    url: str
    process: subprocess.Popen[Any]
    log_path: Path

    def kill(self) -> None:
        """SIGKILL to the server and every worker process: a crash, nothing flushed."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(STOP_SECONDS)


@contextlib.contextmanager
def api_server(
    database_url: str,
    *,
    workers: int,
    log_path: Path,
    admin_key: str = ADMIN_KEY,
    **settings: str,
) -> Iterator[ApiServer]:
    """uvicorn serving the API with `workers` processes on a free port, the schema migrated
    first; its output goes to `log_path`; `settings` as in `omnistock_env`. Several workers
    share their metrics in a fresh directory, as under `omnistock serve`."""
    database = Database(database_url)
    database.migrate()
    database.dispose()
    port = free_port()
    env = omnistock_env(database_url=database_url, admin_key=admin_key, **settings)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [
        *(sys.executable, "-m", "uvicorn", "omnistock.api.app:create_app_from_env", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        "--no-access-log",
    ]
    with contextlib.ExitStack() as stack:
        if workers > 1:
            shared = stack.enter_context(tempfile.TemporaryDirectory(dir=log_path.parent))
            env["PROMETHEUS_MULTIPROC_DIR"] = shared
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = ApiServer(f"http://127.0.0.1:{port}", process, log_path)
        try:
            wait_until_healthy(server.url, process, log_path.read_text)
            yield server
        finally:
            stop(process)


# --------------------------------------------------------------------------- both


def wait_until_healthy(url: str, process: subprocess.Popen[Any], output: Any) -> None:
    """Until /healthz answers ok; `output()` says what the process printed, should it fail."""
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(timeout=1) as client:  # one client: building one costs ~50 ms of CPU
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(
                    f"the server exited ({process.returncode}) before answering:\n{output()}"
                )
            with contextlib.suppress(httpx.TransportError, ValueError):
                if client.get(f"{url}/healthz").json() == {"status": "ok"}:
                    return
            time.sleep(0.05)
    pytest.fail(f"the server did not answer /healthz in time:\n{output()}")


def stop(process: subprocess.Popen[Any]) -> None:
    """SIGTERM to the process group, SIGKILL if it has not ended in STOP_SECONDS."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_SECONDS)
    finally:
        if process.stdout is not None:
            process.stdout.close()
