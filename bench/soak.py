"""Soak: mixed traffic at a steady rate for ten minutes, and what each server process holds.

```
.venv/bin/python bench/soak.py [--backend sqlite|postgresql|both] [--minutes 10] [--rate 40]
                               [--workers 2] [--sample 10]
```

On a fresh database, uvicorn serves the API with `--workers` processes (SQLite: 1, its single
writer). A warehouse, a store, channel `web` and 20 items in stock are set up over HTTP; then
threads send `--rate` requests a second, paced, of every kind a shop sends: receipts and POS
sales (balanced, so the stock stays level), ATS reads, holds placed then released, orders
placed then cancelled, order, ledger and event-feed reads.

Every `--sample` seconds it reads, for each worker process (Linux /proc): its resident memory
(VmRSS), its open file descriptors, and its connections to the database (PostgreSQL: its TCP
sockets to the server's port; SQLite: its descriptors on the database file). The first fifth
of the run is the warm-up; the sample right after it is the baseline, measured in the same
run, and the table shows each figure's largest ratio to it afterwards. The issue's target:
every figure within 10% of its baseline (a leak grows without bound: its ratio climbs).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from _harness import APP, Server, on_fresh_database, server_env, uvicorn_server
from omnistock.db import Database

SKUS = [f"SOAK-{i:02d}" for i in range(20)]
LOCATIONS = {"WH-SOAK": ("warehouse", 45.64), "ST-SOAK": ("store", 45.75)}
THREADS = 8
TARGET = 1.10
FIGURES = ("rss_mb", "open_files", "db_connections")


@dataclass
class Run:
    backend: str
    workers: int
    sent: Counter[str] = field(default_factory=Counter)
    samples: list[tuple[float, dict[int, dict[str, float]]]] = field(default_factory=list)


# --------------------------------------------------------------------------- traffic


def open_shop(client: httpx.Client) -> None:
    for code, (kind, lat) in LOCATIONS.items():
        body = {"name": code, "type": kind, "lat": lat, "lon": 4.84}
        ok(client.put(f"/v1/locations/{code}", json=body | _FLAGS))
    ok(client.put("/v1/channels/web", json={"name": "Web shop"}))
    for sku in SKUS:
        ok(client.put(f"/v1/items/{sku}", json={"name": f"Soak item {sku}", "price": "9.90"}))
        for code in LOCATIONS:
            ok(client.post("/v1/stock/movements", json=_movement(code, sku, "receipt", 100_000)))


_FLAGS = {"ship_enabled": True, "pickup_enabled": True}


def _movement(location: str, sku: str, kind: str, quantity: int) -> dict[str, object]:
    return {"location": location, "sku": sku, "type": kind, "quantity": quantity}


def ok(response: httpx.Response) -> dict[str, object]:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    body: dict[str, object] = response.json() if response.content else {}
    return body


def one_request(client: httpx.Client, rng: random.Random, serial: int) -> str:
    """One request of the mix (two for a hold or an order: it is undone at once)."""
    sku, location = rng.choice(SKUS), rng.choice(list(LOCATIONS))
    kind = rng.choice(("receipt", "sale", "ats", "hold", "order", "ledger", "events", "orders"))
    if kind in ("receipt", "sale"):
        ok(client.post("/v1/stock/movements", json=_movement(location, sku, kind, 1)))
    elif kind == "ats":
        ok(client.get(f"/v1/availability/{sku}", params={"channel": "web"}))
    elif kind == "hold":
        lines = [{"sku": sku, "quantity": 1}]
        hold = ok(client.post("/v1/reservations", json={"channel": "web", "lines": lines}))
        ok(client.delete(f"/v1/reservations/{hold['id']}"))
    elif kind == "order":
        order = ok(client.post("/v1/orders", json=_order(sku, serial)))
        ok(client.post(f"/v1/orders/{order['id']}/cancel", json={}))
    elif kind == "ledger":
        ok(client.get(f"/v1/stock/{sku}/movements", params={"location": location, "limit": 20}))
    elif kind == "events":
        ok(client.get("/v1/events", params={"after": rng.randint(0, 1000), "limit": 50}))
    else:
        ok(client.get("/v1/orders", params={"limit": 20}))
    return kind


def _order(sku: str, serial: int) -> dict[str, object]:
    address = {"line1": "1 rue de la Soie", "city": "Lyon", "postcode": "69001", "country": "FR"}
    return {
        "channel": "web",
        "external_id": f"soak-{serial}",
        "customer": {"name": "Soak Test", "email": "soak@example.fr"},
        "delivery": {"method": "ship", "address": address | {"lat": 45.76, "lon": 4.83}},
        "lines": [{"sku": sku, "quantity": 1, "unit_price": "9.90"}],
    }


def send_paced(base: str, key: str, rate: float, until: float, run: Run, errors: list[str]) -> None:
    """THREADS threads, each sending its share of `rate` requests a second until `until`."""
    serials = itertools.count()
    lock = threading.Lock()

    def client_thread(n: int) -> None:
        rng, interval = random.Random(n), THREADS / rate
        due = time.monotonic() + n * interval / THREADS
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            while due < until:
                time.sleep(max(0.0, due - time.monotonic()))
                due += interval
                try:
                    kind = one_request(client, rng, next(serials))
                except (RuntimeError, httpx.HTTPError) as error:
                    errors.append(str(error)[:300])
                    continue
                with lock:
                    run.sent[kind] += 1

    threads = [threading.Thread(target=client_thread, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# --------------------------------------------------------------------------- what a process holds


def worker_pids(server: Server) -> list[int]:
    """uvicorn's worker processes (its spawned children, not multiprocessing's resource
    tracker), or the server itself when it runs one worker."""
    children = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit()
        and _parent(int(entry.name)) == server.pid
        and b"spawn_main" in _command_line(int(entry.name))
    ]
    return sorted(children) or [server.pid]


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def holdings(pid: int, connections: Callable[[int, list[str]], int]) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    links = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:  # closed meanwhile
            continue
    return {
        "rss_mb": rss_kb / 1024,
        "open_files": len(links),
        "db_connections": connections(pid, links),
    }


def connections_counter(url: str) -> Callable[[int, list[str]], int]:
    """How to count one process's connections to this database, from its descriptors."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = os.path.realpath(parsed.database or "")
        return lambda _pid, links: sum(link == path for link in links)
    port = f"{parsed.port or 5432:04X}"

    def to_postgres(_pid: int, links: list[str]) -> int:
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                columns = line.split()
                if columns[2].endswith(f":{port}") and columns[3] == "01":  # ESTABLISHED
                    inodes.add(f"socket:[{columns[9]}]")
        return sum(link in inodes for link in links)

    return to_postgres


# --------------------------------------------------------------------------- the run


def soak(backend: str, url: str, options: argparse.Namespace) -> Run:
    database = Database(url)
    database.migrate()
    database.dispose()
    workers = 1 if backend == "sqlite" else options.workers
    key, env = server_env(url)
    run, errors = Run(backend, workers), []
    count = connections_counter(url)
    with uvicorn_server(APP, workers=workers, env=env) as server:
        with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {key}"}) as c:
            open_shop(c)
        started = time.monotonic()
        until = started + options.minutes * 60
        load = threading.Thread(
            target=send_paced, args=(server.base, key, options.rate, until, run, errors)
        )
        load.start()
        while time.monotonic() < until:
            time.sleep(options.sample)
            taken = {pid: holdings(pid, count) for pid in worker_pids(server)}
            run.samples.append((time.monotonic() - started, taken))
            print(f"  {backend} t={run.samples[-1][0]:5.0f}s {_line(taken)}", file=sys.stderr)
        load.join()
    if errors:
        print(f"{len(errors)} requests failed, the first: {errors[0]}", file=sys.stderr)
    return run


def _line(taken: dict[int, dict[str, float]]) -> str:
    return "  ".join(
        f"pid {pid}: {f['rss_mb']:.0f} MB, {f['open_files']:.0f} fds, {f['db_connections']:.0f} db"
        for pid, f in taken.items()
    )


def show(run: Run, minutes: float) -> None:
    warm = minutes * 60 / 5
    after = [(t, taken) for t, taken in run.samples if t >= warm]
    total = sum(run.sent.values())
    print(f"\n{run.backend}: {run.workers} worker(s), {total:,} requests in {minutes:g} min")
    print(f"  mix: {', '.join(f'{k} {v:,}' for k, v in sorted(run.sent.items()))}")
    if len(after) < 2:
        print("  too short to tell: run longer than the warm-up")
        return
    print(f"  {'worker':>8} {'figure':>15} {'baseline':>9} {'max after':>10} {'ratio':>6}")
    baseline = after[0][1]
    for pid, figures in baseline.items():
        for name in FIGURES:
            start = figures[name]
            top = max(taken[pid][name] for _, taken in after if pid in taken)
            ratio = top / start if start else (1.0 if top == start else float("inf"))
            verdict = "flat" if ratio <= TARGET else "GROWS"
            print(f"  {pid:>8} {name:>15} {start:>9.1f} {top:>10.1f} {ratio:>6.2f} {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=40.0, help="requests a second")
    parser.add_argument("--workers", type=int, default=2, help="PostgreSQL's server processes")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    options = parser.parse_args(argv)
    for backend in ("sqlite", "postgresql") if options.backend == "both" else (options.backend,):
        run = on_fresh_database(backend, lambda b, url, _server: soak(b, url, options))
        if run is not None:
            show(run, options.minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
