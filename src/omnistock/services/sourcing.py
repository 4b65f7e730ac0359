"""Sourcing an order's lines: the candidates as the stock stands, the pure decision
(`omnistock.domain.sourcing`), and the guarded reservation of its plan.

The decision is taken on a fresh read of the stock, as the guard sees it, and reserved
through the one guarded allocation (`omnistock.services.allocation`): a lost race (only
possible on PostgreSQL: SQLite has one writer) sources again from fresh stock, and the last
attempt locks the candidates' rows first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain import sourcing as rules
from omnistock.domain.availability import BufferRule, Rulebook
from omnistock.domain.catalog import Location, LocationType
from omnistock.domain.errors import InsufficientStock, ShortLine
from omnistock.domain.orders import ALLOCATE, DeliveryMethod, FulfilmentStatus
from omnistock.domain.stock import Deltas
from omnistock.services import allocation
from omnistock.services.allocation import Claim


@dataclass(frozen=True, slots=True)
class Need:
    """What to source for an order: its channel, where it goes, and the units wanted."""

    channel: str
    method: DeliveryMethod
    lines: Sequence[tuple[str, int]]
    ship_to: tuple[float, float] | None = None
    pickup_at: str | None = None
    #: Locations that may not serve this order (they rejected it, or fell short for it).
    exclude: frozenset[str] = frozenset()
    #: The (location, sku) this transaction has locked, when it locked some ahead (healing,
    #: rejection, a last attempt): only those may be reserved, so that no lock is taken out
    #: of order and no race is lost once they are.
    within: frozenset[tuple[str, str]] | None = None


@dataclass(frozen=True, slots=True)
class Sourced:
    """A decision carried out: the fulfilments created, by id, and what waits as backorder."""

    decision: rules.Decision
    fulfilments: list[tuple[int, str, tuple[tuple[str, int], ...]]] = field(default_factory=list)

    @property
    def backorders(self) -> tuple[tuple[str, int], ...]:
        return self.decision.backorders


def preview(reads: ReadUnit, need: Need) -> rules.Decision:
    """The decision sourcing would take now, reserving nothing."""
    book, sku_rules = reads.rulebook([sku for sku, _ in need.lines])
    candidates, _ = _candidates(reads, book, sku_rules, need, now=reads.now)
    return rules.source(need.lines, candidates, ship_to=need.ship_to, costs=reads.policy.costs)


def allocate(
    uow: UnitOfWork, *, order_id: int, need: Need, trigger: str, all_or_nothing: bool
) -> Sourced:
    """Source `need` and reserve the plan: one `allocated` fulfilment per location, the rest
    backordered (or InsufficientStock and nothing reserved, when `all_or_nothing`)."""
    skus = [sku for sku, _ in need.lines]
    book, sku_rules = uow.rulebook(skus)

    def decide() -> _Plan:
        candidates, buffers = _candidates(uow, book, sku_rules, need, now=uow.now)
        decision = rules.source(
            need.lines, candidates, ship_to=need.ship_to, costs=uow.policy.costs
        )
        if decision.backorders and all_or_nothing:
            raise InsufficientStock(_short(need, decision))
        return _Plan(decision, candidates, buffers)

    def carry_out(plan: _Plan) -> Sourced:
        _reserve(uow, plan, book, need)
        return _record(uow, order_id, plan.decision, trigger, need, plan.candidates)

    def lock() -> None:
        nonlocal need
        places = [loc.code for loc in _places(book, need)]
        locked = uow.stock.lock_positions(skus=skus, locations=places)
        if locked is not None:  # a position stocked since for the first time is not locked
            need = dataclasses.replace(need, within=frozenset(locked))

    return allocation.allocate(
        uow,
        decide=decide,
        rows=_Plan.rows,
        carry_out=carry_out,
        lock=lock if need.within is None else None,  # locked ahead, in order
        as_guarded=True,
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    """A decision, the candidates it was taken on, and the claims that carry it out."""

    decision: rules.Decision
    candidates: list[rules.Candidate]
    buffers: dict[tuple[str, str], BufferRule | None]

    def claims(self) -> list[Claim]:
        """Every allocation of the plan, in (location, sku) order: the one lock order."""
        claims = (
            Claim(shipment.location, sku, quantity, self.buffers[shipment.location, sku])
            for shipment in self.decision.plan
            for sku, quantity in shipment.lines
        )
        return sorted(claims, key=lambda c: (c.location, c.sku))

    def rows(self) -> set[tuple[str, str]]:
        return {(c.location, c.sku) for c in self.claims()}


def _places(book: Rulebook, need: Need) -> list[Location]:
    """Where `need` may be served from: the pickup store, or the channel's active
    ship-enabled locations."""
    if need.method is not DeliveryMethod.SHIP:
        assert need.pickup_at is not None
        return [book.locations[need.pickup_at]]
    return [loc for loc in book.pools[need.channel] if loc.ship_enabled]


def _candidates(
    reads: ReadUnit,
    book: Rulebook,
    sku_rules: dict[str, list[BufferRule]],
    need: Need,
    *,
    now: dt.datetime,
) -> tuple[list[rules.Candidate], dict[tuple[str, str], BufferRule | None]]:
    """Each place with something sellable for `need`, and the buffer rule at each (location,
    sku) it may draw on. Holds that expired but are not swept yet still count as held (the
    guard would see them so): the sweeper frees them within a second."""
    places = {loc.code: loc for loc in _places(book, need)}
    available = reads.stock.available_at(list(sku_rules), now=now, expired_free=False).units
    sellable: dict[str, dict[str, int]] = {}
    buffers: dict[tuple[str, str], BufferRule | None] = {}
    found = book.sellable(need.channel, available, sku_rules, at=places)
    for (code, sku), (units, rule) in found.items():
        if need.within is not None and (code, sku) not in need.within:
            continue  # stocked since its rows were locked: not for this transaction
        sellable.setdefault(code, {})[sku] = units
        buffers[code, sku] = rule
    capacity_left = _capacity_left(reads, [places[code] for code in sellable], need, now=now)
    candidates = [
        rules.Candidate(
            location=places[code],
            sellable=units,
            capacity_left=capacity_left.get(code),
            excluded="it cannot serve this order again" if code in need.exclude else None,
        )
        for code, units in sellable.items()
    ]
    return candidates, buffers


def _capacity_left(
    reads: ReadUnit, locations: Sequence[Location], need: Need, *, now: dt.datetime
) -> dict[str, int]:
    """Fulfilments each location with a daily capacity may still accept today (shipments
    only: a pickup is prepared where the customer chose, an in-store sale is no work)."""
    capped = [loc for loc in locations if loc.daily_capacity is not None]
    if need.method is not DeliveryMethod.SHIP or not capped:
        return {}
    accepted = reads.orders.accepted_today([loc.code for loc in capped], _day(now))
    return {
        loc.code: max(0, (loc.daily_capacity or 0) - accepted.get(loc.code, 0)) for loc in capped
    }


def _day(now: dt.datetime) -> str:
    return now.date().isoformat()


def _short(need: Need, decision: rules.Decision) -> list[ShortLine]:
    missing = dict(decision.backorders)
    return [
        ShortLine(sku, requested, requested - missing[sku])
        for sku, requested in need.lines
        if sku in missing
    ]


def _reserve(uow: UnitOfWork, plan: _Plan, book: Rulebook, need: Need) -> None:
    """Reserve every claim of the plan, then count each shipment against its location's
    daily capacity, in location order (LostRace, or Full, if either was taken meanwhile)."""
    for claim in plan.claims():
        position = allocation.reserve(uow, claim)
        allocation.announce(uow, claim.sku, claim.location, position)
    if need.method is DeliveryMethod.SHIP:
        for location in sorted(shipment.location for shipment in plan.decision.plan):
            capacity = book.locations[location].daily_capacity
            if capacity is not None and not uow.orders.accept_fulfilment(
                location=location, day=_day(uow.now), capacity=capacity
            ):
                raise allocation.Full


def _record(
    uow: UnitOfWork,
    order_id: int,
    decision: rules.Decision,
    trigger: str,
    need: Need,
    candidates: Sequence[rules.Candidate],
) -> Sourced:
    """The fulfilments of the plan, the ledger of its reservations, and the decision."""
    sourced = Sourced(decision)
    reference = f"order:{order_id}"
    for shipment in decision.plan:
        fulfilment_id = uow.orders.add_fulfilment(
            order_id=order_id,
            location=shipment.location,
            status=FulfilmentStatus.ALLOCATED,
            lines=shipment.lines,
            now=uow.now,
        )
        sourced.fulfilments.append((fulfilment_id, shipment.location, shipment.lines))
    uow.stock.append_movements(
        at=uow.now,
        type=ALLOCATE,
        entries=[
            (shipment.location, sku, Deltas(reserved=quantity))
            for shipment in decision.plan
            for sku, quantity in shipment.lines
        ],
        reference=reference,
    )
    data = recorded(decision, need, candidates, uow.policy.costs)
    uow.orders.add_decision(order_id, trigger=trigger, decision=data, now=uow.now)
    return sourced


def recorded(
    decision: rules.Decision,
    need: Need,
    candidates: Sequence[rules.Candidate],
    costs: rules.Costs,
) -> dict[str, Any]:
    """What is stored of a decision: its outcome, and the figures it was taken on, from
    which `explained` works out again the record of every candidate (sourcing is pure).

    Writing every candidate's explanation with each order cost more than sourcing itself
    (about 40 kB and a millisecond for 200 locations); its inputs are a fifth of that.
    """
    skus = [sku for sku, _ in need.lines]
    return {
        "strategy": decision.strategy,
        "reason": decision.reason,
        "cost": decision.cost,
        "plan": [[s.location, [list(line) for line in s.lines]] for s in decision.plan],
        "backorders": [list(line) for line in decision.backorders],
        "inputs": {
            "lines": [list(line) for line in need.lines],
            "ship_to": list(need.ship_to) if need.ship_to else None,
            "costs": [costs.per_shipment, costs.per_km],
            "candidates": [
                [
                    c.location.code,
                    str(c.location.type),
                    c.location.lat,
                    c.location.lon,
                    c.location.priority,
                    [c.sellable.get(sku, 0) for sku in skus],
                    c.capacity_left,
                    c.excluded,
                ]
                for c in candidates
            ],
        },
    }


def explained(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored decision as the API shows it: taken again on the figures it was taken on,
    with the record of every candidate."""
    inputs = stored.get("inputs")
    if inputs is None:  # a hold taken over: no candidates were weighed
        return stored
    lines = [(sku, int(q)) for sku, q in inputs["lines"]]
    skus = [sku for sku, _ in lines]
    candidates = [
        rules.Candidate(
            location=Location(
                code=code,
                name=code,
                type=LocationType(type_),
                lat=lat,
                lon=lon,
                ship_enabled=True,
                pickup_enabled=True,
                priority=priority,
            ),
            sellable={sku: units for sku, units in zip(skus, sellable, strict=True) if units},
            capacity_left=capacity_left,
            excluded=excluded,
        )
        for code, type_, lat, lon, priority, sellable, capacity_left, excluded in inputs[
            "candidates"
        ]
    ]
    ship_to = tuple(inputs["ship_to"]) if inputs["ship_to"] else None
    per_shipment, per_km = inputs["costs"]
    again = rules.source(
        lines,
        candidates,
        ship_to=ship_to,
        costs=rules.Costs(per_shipment=per_shipment, per_km=per_km),
    )
    extra = {k: v for k, v in stored.items() if k in ("at", "trigger")}
    return {**extra, **again.as_dict()}
