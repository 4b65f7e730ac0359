"""Code that runs in the worker processes of the oversell tests.

Workers are started with the "spawn" context, so each is a fresh interpreter with its own
`Database` (its own engine, pool and caches), exactly like separate API processes. Inside,
several threads place holds at once. Each hold is sorted into the report: granted (with the
allocations the service said it made), refused with InsufficientStock (a legitimate answer),
or anything else (a failure: no lock, busy, deadlock or serialization error may reach a
caller).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from sqlalchemy import text

from omnistock.db import Database
from omnistock.domain.errors import InsufficientStock
from omnistock.services import reservations

START_TIMEOUT_SECONDS = 60.0

Line = tuple[str, int]  # sku, quantity
Placed = tuple[str, str, int]  # location, sku, quantity


@dataclass(frozen=True, slots=True)
class Hold:
    """What a client asks for: lines, where it ships to (None: no preference), how long."""

    lines: tuple[Line, ...]
    ship_to: tuple[float, float] | None = None
    ttl_seconds: int = 900


@dataclass(frozen=True, slots=True)
class Granted:
    reservation_id: str
    lines: tuple[Line, ...]
    allocations: tuple[Placed, ...]
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Refused:
    lines: tuple[Line, ...]
    short: tuple[tuple[str, int, int], ...]  # sku, requested, available


@dataclass(frozen=True, slots=True)
class Race:
    """Who races for what: each thread places `holds_per_thread` random holds."""

    channel: str
    skus: tuple[str, ...]
    holds_per_thread: int
    threads: int = 8
    most_skus: int = 1  # a hold has 1 to `most_skus` lines, each of a different sku
    most_units: int = 3  # a line asks for 1 to `most_units` units
    ship_to: tuple[tuple[float, float] | None, ...] = (None,)
    ttl_seconds: int = 900
    pause_seconds: float = 0.0  # a client's think time between two holds

    def holds(self, rng: random.Random) -> Iterator[Hold]:
        for _ in range(self.holds_per_thread):
            skus = rng.sample(self.skus, rng.randint(1, self.most_skus))  # in random order
            lines = tuple((sku, rng.randint(1, self.most_units)) for sku in skus)
            yield Hold(lines, rng.choice(self.ship_to), self.ttl_seconds)


@dataclass(slots=True)
class Report:
    """What one worker process saw."""

    worker: int
    granted: list[Granted] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    released: int = 0  # expired holds a sweeper released


#: Places one hold; returns what it got. Anything it raises is unexpected.
HoldFn = Callable[[Database, str, Hold], Granted | Refused]


def service_hold(db: Database, channel: str, hold: Hold) -> Granted | Refused:
    """A hold through the service layer, as the API places it."""
    try:
        r = db.run(
            lambda uow: reservations.hold(
                uow,
                channel=channel,
                lines=list(hold.lines),
                ship_to=hold.ship_to,
                ttl_seconds=hold.ttl_seconds,
            )
        )
    except InsufficientStock as refusal:
        short = tuple((s.sku, s.requested, s.available) for s in refusal.lines)
        return Refused(hold.lines, short)
    placed = tuple((a.location, a.sku, a.quantity) for a in r.allocations)
    return Granted(r.id, tuple(r.lines), placed, r.expires_at)


def race_holds(
    worker: int,
    url: str,
    race: Race,
    hold: HoldFn,
    start: Barrier,
    results: Queue[Report],
) -> None:
    """Connect, wait for every other worker, then place holds from `race.threads` threads."""
    report = Report(worker)
    try:
        db = Database(url)
        try:
            warm_up(db, race.threads)
            start.wait(timeout=START_TIMEOUT_SECONDS)
            threads = [
                threading.Thread(
                    target=place_holds,
                    args=(db, race, hold, random.Random(worker * 1000 + n), report),
                )
                for n in range(race.threads)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            db.dispose()
    except Exception as error:
        report.unexpected.append(f"worker {worker} stopped: {error!r}")
    results.put(report)


def place_holds(db: Database, race: Race, hold: HoldFn, rng: random.Random, report: Report) -> None:
    for wanted in race.holds(rng):
        try:
            outcome = hold(db, race.channel, wanted)
        except Exception as error:
            report.unexpected.append(f"{wanted}: {error!r}")
            continue
        if isinstance(outcome, Granted):
            report.granted.append(outcome)  # list.append is atomic: threads share the report
        else:
            report.refused.append(outcome)
        if race.pause_seconds:
            time.sleep(race.pause_seconds)


def sweep_expired(worker: int, url: str, most: int, start: Barrier, results: Queue[Report]) -> None:
    """Wait for every other sweeper, then release expired holds `most` at a time until none."""
    report = Report(worker)
    try:
        db = Database(url)
        try:
            warm_up(db, 1)
            start.wait(timeout=START_TIMEOUT_SECONDS)
            while released := db.run(lambda uow: reservations.release_expired(uow, most=most)):
                report.released += released
        finally:
            db.dispose()
    except Exception as error:
        report.unexpected.append(f"sweeper {worker} stopped: {error!r}")
    results.put(report)


def sweep_for(
    worker: int, url: str, most: int, seconds: float, start: Barrier, results: Queue[Report]
) -> None:
    """Like the sweeper of `omnistock serve`: release expired holds over and over for a while."""
    report = Report(worker)
    try:
        db = Database(url)
        try:
            warm_up(db, 1)
            start.wait(timeout=START_TIMEOUT_SECONDS)
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                report.released += db.run(lambda uow: reservations.release_expired(uow, most=most))
                time.sleep(0.01)
        finally:
            db.dispose()
    except Exception as error:
        report.unexpected.append(f"sweeper {worker} stopped: {error!r}")
    results.put(report)


def warm_up(db: Database, connections: int) -> None:
    """Open the pool's connections now, so that the race starts at the barrier."""
    with contextlib.ExitStack() as stack:
        for _ in range(connections):
            stack.enter_context(db.read()).execute(text("SELECT 1"))
