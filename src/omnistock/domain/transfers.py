"""Transfers: stock on its way from a location, or from a supplier, to another location.

    from a location   open → shipped → received      (open → cancelled)
    from a supplier   shipped → received             (announced: already on its way)

While open, the units are reserved at the origin, so no channel sells them. Shipping takes
them off the origin's `on_hand` and `reserved` and adds them to the destination's
`inbound`. Receiving takes what was shipped off `inbound` and puts what arrived on hand;
any difference between the two is a discrepancy, on the transfer and in the ledger.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from omnistock.domain.catalog import one_line_a_sku
from omnistock.domain.errors import InvalidInput, InvalidTransition
from omnistock.domain.stock import Deltas

#: Ledger movement types written by transfers (the origin's units are promised and given
#: back with `reserve` and `release`, as a hold's are).
TRANSFER_OUT = "transfer_out"  # origin: on_hand -q, reserved -q (shipped)
INBOUND = "inbound"  # destination: inbound +q (shipped, or announced by a supplier)
TRANSFER_IN = "transfer_in"  # destination: inbound -q, on_hand +q (arrived as shipped)
DISCREPANCY = "discrepancy"  # destination: inbound -q (never arrived) or on_hand +q (surplus)


class TransferStatus(enum.StrEnum):
    OPEN = "open"
    SHIPPED = "shipped"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class TransferAction(enum.StrEnum):
    SHIP = "ship"
    RECEIVE = "receive"
    CANCEL = "cancel"


_T, _A = TransferStatus, TransferAction
_FLOW = {
    (_T.OPEN, _A.SHIP): _T.SHIPPED,
    (_T.SHIPPED, _A.RECEIVE): _T.RECEIVED,
    (_T.OPEN, _A.CANCEL): _T.CANCELLED,
}


def next_status(status: TransferStatus, action: TransferAction) -> TransferStatus:
    """The status `action` leads to from `status`, or InvalidTransition."""
    found = _FLOW.get((status, action))
    if found is None:
        raise InvalidTransition(status=str(status), action=str(action), resource="transfer")
    return found


@dataclass(frozen=True, slots=True)
class TransferLine:
    sku: str
    requested: int  # as asked
    quantity: int  # carried: fewer than asked if the origin lost units before shipping
    received: int | None = None  # counted at the destination, once received

    @property
    def discrepancy(self) -> int | None:
        """Units received beyond (or, negative, short of) what was carried."""
        return None if self.received is None else self.received - self.quantity


@dataclass(frozen=True, slots=True)
class Transfer:
    id: int
    origin: str | None  # None: a supplier's delivery
    destination: str
    status: TransferStatus
    lines: tuple[TransferLine, ...]
    created_at: dt.datetime
    eta: dt.datetime | None = None
    reference: str | None = None
    reason: str | None = None
    shipped_at: dt.datetime | None = None
    received_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None


def counted(transfer: Transfer, lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    """The units counted at reception, by sku: every sku the transfer carries, zero when it
    is not listed (nothing of it arrived). A sku it does not carry is refused: a stray
    unit is recorded as a receipt at the location, not on someone else's transfer."""
    one_line_a_sku(sku for sku, _ in lines)
    carried = {line.sku for line in transfer.lines}
    for index, (sku, _) in enumerate(lines):
        if sku not in carried:
            raise InvalidInput(f"lines[{index}].sku", f"{sku!r} is not on transfer {transfer.id}")
    found = dict(lines)
    return {line.sku: found.get(line.sku, 0) for line in transfer.lines}


def reception(line: TransferLine, received: int) -> tuple[Deltas, Deltas | None]:
    """What receiving `received` units of `line` does at the destination: the units that
    arrived as shipped move from inbound to on hand (`transfer_in`); the difference, if any,
    is a discrepancy: units short leave inbound, units over go on hand."""
    arrived = min(received, line.quantity)
    moved = Deltas(on_hand=arrived, inbound=-arrived)
    if received < line.quantity:
        return moved, Deltas(inbound=received - line.quantity)
    if received > line.quantity:
        return moved, Deltas(on_hand=received - line.quantity)
    return moved, None


@dataclass(frozen=True, slots=True)
class Incoming:
    """Units of one sku on their way to a location on a shipped transfer."""

    transfer_id: int
    origin: str | None  # None: a supplier's delivery
    quantity: int
    eta: dt.datetime | None
    shipped_at: dt.datetime
