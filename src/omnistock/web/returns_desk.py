"""The returns desk: find an order by its external id or its customer's e-mail, choose the
units coming back and their condition, see the refund and the stock it will make, confirm.

The order is found by an exact reference only (no browsing), so a store key finds any
order a customer brings back, whichever location served it: the API takes a return of any
order at the key's own locations too. A return is taken at one of the key's locations
(any location for `admin`); `viewer` keys hold no `returns:write` and cannot open the desk.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.catalog import Location
from omnistock.domain.errors import NotFound, OmnistockError
from omnistock.domain.orders import Order, OrderFilters
from omnistock.domain.returns import Condition, ReturnLine, priced, refund
from omnistock.domain.stock import Position
from omnistock.services import catalog, orders, returns, stock
from omnistock.web.pages import Visitor, allowed, not_found, refused, render
from omnistock.web.session import same_token

router = APIRouter(include_in_schema=False)
#: The most orders a search shows (a customer with more brings the reference).
FOUND = 20


def _places(reads: ReadUnit, reach: frozenset[str] | None) -> list[Location]:
    """Where the key may take a return: its active locations."""
    return [
        p for p in catalog.list_locations(reads) if p.active and (reach is None or p.code in reach)
    ]


def _found(reads: ReadUnit, q: str) -> list[Order]:
    """Orders whose external id (on any channel) or customer e-mail is `q`, newest first."""
    by = OrderFilters(customer_email=q) if "@" in q else OrderFilters(external_id=q)
    found, _ = orders.list_orders(reads, filters=by, limit=FOUND)
    return sorted(found, key=lambda order: order.id, reverse=True)


@router.get("/returns")
async def desk(request: Request, q: str | None = None) -> Response:
    opened = await allowed(request, "returns:write", "orders:read")
    if not isinstance(opened, Visitor):
        return opened
    visitor = opened
    query = (q or "").strip()[:200]
    found = await visitor.caller.read(lambda reads: _found(reads, query) if query else [])
    return render(request, "returns.html", visitor.words, visitor=visitor, q=query, found=found)


@dataclass(frozen=True, slots=True)
class Returnable:
    """A sku of the order that can come back: how many units, at what price, and the stock
    at the desk's location now."""

    sku: str
    name: str
    units: int
    unit_price: Decimal
    here: Position


def _order_page(reads: ReadUnit, order_id: int, location: str) -> dict[str, Any]:
    order = orders.get(reads, order_id)
    left = returns.returnable_units(reads, order)
    prices = {line.sku: line.unit_price for line in order.lines}
    lines = []
    for sku, units in sorted(left.items()):
        if units > 0:
            held = dict(stock.stock_of(reads, sku)).get(location, Position())
            lines.append(
                Returnable(sku, catalog.get_item(reads, sku).name, units, prices[sku], held)
            )
    return {"order": order, "lines": lines}


@router.api_route("/returns/orders/{order_id}", methods=["GET", "POST"])
async def order_desk(request: Request, order_id: int, location: str | None = None) -> Response:
    """GET: the order's returnable lines. POST `step=preview`: the refund and the stock the
    return will make; `step=confirm`: taken back, and the stock it made."""
    opened = await allowed(request, "returns:write", "orders:read")
    if not isinstance(opened, Visitor):
        return opened
    visitor = opened
    words = visitor.words
    reach = visitor.principal.locations
    places = await visitor.caller.read(lambda reads: _places(reads, reach))
    codes = [p.code for p in places]
    form = await request.form() if request.method == "POST" else None
    chosen = str(form.get("location", "")) if form is not None else (location or "")
    chosen = chosen if chosen in codes else (codes[0] if codes else "")
    if not chosen:
        return refused(request, visitor)
    try:
        page = await visitor.caller.read(lambda reads: _order_page(reads, order_id, chosen))
    except NotFound:
        return not_found(request, visitor, f"{words('No order has the id')} {order_id}.")
    values: dict[str, Any] = {"places": places, "location": chosen, **page}
    if form is None:
        return render(request, "return_order.html", words, visitor=visitor, **values)
    if not same_token(str(form.get("csrf", "")), visitor.session.csrf):
        return refused(request, visitor)
    try:
        lines = _chosen_lines(form, page["lines"])
    except ValueError as error:
        return render(request, "return_order.html", words, status=422, visitor=visitor,
                      error=words(str(error)), **values)  # fmt: skip
    order: Order = page["order"]
    if form.get("step") != "confirm":
        refunded = refund(priced(order, lines, {}))
        return render(request, "return_order.html", words, visitor=visitor, preview=lines,
                      refund=refunded, **values)  # fmt: skip
    try:
        taken = await visitor.caller.write(lambda uow: _take_back(uow, order_id, chosen, lines))
    except OmnistockError as error:
        return render(request, "return_order.html", words, status=409, visitor=visitor,
                      error=error.detail, **values)  # fmt: skip
    return render(request, "return_done.html", words, visitor=visitor, **taken, **values)


def _chosen_lines(form: Any, offered: list[Returnable]) -> list[ReturnLine]:
    """The lines the form sends back (ValueError saying what is wrong)."""
    lines = []
    for line in offered:
        raw = str(form.get(f"quantity:{line.sku}", "0")).strip() or "0"
        if not raw.isdigit() or int(raw) > line.units:
            raise ValueError("Give for each line a number of units up to what can come back.")
        condition = str(form.get(f"condition:{line.sku}", Condition.SELLABLE))
        if condition not in tuple(Condition):
            raise ValueError("Give for each line a number of units up to what can come back.")
        reason = str(form.get(f"reason:{line.sku}", "")).strip()[:200] or None
        if int(raw):
            lines.append(ReturnLine(line.sku, int(raw), Condition(condition), reason))
    if not lines:
        raise ValueError("Choose at least one unit to take back.")
    return lines


def _take_back(
    uow: UnitOfWork, order_id: int, location: str, lines: list[ReturnLine]
) -> dict[str, Any]:
    taken = returns.take_back(uow, order_id=order_id, location=location, lines=lines)
    after = {
        line.sku: dict(stock.stock_of(uow, line.sku)).get(location, Position())
        for line in taken.lines
    }
    return {"taken": taken, "after": after}
