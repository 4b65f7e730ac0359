"""Writing the planned demo through the services, as the API would: the retailer and its
opening stock in one transaction, then its orders, returns and transfers in batches."""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

from omnistock.db import Database, ReadUnit, UnitOfWork
from omnistock.demo import export
from omnistock.demo.orders import DemoOrder, OrderStep
from omnistock.demo.plan import ORDERS, DemoPlan, plan_demo
from omnistock.demo.returns import DemoReturn
from omnistock.demo.transfers import DemoTransfer
from omnistock.domain.availability import BufferRule, Channel
from omnistock.domain.catalog import LocationType
from omnistock.domain.errors import InsufficientStock, InvalidTransition, StockConflict
from omnistock.domain.events import Event
from omnistock.domain.imports import FileFormat, ImportKind, Validator
from omnistock.domain.orders import (
    DONE,
    Action,
    DeliveryMethod,
    Fulfilment,
    FulfilmentStatus,
    Order,
    next_status,
)
from omnistock.domain.transfers import TransferAction
from omnistock.services import channels, fulfilment, imports, orders, returns, transfers
from omnistock.services.imports import ImportFile

T = TypeVar("T")

#: The key the demo's opening stock is imported under (then `/<hex>`, unique to a load).
DEMO_KEY = "demo-opening-stock"
#: The reference of the opening stock's movements (then `/<hex>`): how a load is detected.
DEMO_REFERENCE = f"import:{DEMO_KEY}"
_LOADER_LOCK = 0x64656D6F
_BATCH_PLAYED = 50  # orders (and what happens to them), returns or transfers a transaction


class ProgressCallback(Protocol):
    """Told how far a phase of the load has got: `done` of `total`, 0 as the phase starts."""

    def __call__(self, phase: str, done: int, total: int) -> None: ...


def _silent(phase: str, done: int, total: int) -> None:
    """Reports to no one."""


#: How an import checks the rows of an items or locations file: the checks of the API's PUTs,
#: which the caller hands in (`omnistock.api.schemas.imports.validator`), as the demo sits
#: below the API.
RowChecks = Callable[[ImportKind, FileFormat], Validator]


def load_demo(
    database: Database,
    *,
    checks: RowChecks,
    progress: ProgressCallback = _silent,
    items: int = 2000,
    orders: int = ORDERS,
    seed: int = 7,
) -> str:
    """Load the demo retailer, its orders, their returns and its transfers (those not there
    yet); return a one-line summary."""
    plan = plan_demo(items=items, orders=orders, seed=seed)
    stocked = database.run(lambda uow: _load(uow, plan, checks, progress, seed=seed))
    ordered = _play_all(database, "Orders", plan.orders, _play, progress)
    returned = _play_all(database, "Returns", plan.returns, _take_back, progress)
    moved = _play_all(database, "Transfers", plan.transfers, _move, progress)
    with database.reading() as reads:
        totals = reads.bulk.stock_totals(plan.codes)
    summary = (
        f"{totals.warehouses} warehouses, {totals.stores} stores, {totals.items:,} items, "
        f"{totals.positions:,} positions, {totals.units:,} units, {sum(ordered):,} orders, "
        f"{sum(returned):,} returns, {sum(moved):,} transfers"
    )
    changed = stocked or any(placed for placed, _ in (ordered, returned, moved))
    return summary if changed else f"already loaded, nothing changed: {summary}"


def _load(
    uow: UnitOfWork, plan: DemoPlan, checks: RowChecks, progress: ProgressCallback, *, seed: int
) -> bool:
    """Load the retailer and its opening stock from the files `omnistock demo --export`
    writes, through the import code; False (and nothing written) when it is there already."""
    uow.bulk.lock_loader(_LOADER_LOCK)
    if uow.bulk.has_movements(location=plan.codes[0], reference_prefix=f"{DEMO_REFERENCE}/"):
        return False
    files = export.files(plan)
    _import(uow, ImportKind.LOCATIONS, files["locations.csv"], checks, progress)
    _import(uow, ImportKind.ITEMS, files["items.csv"], checks, progress)
    _put_channels(uow, plan)
    # A key no client can send by chance: the positions sum exactly this load's counts.
    load = uuid.uuid4().hex
    _import(uow, ImportKind.STOCK, files["stock.csv"], checks, progress, key=f"{DEMO_KEY}/{load}")
    totals = uow.bulk.stock_totals(plan.codes)
    uow.emit(
        Event.DEMO_LOADED,
        {
            "reference": f"{DEMO_REFERENCE}/{load}",
            "seed": seed,
            "warehouses": totals.warehouses,
            "stores": totals.stores,
            "items": totals.items,
            "positions": totals.positions,
            "units": totals.units,
        },
    )
    return True


def _import(
    uow: UnitOfWork,
    kind: ImportKind,
    data: bytes,
    checks: RowChecks,
    progress: ProgressCallback,
    *,
    key: str | None = None,
) -> None:
    """One of the demo's files imported as `omnistock import` imports it."""
    phase, rows = f"Importing {kind}", data.count(b"\n") - 1
    progress(phase, 0, rows)
    file = ImportFile(
        kind,
        FileFormat.CSV,
        chunks=lambda: [data],
        validate=None if kind is ImportKind.STOCK else checks(kind, FileFormat.CSV),
        key=key,
        progress=lambda line: progress(phase, line - 1, rows),
    )
    imports.run(uow, file)
    progress(phase, rows, rows)


#: What became of a demo order, return or transfer in this load.
_PLACED, _FOUND, _REFUSED = "placed", "found", "refused"


def _play_all(
    database: Database,
    title: str,
    planned: Sequence[T],
    play: Callable[[UnitOfWork, T], str],
    progress: ProgressCallback,
) -> tuple[int, int]:
    """Play each planned order (and what happens to it), return or transfer, a batch a
    transaction; answers how many were placed now and how many were there already.

    Each one and its steps share a transaction, so one that is there has been played out:
    loading again skips it, and a load cut short goes on where it stopped.
    """
    progress(title, 0, len(planned))
    placed = found = 0
    for start in range(0, len(planned), _BATCH_PLAYED):
        batch = planned[start : start + _BATCH_PLAYED]
        outcomes = database.run(functools.partial(_play_batch, batch=batch, play=play))
        placed += outcomes.count(_PLACED)
        found += outcomes.count(_FOUND)
        progress(title, start + len(batch), len(planned))
    return placed, found


def _play_batch(
    uow: UnitOfWork, *, batch: Sequence[T], play: Callable[[UnitOfWork, T], str]
) -> list[str]:
    uow.bulk.lock_loader(_LOADER_LOCK)  # two loads at once take turns
    return [play(uow, planned) for planned in batch]


def _play(uow: UnitOfWork, demo_order: DemoOrder) -> str:
    """Place one demo order unless it is there already, then take its steps."""
    new = demo_order.order
    assert new.external_id is not None
    if uow.orders.order_of_external_id(new.channel, new.external_id) is not None:
        return _FOUND
    try:
        with uow.savepoint():
            order, created = orders.place(uow, new)
            if created:
                _take_steps(uow, order, demo_order)
    except (InsufficientStock, StockConflict):
        return _REFUSED  # the stock is not what the plan expected (it was changed since)
    return _PLACED if created else _FOUND


def _take_back(uow: UnitOfWork, planned: DemoReturn) -> str:
    """Take back a demo order's units unless it has had some back already; no more of each
    sku than it delivered or collected (none if it was not placed)."""
    order_id = uow.orders.order_of_external_id(planned.channel, planned.external_id)
    if order_id is None:
        return _REFUSED
    if returns.list_returns(uow, order_id=order_id, limit=1)[0]:
        return _FOUND
    left = _served_units(orders.get(uow, order_id))
    lines = []
    for line in planned.lines:
        units = min(line.quantity, left.get(line.sku, 0))
        if units:
            lines.append(dataclasses.replace(line, quantity=units))
            left[line.sku] -= units
    if not lines:
        return _REFUSED
    returns.take_back(uow, order_id=order_id, location=planned.location, lines=lines)
    return _PLACED


def _served_units(order: Order) -> dict[str, int]:
    """Units of each sku the order's fulfilments delivered or collected."""
    units: dict[str, int] = {}
    for work in order.fulfilments:
        if work.status in DONE:
            for sku, quantity in work.lines:
                units[sku] = units.get(sku, 0) + quantity
    return units


def _move(uow: UnitOfWork, planned: DemoTransfer) -> str:
    """Create one demo transfer unless it is there already, then take its steps."""
    if _transfer_there(uow, planned.reference, planned.destination):
        return _FOUND
    eta = uow.now + planned.eta if planned.eta is not None else None
    try:
        with uow.savepoint():
            transfer_id = transfers.create(
                uow,
                origin=planned.origin,
                destination=planned.destination,
                lines=planned.lines,
                eta=eta,
                reference=planned.reference,
            ).id
            for step in planned.steps:
                if step is TransferAction.SHIP:
                    transfers.ship(uow, transfer_id)
                elif step is TransferAction.RECEIVE:
                    counted = planned.lines if planned.arrived is None else planned.arrived
                    transfers.receive(uow, transfer_id, counted)
                else:
                    transfers.cancel(uow, transfer_id)
    except InsufficientStock:
        return _REFUSED  # the stock is not what the plan expected (it was changed since)
    return _PLACED


def _transfer_there(reads: ReadUnit, reference: str, destination: str) -> bool:
    after: int | None = 0
    while after is not None:
        page, after = transfers.list_transfers(reads, locations=(destination,), after=after)
        if any(found.reference == reference for found in page):
            return True
    return False


def _take_steps(uow: UnitOfWork, placed: Order, demo_order: DemoOrder) -> None:
    """Each step of the order's story in turn, on its fulfilments as they stand (read again
    only when a step may have added some)."""
    order_id, method = placed.id, demo_order.order.method
    parcels = iter(demo_order.parcels)
    works = list(placed.fulfilments)
    for step in demo_order.steps:
        if step is OrderStep.CANCEL_ORDER:
            works = list(orders.cancel(uow, order_id).fulfilments)
        elif step is OrderStep.CANCEL_LAST_LINE:
            last = placed.lines[-1]
            works = list(orders.cancel(uow, order_id, [(last.sku, last.quantity)]).fulfilments)
        elif step is Action.REJECT:
            first = next((w for w in works if _allows(method, w.status, step)), None)
            if first is not None:
                _act(uow, first, step, parcels)
                works = list(orders.get(uow, order_id).fulfilments)  # sourced again
        else:
            works = [
                _act(uow, w, step, parcels) if _allows(method, w.status, step) else w for w in works
            ]


def _allows(method: DeliveryMethod, status: FulfilmentStatus, action: Action) -> bool:
    try:
        next_status(method, status, action)
    except InvalidTransition:
        return False
    return True


def _act(
    uow: UnitOfWork, work: Fulfilment, action: Action, parcels: Iterator[tuple[str, str]]
) -> Fulfilment:
    """`action` on a fulfilment, with what a person would give with it; the fulfilment after."""
    if action is Action.SHIP:
        carrier, tracking = next(parcels, (None, None))
        return fulfilment.act(uow, work.id, action, carrier=carrier, tracking=tracking)
    if action is Action.REJECT:
        missing = [(min(sku for sku, _ in work.lines), 1)]  # the first line as the API lists it
        return fulfilment.act(
            uow, work.id, action, reason="not found on the shelf", missing=missing
        )
    if action is Action.EXPIRE:  # as housekeeping would, a week on
        days = uow.policy.pickup_expiry_days
        return fulfilment.act(uow, work.id, action, reason=f"not collected within {days} days")
    return fulfilment.act(uow, work.id, action)


def _put_channels(uow: UnitOfWork, plan: DemoPlan) -> None:
    """The web shop, the stores, and two marketplaces, with the buffers a chain would set.

    The web shop sells from every ship-enabled location but leaves 2 units in each store for
    walk-in customers; the stores sell their own stock; the marketplaces sell warehouse stock
    only, and never more than 80% (fashion) or 70% (general) of it; the most expensive item
    keeps 5 units back everywhere.
    """
    store, warehouse = (LocationType.STORE,), (LocationType.WAREHOUSE,)
    for channel in (
        Channel("web", "Web shop"),
        Channel("store", "Stores", location_types=store),
        Channel("marketplace-fashion", "Fashion marketplace", location_types=warehouse),
        Channel("marketplace-general", "General marketplace", location_types=warehouse),
    ):
        channels.put_channel(uow, channel)
    priciest = max(plan.items, key=lambda planned: planned.item.price or 0).item.sku
    for rule in (
        BufferRule(0, channel="web", location_type=LocationType.STORE, units=2),
        BufferRule(0, channel="marketplace-fashion", basis_points=2_000),
        BufferRule(0, channel="marketplace-general", basis_points=3_000),
        BufferRule(0, sku=priciest, units=5),
    ):
        channels.add_rule(uow, rule)
