"""A stock snapshot of 1,000,000 rows imported through the CLI's code path, against a raw
bulk load of the same rows, on SQLite and PostgreSQL.

    python bench/imports.py [--backend sqlite|postgresql|both] [--skus 5000] [--locations 200]

For each backend, on a fresh database with `--locations` locations and `--skus` items (no
stock), one CSV file of skus x locations rows (`location,sku,on_hand`) is written, then:

1. raw: the rows loaded as plainly as the driver allows, in one transaction: PostgreSQL
   COPY of the file into a temporary table and one set-based upsert of the positions;
   SQLite the file read with `csv` and an executemany upsert of the positions. No ledger,
   no events, no checks (the positions are then emptied again);
2. import: `omnistock.cli_imports.run_import`, what `omnistock import stock FILE` runs, in
   a child process of its own (its peak RSS is the child's `ru_maxrss`): every row checked,
   staged, a `count` movement and a `stock.changed` event per position, availability
   published;
3. the same file imported again: nothing differs, so nothing is written.

It prints the seconds and rows/s of each, the ratio raw / import (the issue's target: the
import at >= 0.5 x the raw load) and the import's peak RSS (target: < 500 MB). It never
asserts a time.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from _harness import LOCATIONS, libpq, location_code, on_fresh_database, open_web_shop, progress
from omnistock.db import Database
from omnistock.domain.catalog import Item

_UPSERT = """
    INSERT INTO positions (sku, location, on_hand, reserved, unsellable, inbound)
    {source}
    ON CONFLICT (sku, location) DO UPDATE SET on_hand = excluded.on_hand
"""
#: The child that imports: the CLI's own function, timed around the import alone.
_CHILD = """
import json, sys, time
from pathlib import Path
import omnistock.cli  # the command line, as `omnistock import` loads it
from omnistock.cli_imports import run_import
from omnistock.db import Database
from omnistock.domain.imports import ImportKind
db = Database(sys.argv[1])
started = time.perf_counter()
summary = run_import(db, ImportKind.STOCK, Path(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - started, **summary.as_dict()}))
"""


def write_file(path: Path, skus: int, locations: int) -> int:
    rng = random.Random(14)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["location", "sku", "on_hand"])
        for i in range(locations):
            code = location_code(i)
            out.writerows((code, f"SKU-{s:05d}", rng.randint(1, 40)) for s in range(skus))
    return skus * locations


def raw_load(url: str, path: Path) -> float:
    started = time.perf_counter()
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("BEGIN IMMEDIATE")
        with path.open(newline="") as f:
            rows = csv.reader(f)
            next(rows)
            source = "VALUES (?, ?, ?, 0, 0, 0)"
            conn.executemany(
                _UPSERT.format(source=source), ((s, loc, int(q)) for loc, s, q in rows)
            )
        conn.execute("COMMIT")
        conn.close()
        return time.perf_counter() - started
    with psycopg.connect(libpq(url)) as conn:
        conn.execute("CREATE TEMP TABLE raw (location text, sku text, on_hand bigint)")
        with (
            conn.cursor().copy("COPY raw FROM STDIN (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as f,
        ):
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        source = "SELECT sku, location, on_hand, 0, 0, 0 FROM raw WHERE true"
        conn.execute(_UPSERT.format(source=source))
    return time.perf_counter() - started


def empty_positions(url: str) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("DELETE FROM positions")
        return
    with psycopg.connect(libpq(url)) as conn:
        conn.execute("TRUNCATE positions")


def imported(url: str, path: Path) -> tuple[dict[str, float], float]:
    """The import's figures, and the child's peak RSS in MB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, url, str(path)], capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"the import failed:\n{done.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures, max(peak, before) / 1024


def measure(backend: str, url: str, server: str, *, skus: int, locations: int) -> dict[str, object]:
    say = progress(backend)
    db = Database(url)
    db.migrate()
    items = [Item(f"SKU-{s:05d}", f"Item {s}") for s in range(skus)]
    db.run(lambda uow: open_web_shop(uow, items, []))
    db.dispose()
    with tempfile.TemporaryDirectory(prefix="omnistock-imports-") as directory:
        path = Path(directory) / "stock.csv"
        rows = write_file(path, skus, min(locations, LOCATIONS))
        say(f"{rows:,} rows in {path.stat().st_size / 1e6:.0f} MB; raw load")
        raw = raw_load(url, path)
        empty_positions(url)
        say(f"raw {raw:.1f} s; import through the CLI's code")
        first, peak = imported(url, path)
        say(f"import {first['seconds']:.1f} s; again, unchanged")
        again, peak_again = imported(url, path)
    return {
        "backend": backend,
        "server": server,
        "rows": rows,
        "raw_seconds": raw,
        "import": first,
        "again": again,
        "peak_rss_mb": max(peak, peak_again),
    }


def show(report: dict[str, object]) -> None:
    rows = int(report["rows"])  # type: ignore[call-overload]
    raw = float(report["raw_seconds"])  # type: ignore[arg-type]
    first, again = report["import"], report["again"]
    assert isinstance(first, dict) and isinstance(again, dict)
    print(f"\n{report['backend']}: {report['server']}")
    print(f"  {'':28}{'seconds':>10}{'rows/s':>12}")
    for name, seconds in (
        ("raw bulk load", raw),
        ("import (CLI code path)", first["seconds"]),
        ("import again (unchanged)", again["seconds"]),
    ):
        print(f"  {name:28}{seconds:>10.1f}{rows / seconds:>12,.0f}")
    ratio = raw / first["seconds"]
    print(
        f"  import / raw speed: {ratio:.2f} (target >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'})"
    )
    peak = float(report["peak_rss_mb"])  # type: ignore[arg-type]
    print(
        f"  import peak RSS: {peak:.0f} MB (target < 500 MB: {'met' if peak < 500 else 'NOT met'})"
    )
    summary = {k: first[k] for k in ("rows", "created", "updated", "unchanged", "movements")}
    print(f"  summary: {summary}; again: movements={again['movements']}")


def _met(held: bool) -> str:
    return "met" if held else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--locations", type=int, default=200, help=f"at most {LOCATIONS}")
    args = parser.parse_args(argv)
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        report = on_fresh_database(
            backend,
            lambda b, url, server: measure(
                b, url, server, skus=args.skus, locations=args.locations
            ),
        )
        if report is not None:
            show(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
