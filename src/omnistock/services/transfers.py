"""Transfers between locations, and deliveries announced by suppliers: create, ship,
receive, cancel, read.

Lock order (that of every path, see `omnistock.services.healing`): the transfer, then the
positions it touches in (location, sku) order, locked before any is changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.catalog import one_line_a_sku
from omnistock.domain.errors import InsufficientStock, InvalidInput, NotFound, ShortLine
from omnistock.domain.events import Event
from omnistock.domain.reservations import RELEASE, RESERVE
from omnistock.domain.stock import Deltas
from omnistock.domain.transfers import (
    DISCREPANCY,
    INBOUND,
    TRANSFER_IN,
    TRANSFER_OUT,
    Incoming,
    Transfer,
    TransferAction,
    TransferStatus,
    counted,
    next_status,
    reception,
)
from omnistock.services import allocation, catalog, ledger
from omnistock.services.allocation import Claim
from omnistock.services.views import iso


def create(
    uow: UnitOfWork,
    *,
    origin: str | None,
    destination: str,
    lines: Sequence[tuple[str, int]],
    eta: dt.datetime | None = None,
    reference: str | None = None,
) -> Transfer:
    """A transfer from `origin`, its units reserved there at once (every line or nothing:
    InsufficientStock), or with no origin a supplier's delivery, inbound at `destination`
    from now on."""
    _validate(uow, origin, destination, lines)
    status = TransferStatus.OPEN if origin is not None else TransferStatus.SHIPPED
    transfer_id = uow.transfers.add(
        origin=origin,
        destination=destination,
        status=status,
        lines=lines,
        eta=eta,
        reference=reference,
        now=uow.now,
    )
    if origin is not None:
        _reserve(uow, transfer_id, origin, lines)
    else:
        ledger.change_stock(
            uow,
            type=INBOUND,
            entries=[(destination, sku, Deltas(inbound=q)) for sku, q in lines],
            reason=f"announced by a supplier{f' ({reference})' if reference else ''}",
            reference=f"transfer:{transfer_id}",
        )
    return _announce(uow, Event.TRANSFER_CREATED, transfer_id)


def _validate(
    uow: UnitOfWork, origin: str | None, destination: str, lines: Sequence[tuple[str, int]]
) -> None:
    one_line_a_sku(sku for sku, _ in lines)
    catalog.existing_location(uow, destination, field="to")
    if origin is not None:
        catalog.existing_location(uow, origin, field="from")
        if origin == destination:
            raise InvalidInput("to", "a transfer goes to another location than it comes from")
    uow.catalog.require_line_items([sku for sku, _ in lines])


def _reserve(
    uow: UnitOfWork, transfer_id: int, origin: str, lines: Sequence[tuple[str, int]]
) -> None:
    """Reserve every line at the origin with the guard of any reservation (what is
    available must cover it), in sku order; InsufficientStock names every line short."""
    short = []
    for sku, quantity in sorted(lines):
        try:
            position = allocation.reserve(uow, Claim(origin, sku, quantity))
        except allocation.LostRace:
            here = uow.stock.read_position(sku=sku, location=origin)
            short.append(ShortLine(sku, quantity, max(0, here.available)))
            continue
        allocation.announce(uow, sku, origin, position)
    if short:
        raise InsufficientStock(short)  # the transaction ends: nothing stays reserved
    uow.stock.append_movements(
        at=uow.now,
        type=RESERVE,
        entries=[(origin, sku, Deltas(reserved=q)) for sku, q in lines],
        reason=f"promised to transfer {transfer_id}",
        reference=f"transfer:{transfer_id}",
    )


def ship(uow: UnitOfWork, transfer_id: int) -> Transfer:
    """The units leave the origin (`on_hand` and `reserved` down) and are inbound at the
    destination."""
    transfer = _move(uow, transfer_id, TransferAction.SHIP)
    assert transfer.origin is not None  # a supplier's delivery is created shipped
    carried = [(line.sku, line.quantity) for line in transfer.lines if line.quantity]
    _lock(uow, [transfer.origin, transfer.destination], carried)
    reference = f"transfer:{transfer_id}"
    ledger.change_stock(
        uow,
        type=TRANSFER_OUT,
        entries=[(transfer.origin, sku, Deltas(on_hand=-q, reserved=-q)) for sku, q in carried],
        reason=f"shipped to {transfer.destination}",
        reference=reference,
    )
    ledger.change_stock(
        uow,
        type=INBOUND,
        entries=[(transfer.destination, sku, Deltas(inbound=q)) for sku, q in carried],
        reason=f"shipped from {transfer.origin}",
        reference=reference,
    )
    return _announce(uow, Event.TRANSFER_SHIPPED, transfer_id)


def receive(uow: UnitOfWork, transfer_id: int, lines: Sequence[tuple[str, int]]) -> Transfer:
    """What arrived, counted: inbound goes down by what was shipped, on hand up by what
    arrived. A sku not listed did not arrive at all; any difference is a discrepancy."""
    arrived = counted(_get(uow, transfer_id), lines)
    transfer = _move(uow, transfer_id, TransferAction.RECEIVE)
    _lock(uow, [transfer.destination], list(arrived.items()))
    uow.transfers.set_received(transfer_id, arrived)
    reference = f"transfer:{transfer_id}"
    moved, discrepancies = [], []
    for line in transfer.lines:
        into_stock, discrepancy = reception(line, arrived[line.sku])
        if into_stock != Deltas():
            moved.append((transfer.destination, line.sku, into_stock))
        if discrepancy is not None:
            discrepancies.append((line, discrepancy))
    source = f"from {transfer.origin}" if transfer.origin else "from a supplier"
    ledger.change_stock(uow, type=TRANSFER_IN, entries=moved, reason=source, reference=reference)
    for line, discrepancy in discrepancies:
        difference = arrived[line.sku] - line.quantity
        ledger.change_stock(
            uow,
            type=DISCREPANCY,
            entries=[(transfer.destination, line.sku, discrepancy)],
            reason=f"{arrived[line.sku]} received of {line.quantity} shipped ({difference:+d})",
            reference=reference,
        )
    return _announce(uow, Event.TRANSFER_RECEIVED, transfer_id)


def cancel(uow: UnitOfWork, transfer_id: int) -> Transfer:
    """Before it ships: the units reserved at the origin are free again."""
    transfer = _move(uow, transfer_id, TransferAction.CANCEL)
    assert transfer.origin is not None
    ledger.change_stock(
        uow,
        type=RELEASE,
        entries=[
            (transfer.origin, line.sku, Deltas(reserved=-line.quantity))
            for line in transfer.lines
            if line.quantity
        ],
        reason="transfer cancelled",
        reference=f"transfer:{transfer_id}",
    )
    return _announce(uow, Event.TRANSFER_CANCELLED, transfer_id)


def give_back(uow: UnitOfWork, transfer_id: int, sku: str, units: int, *, why: str) -> int:
    """An open transfer carries up to `units` fewer of `sku` (its origin lost them: a count,
    a sale, damage), which it gives back there; with nothing left to carry, it is cancelled.
    Answers the units given back, as the transfer stands once locked (healing has locked it
    already, unless on its last try)."""
    uow.transfers.lock([transfer_id])
    transfer = _get(uow, transfer_id)
    carried = {line.sku: line.quantity for line in transfer.lines}
    units = min(units, carried.get(sku, 0)) if transfer.status is TransferStatus.OPEN else 0
    if not units or transfer.origin is None:
        return 0
    uow.transfers.shrink(transfer_id, sku, units, reason=why)
    ledger.change_stock(
        uow,
        type=RELEASE,
        entries=[(transfer.origin, sku, Deltas(reserved=-units))],
        reason=why,
        reference=f"transfer:{transfer_id}",
    )
    carried[sku] -= units
    if any(carried.values()):
        _announce(uow, Event.TRANSFER_CHANGED, transfer_id)
        return units
    uow.transfers.move_status(
        transfer_id,
        from_=TransferStatus.OPEN,
        to=TransferStatus.CANCELLED,
        now=uow.now,
        reason=why,
    )
    _announce(uow, Event.TRANSFER_CANCELLED, transfer_id)
    return units


def get(reads: ReadUnit, transfer_id: int) -> Transfer:
    return _get(reads, transfer_id)


def list_transfers(
    reads: ReadUnit,
    *,
    status: TransferStatus | None = None,
    locations: Collection[str] | None = None,
    after: int = 0,
    limit: int = 100,
) -> tuple[list[Transfer], int | None]:
    """A page of transfers, oldest first, and the id to pass as `after` for the next."""
    found = reads.transfers.list_transfers(
        status=status, locations=locations, after=after, limit=limit
    )
    return found, (found[-1].id if len(found) == limit else None)


def inbound(reads: ReadUnit, sku: str) -> dict[str, list[Incoming]]:
    """The transfers on their way with `sku`, by destination, soonest first."""
    return reads.transfers.inbound(sku)


def incoming_view(x: Incoming) -> dict[str, object]:
    """Units on their way, as the API shows them under a position."""
    return {
        "transfer_id": x.transfer_id,
        "from": x.origin,
        "quantity": x.quantity,
        "eta": iso(x.eta) if x.eta else None,
        "shipped_at": iso(x.shipped_at),
    }


def transfer_view(x: Transfer) -> dict[str, Any]:
    """A transfer as the API and the event feed show it."""

    def at(value: dt.datetime | None) -> str | None:
        return iso(value) if value else None

    return {
        "id": x.id,
        "status": str(x.status),
        "from": x.origin,
        "to": x.destination,
        "eta": at(x.eta),
        "reference": x.reference,
        "reason": x.reason,
        "created_at": iso(x.created_at),
        "shipped_at": at(x.shipped_at),
        "received_at": at(x.received_at),
        "cancelled_at": at(x.cancelled_at),
        "lines": [
            {
                "sku": line.sku,
                "requested": line.requested,
                "quantity": line.quantity,
                "received": line.received,
            }
            for line in x.lines
        ],
        "discrepancies": [
            {
                "sku": line.sku,
                "shipped": line.quantity,
                "received": line.received,
                "difference": line.discrepancy,
            }
            for line in x.lines
            if line.discrepancy
        ],
    }


def _get(reads: ReadUnit, transfer_id: int) -> Transfer:
    found = reads.transfers.get(transfer_id)
    if found is None:
        raise NotFound("transfer", str(transfer_id), field="id")
    return found


def _move(uow: UnitOfWork, transfer_id: int, action: TransferAction) -> Transfer:
    """Take the transfer to the status `action` leads to (InvalidTransition if its status
    does not allow it); answers it as it is then, locked until commit."""
    before = _get(uow, transfer_id)
    to = next_status(before.status, action)
    if not uow.transfers.move_status(transfer_id, from_=before.status, to=to, now=uow.now):
        # Moved meanwhile: statuses only move forward, so this one says why not.
        next_status(_get(uow, transfer_id).status, action)
        raise AssertionError("a transfer's status moved back")  # pragma: no cover
    return _get(uow, transfer_id)


def _lock(uow: UnitOfWork, locations: Sequence[str], lines: Sequence[tuple[str, int]]) -> None:
    """Lock the positions of `lines` at `locations` in (location, sku) order, before any
    change (each change then finds its row locked, whatever order it comes in)."""
    skus = sorted({sku for sku, _ in lines})
    uow.stock.lock_positions(skus=skus, locations=sorted(locations))


def _announce(uow: UnitOfWork, event: Event, transfer_id: int) -> Transfer:
    """The transfer as it stands now, and `event` with its view in the outbox."""
    transfer = _get(uow, transfer_id)
    uow.emit(event, transfer_view(transfer))
    return transfer
