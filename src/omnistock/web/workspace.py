"""The store workspace: one location's work queues, and the actions a store associate takes
on them (pick, pack, ship with its carrier and tracking, make ready, hand over against the
order's reference, reject a line it cannot find, which sources it again elsewhere).

A `store` key opens the workspace of its own locations only (403 elsewhere); `viewer` reads
any, acting on none; `admin` does everything. Every action is a form with the session's
CSRF token, carried out by the fulfilment service as the API's routes do, then the page
again (POST, redirect, GET) saying what was done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.errors import NotFound, OmnistockError
from omnistock.domain.orders import Action, DeliveryMethod, Fulfilment, FulfilmentStatus, Order
from omnistock.services import catalog, fulfilment, orders
from omnistock.web.pages import (
    Visitor,
    allowed,
    not_found,
    refused,
    render,
    to_sign_in,
    visitor_of,
)
from omnistock.web.session import same_token

router = APIRouter(include_in_schema=False)
#: Fulfilments a queue shows (the oldest first).
QUEUE = 100
S = FulfilmentStatus
#: The queues of a workspace, in the order of the work.
QUEUES = ("To pick", "To pack", "To make ready", "To ship", "Ready for pickup")
#: How a card names an order's delivery.
METHODS = {
    DeliveryMethod.SHIP: "Home delivery",
    DeliveryMethod.PICKUP: "Click & collect",
    DeliveryMethod.IN_STORE: "In store",
}


@dataclass(frozen=True, slots=True)
class Card:
    """A fulfilment as its queue shows it, with the actions its status allows."""

    id: int
    order_id: int
    reference: str
    customer: str
    method: str
    lines: tuple[tuple[str, int], ...]
    age_minutes: int
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Queue:
    name: str
    cards: list[Card]


def _actions(status: FulfilmentStatus, method: DeliveryMethod) -> tuple[str, ...]:
    """What an associate may do next with a fulfilment in `status`."""
    if status is S.ALLOCATED:
        return ("pick", "reject")
    if status is S.PICKED:
        return ("ready", "reject") if method is DeliveryMethod.PICKUP else ("pack", "reject")
    if status is S.PACKED:
        return ("ship", "reject")
    if status is S.READY_FOR_PICKUP:
        return ("collect",)
    return ()


def card(work: Fulfilment, order: Order, now: dt.datetime) -> Card:
    since = work.status_at or order.created_at
    return Card(
        work.id,
        order.id,
        order.external_id or str(order.id),
        str(order.customer.get("name") or order.customer.get("email") or ""),
        METHODS[order.method],
        work.lines,
        max(0, int((now - since).total_seconds() // 60)),
        _actions(work.status, order.method),
    )


def queues(reads: ReadUnit, code: str) -> list[Queue]:
    """The location's open fulfilments by what they wait for, oldest first."""
    wanted: dict[str, list[Card]] = {name: [] for name in QUEUES}
    for status in (S.ALLOCATED, S.PICKED, S.PACKED, S.READY_FOR_PICKUP):
        works, _ = fulfilment.queue(reads, locations=[code], status=status, limit=QUEUE)
        for work in works:
            order = orders.get(reads, work.order_id)
            shown = card(work, order, reads.now)
            if status is S.ALLOCATED:
                wanted["To pick"].append(shown)
            elif status is S.PICKED:
                ready = order.method is DeliveryMethod.PICKUP
                wanted["To make ready" if ready else "To pack"].append(shown)
            elif status is S.PACKED:
                wanted["To ship"].append(shown)
            else:
                wanted["Ready for pickup"].append(shown)
    return [Queue(name, cards) for name, cards in wanted.items()]


async def _opened(request: Request, code: str) -> Visitor | Response:
    """The visitor who may open `code`'s workspace, or the page saying why not."""
    visitor = await allowed(request, "fulfillments:read")
    if not isinstance(visitor, Visitor):
        return visitor
    reach = visitor.principal.locations
    if reach is not None and code not in reach:
        return refused(request, visitor)
    return visitor


@router.get("/stores")
async def stores(request: Request) -> Response:
    visitor = await visitor_of(request)
    if visitor is None:
        return to_sign_in(request)
    reach = visitor.principal.locations
    places = await visitor.caller.read(catalog.list_locations)
    shown = [p for p in places if reach is None or p.code in reach]
    if len(shown) == 1:
        return RedirectResponse(f"/stores/{shown[0].code}", status_code=303)
    return render(request, "stores.html", visitor.words, visitor=visitor, places=shown)


@router.get("/stores/{code}")
async def workspace(
    request: Request, code: str, done: str | None = None, to: str | None = None
) -> Response:
    opened = await _opened(request, code)
    if not isinstance(opened, Visitor):
        return opened
    visitor = opened

    def read(reads: ReadUnit) -> dict[str, Any]:
        return {"place": catalog.get_location(reads, code), "queues": queues(reads, code)}

    try:
        found = await visitor.caller.read(read)
    except NotFound:
        return not_found(request, visitor, f"{visitor.words('No location has the code')} {code!r}.")
    return render(
        request, "store.html", visitor.words, visitor=visitor, code=code,
        may_act=visitor.principal.allows("fulfillments:write"), done=done, to=to, **found,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PickLine:
    """One item to pick: how many units, for which orders."""

    sku: str
    name: str
    units: int
    references: list[str]


def pick_list(reads: ReadUnit, code: str) -> list[PickLine]:
    """Every unit waiting to be picked at `code`, summed by item across its orders (sku
    order: the order of the shelves' labels)."""
    units: dict[str, int] = {}
    references: dict[str, list[str]] = {}
    works, _ = fulfilment.queue(reads, locations=[code], status=S.ALLOCATED, limit=QUEUE)
    for work in works:
        order = orders.get(reads, work.order_id)
        for sku, quantity in work.lines:
            units[sku] = units.get(sku, 0) + quantity
            references.setdefault(sku, []).append(order.external_id or str(order.id))
    names = {sku: catalog.get_item(reads, sku).name for sku in units}
    return [PickLine(sku, names[sku], units[sku], references[sku]) for sku in sorted(units)]


@router.get("/stores/{code}/pick-list")
async def printable_pick_list(request: Request, code: str) -> Response:
    opened = await _opened(request, code)
    if not isinstance(opened, Visitor):
        return opened
    visitor = opened

    def read(reads: ReadUnit) -> dict[str, Any]:
        return {
            "place": catalog.get_location(reads, code),
            "lines": pick_list(reads, code),
            "now": reads.now,
        }

    try:
        found = await visitor.caller.read(read)
    except NotFound:
        return not_found(request, visitor, f"{visitor.words('No location has the code')} {code!r}.")
    return render(request, "pick_list.html", visitor.words, visitor=visitor, **found)


@router.post("/stores/{code}/fulfilments/{fulfilment_id}")
async def act(
    request: Request,
    code: str,
    fulfilment_id: int,
    action: Annotated[str, Form(max_length=20)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    carrier: Annotated[str, Form(max_length=100)] = "",
    tracking: Annotated[str, Form(max_length=100)] = "",
    reference: Annotated[str, Form(max_length=200)] = "",
    sku: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    opened = await _opened(request, code)
    if not isinstance(opened, Visitor):
        return opened
    visitor = opened
    words = visitor.words
    if not same_token(csrf, visitor.session.csrf):
        return refused(request, visitor)
    if not visitor.principal.allows("fulfillments:write") or action not in ACTIONS:
        return refused(request, visitor)
    form = _Form(action, carrier.strip(), tracking.strip(), reference.strip(), sku, reason.strip())
    try:
        to = await visitor.caller.write(lambda uow: _carry_out(uow, code, fulfilment_id, form))
    except OmnistockError as error:
        return await _again(request, visitor, code, error.detail)
    except _Refusal as refusal:
        return await _again(request, visitor, code, words(refusal.reason))
    query = {"done": action, **({"to": to} if to else {})}
    return RedirectResponse(f"/stores/{code}?{urlencode(query)}", status_code=303)


#: What an associate may do, by the name the forms send.
ACTIONS = frozenset({"pick", "pack", "ship", "ready", "collect", "reject"})


@dataclass(frozen=True, slots=True)
class _Form:
    action: str
    carrier: str
    tracking: str
    reference: str
    sku: str
    reason: str


class _Refusal(Exception):
    """An action the form itself rules out (said to the associate in their language)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _carry_out(uow: UnitOfWork, code: str, fulfilment_id: int, form: _Form) -> str | None:
    """The action on a fulfilment of `code`; for a rejection, where its lines went."""
    work = fulfilment.get(uow, fulfilment_id)
    if work.location != code:
        raise NotFound("fulfillment", str(fulfilment_id), field="id")
    order = orders.get(uow, work.order_id)
    if form.action == "collect":
        if form.reference not in {order.external_id, str(order.id)}:
            raise _Refusal("The reference given is not this order's: nothing was handed over.")
        fulfilment.act(uow, fulfilment_id, Action.COLLECT)
        return None
    if form.action == "reject":
        quantity = dict(work.lines).get(form.sku)
        if quantity is None:
            raise _Refusal("Choose the line that cannot be served.")
        if not form.reason:
            raise _Refusal("Say why the line cannot be served.")
        rejected = fulfilment.reject(
            uow, fulfilment_id, reason=form.reason, missing=[(form.sku, quantity)]
        )
        moved = rejected.moved
        places = sorted({location for _, location, _ in moved.fulfilments})
        return ",".join(places) if places else "-"
    carrier = form.carrier or None
    tracking = form.tracking or None
    fulfilment.act(uow, fulfilment_id, Action(form.action), carrier=carrier, tracking=tracking)
    return None


async def _again(request: Request, visitor: Visitor, code: str, error: str) -> Response:
    """The workspace again, saying why the action was not taken (409)."""

    def read(reads: ReadUnit) -> dict[str, Any]:
        return {"place": catalog.get_location(reads, code), "queues": queues(reads, code)}

    found = await visitor.caller.read(read)
    return render(
        request, "store.html", visitor.words, status=409, visitor=visitor, code=code,
        may_act=True, error=error, done=None, to=None, **found,
    )  # fmt: skip
