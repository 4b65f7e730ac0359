"""Code that runs in the worker processes of the concurrency tests.

Workers are started with the "spawn" context, so each is a fresh interpreter with its own
`Database` (its own engine, pool and caches), exactly like separate API processes.
They report what each movement got: accepted (with the deltas the service said it applied),
refused with a StockConflict (a legitimate answer), or anything else (a failure).
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from sqlalchemy import text

from omnistock.db import Database
from omnistock.domain.errors import StockConflict
from omnistock.domain.stock import MovementType
from omnistock.services import stock

SKUS = ("SKU-A", "SKU-B", "SKU-C")
LOCATIONS = ("WH-1", "ST-1")
START_TIMEOUT_SECONDS = 60.0

# Weighted so that positions often run dry: the guards get exercised, not just the happy path.
_MIX: tuple[tuple[MovementType, int], ...] = (
    (MovementType.RECEIPT, 3),
    (MovementType.SALE, 4),
    (MovementType.ADJUSTMENT, 2),
    (MovementType.DAMAGE, 1),
    (MovementType.DISPOSE, 1),
    (MovementType.COUNT, 1),
)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A movement the service acknowledged: its ledger id, position and deltas."""

    movement_id: int
    sku: str
    location: str
    deltas: tuple[int, int, int, int]  # on_hand, reserved, unsellable, inbound

    def as_json(self) -> str:
        return json.dumps(dataclasses.astuple(self))

    @classmethod
    def from_json(cls, line: str) -> Accepted:
        movement_id, sku, location, deltas = json.loads(line)
        return cls(movement_id, sku, location, tuple(deltas))


@dataclass(slots=True)
class Report:
    """What one worker saw."""

    worker: int
    accepted: list[Accepted] = field(default_factory=list)
    counted: dict[int, int] = field(default_factory=dict)  # count's movement id -> quantity
    refused: int = 0
    unexpected: list[str] = field(default_factory=list)

    def add(self, accepted: Accepted, movement: dict[str, Any]) -> None:
        self.accepted.append(accepted)
        if movement["type"] == MovementType.COUNT:
            self.counted[accepted.movement_id] = movement["quantity"]


def random_movement(rng: random.Random) -> dict[str, Any]:
    """A movement as the API takes it: location, sku, type and quantity."""
    types, weights = zip(*_MIX, strict=True)
    movement_type = rng.choices(types, weights)[0]
    match movement_type:
        case MovementType.ADJUSTMENT:
            quantity = rng.choice((-1, 1)) * rng.randint(1, 5)
        case MovementType.COUNT:
            quantity = rng.randint(0, 20)
        case MovementType.RECEIPT:
            quantity = rng.randint(1, 8)
        case _:
            quantity = rng.randint(1, 4)
    return {
        "location": rng.choice(LOCATIONS),
        "sku": rng.choice(SKUS),
        "type": str(movement_type),
        "quantity": quantity,
    }


def record(db: Database, movement: dict[str, Any]) -> Accepted:
    """Record one movement in its own transaction; raises StockConflict when refused."""
    recorded = db.run(
        lambda uow: stock.record_movement(
            uow,
            location=movement["location"],
            sku=movement["sku"],
            movement_type=MovementType(movement["type"]),
            quantity=movement["quantity"],
        )
    )
    m = recorded.movement
    return Accepted(m.id, m.sku, m.location, dataclasses.astuple(m.deltas))


def race_movements(
    worker: int, url: str, count: int, start: Barrier, results: Queue[Report]
) -> None:
    """Connect, wait for every other worker, then record `count` random movements."""
    report = Report(worker)
    try:
        db = Database(url)
        try:
            with db.read() as conn:  # connect now, so that the race starts at the barrier
                conn.execute(text("SELECT 1"))
            start.wait(timeout=START_TIMEOUT_SECONDS)
            rng = random.Random(worker)
            for _ in range(count):
                movement = random_movement(rng)
                try:
                    accepted = record(db, movement)
                except StockConflict:
                    report.refused += 1
                except Exception as error:
                    report.unexpected.append(f"{movement}: {error!r}")
                else:
                    report.add(accepted, movement)
        finally:
            db.dispose()
    except Exception as error:
        report.unexpected.append(f"worker {worker} stopped: {error!r}")
    results.put(report)


def record_until_killed(url: str, seed: int, acks_path: str) -> None:
    """Record random movements for ever; after each commit, append it to `acks_path`.

    A line is written and flushed only once `Database.run` has returned, that is once the
    movement was acknowledged, so every line names a movement that must survive a kill.
    """
    db = Database(url)
    rng = random.Random(seed)
    with open(acks_path, "a", encoding="utf-8") as acks:
        while True:
            try:
                accepted = record(db, random_movement(rng))
            except StockConflict:
                continue
            acks.write(accepted.as_json() + "\n")
            acks.flush()
