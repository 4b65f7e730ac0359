"""SQL for orders: the order and its lines, fulfilments, sourcing decisions, history, and
the daily capacity of locations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    update,
)

from omnistock.db.tables import (
    fulfilment_capacity,
    fulfilment_lines,
    fulfilments,
    order_history,
    order_lines,
    orders,
    sourcing_decisions,
)
from omnistock.domain.orders import (
    DONE,
    DROPPED,
    STARTED,
    Fulfilment,
    FulfilmentStatus,
    Order,
    OrderFilters,
    OrderLine,
    OrderStatus,
)

f, fl, o, ol = fulfilments.c, fulfilment_lines.c, orders.c, order_lines.c


def add_order(
    conn: Connection,
    *,
    channel: str,
    external_id: str | None,
    customer: dict[str, str],
    delivery: dict[str, Any],
    currency: str,
    reservation_id: str | None,
    now: dt.datetime,
) -> int | None:
    """Insert an order; None when the channel already has one with this `external_id` (on
    PostgreSQL, a concurrent insert of the same one is waited for, then seen)."""
    values = {
        "channel": channel,
        "external_id": external_id,
        "customer": customer,
        "delivery_method": delivery["method"],
        "location": delivery.get("location"),
        "address": delivery.get("address"),
        "currency": currency,
        "reservation_id": reservation_id,
        "created_at": now,
        "customer_email": _email(customer),
    }
    statement = _ADD_ORDER if external_id is None else _ADD_ORDER_ONCE
    return conn.execute(statement, values).scalar()


def _email(customer: dict[str, str]) -> str | None:
    """The customer's email as `customer_email` stores it (case-folded), if there is one."""
    email = customer.get("email")
    return email.casefold() if isinstance(email, str) else None


# Statements built once: building one per call (and ON CONFLICT, which SQLAlchemy does not
# cache) cost more than running it.
_ADD_ORDER = insert(orders).returning(o.id)
_ADD_ORDER_ONCE = (
    text(
        """
        INSERT INTO orders (channel, external_id, customer, delivery_method, location, address,
                            currency, reservation_id, created_at, customer_email)
        VALUES (:channel, :external_id, :customer, :delivery_method, :location, :address,
                :currency, :reservation_id, :created_at, :customer_email)
        ON CONFLICT (channel, external_id) DO NOTHING
        RETURNING id
        """
    )
    .bindparams(
        bindparam("customer", type_=o.customer.type),
        bindparam("address", type_=o.address.type),
        bindparam("created_at", type_=o.created_at.type),
    )
    .columns(id=o.id.type)
)
_ADD_FULFILMENT = insert(fulfilments).returning(f.id)


def order_of_external_id(conn: Connection, channel: str, external_id: str) -> int | None:
    query = select(o.id).where(o.channel == channel, o.external_id == external_id)
    return conn.execute(query).scalar()


def add_lines(conn: Connection, order_id: int, lines: Sequence[OrderLine]) -> None:
    rows = [
        {
            "order_id": order_id,
            "line": n,
            "sku": line.sku,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "backordered": line.backordered,
            "cancelled": line.cancelled,
        }
        for n, line in enumerate(lines)
    ]
    conn.execute(insert(order_lines), rows)


def change_line(
    conn: Connection, order_id: int, sku: str, *, backordered: int = 0, cancelled: int = 0
) -> None:
    """Add to the units of a line backordered and cancelled (negative to take away)."""
    conn.execute(
        update(order_lines)
        .where(ol.order_id == order_id, ol.sku == sku)
        .values(backordered=ol.backordered + backordered, cancelled=ol.cancelled + cancelled)
    )


def add_fulfilment(
    conn: Connection,
    *,
    order_id: int,
    location: str,
    status: FulfilmentStatus,
    lines: Sequence[tuple[str, int]],
    now: dt.datetime,
) -> int:
    values = {
        "order_id": order_id,
        "location": location,
        "status": str(status),
        "created_at": now,
        "status_at": now,
    }
    fulfilment_id: int = conn.execute(_ADD_FULFILMENT, values).scalar_one()
    rows = [{"fulfillment_id": fulfilment_id, "sku": sku, "quantity": q} for sku, q in lines]
    conn.execute(insert(fulfilment_lines), rows)
    return fulfilment_id


def move_status(
    conn: Connection,
    fulfilment_id: int,
    *,
    from_: FulfilmentStatus,
    to: FulfilmentStatus,
    now: dt.datetime,
    **details: str | None,
) -> bool:
    """Move a fulfilment from `from_` to `to`; False when it was no longer `from_` (someone
    else moved it first: the status check makes every transition happen once)."""
    moved = conn.execute(
        update(fulfilments)
        .where(f.id == fulfilment_id, f.status == str(from_))
        .values(status=str(to), status_at=now, **{k: v for k, v in details.items() if v})
    )
    return moved.rowcount == 1


def take_from_fulfilment(conn: Connection, fulfilment_id: int, sku: str, units: int) -> None:
    """Take `units` of `sku` off a fulfilment (its line goes when none are left)."""
    where = (fl.fulfillment_id == fulfilment_id, fl.sku == sku)
    gone = conn.execute(delete(fulfilment_lines).where(*where, fl.quantity == units))
    if gone.rowcount == 0:
        conn.execute(update(fulfilment_lines).where(*where).values(quantity=fl.quantity - units))


def lock_order(conn: Connection, order_id: int) -> bool:
    """Lock an order until commit, so that changes to it (cancel, actions on its fulfilments,
    re-sourcing) happen one at a time; False when there is no such order. (FOR NO KEY
    UPDATE: rows referring to the order may still be written meanwhile.)"""
    query = select(o.id).where(o.id == order_id).with_for_update(key_share=True)
    found = conn.execute(query).first()
    return found is not None


def lock_orders(conn: Connection, order_ids: Sequence[int]) -> None:
    """Lock these orders until commit, in id order."""
    if order_ids:
        query = select(o.id).where(o.id.in_(order_ids)).order_by(o.id)
        query = query.with_for_update(key_share=True)
        conn.execute(query).all()


def get_order(conn: Connection, order_id: int) -> Order | None:
    row = conn.execute(select(orders).where(o.id == order_id)).first()
    if row is None:
        return None
    return _orders(conn, [row])[0]


def _orders(conn: Connection, rows: Sequence[Any]) -> list[Order]:
    """Orders with their lines and fulfilments (three queries for any number of orders)."""
    ids = [row.id for row in rows]
    lines: dict[int, list[OrderLine]] = {order_id: [] for order_id in ids}
    for r in conn.execute(select(order_lines).where(ol.order_id.in_(ids)).order_by(ol.line)):
        lines[r.order_id].append(
            OrderLine(r.sku, r.quantity, Decimal(r.unit_price), r.backordered, r.cancelled)
        )
    found = _fulfilments(conn, f.order_id.in_(ids), order_by=(f.id,))
    by_order: dict[int, list[Fulfilment]] = {order_id: [] for order_id in ids}
    for fulfilment in found:
        by_order[fulfilment.order_id].append(fulfilment)
    return [
        Order(
            id=row.id,
            channel=row.channel,
            external_id=row.external_id,
            customer=row.customer,
            delivery=_delivery(row),
            currency=row.currency,
            lines=tuple(lines[row.id]),
            fulfilments=tuple(by_order[row.id]),
            created_at=row.created_at,
        )
        for row in rows
    ]


def _delivery(row: Any) -> dict[str, Any]:
    if row.delivery_method == "ship":
        return {"method": "ship", "address": row.address}
    return {"method": row.delivery_method, "location": row.location}


def history(conn: Connection, order_id: int) -> list[dict[str, Any]]:
    h = order_history.c
    rows = conn.execute(
        select(h.at, h.event, h.detail).where(h.order_id == order_id).order_by(h.id)
    )
    return [{"at": r.at, "event": r.event, "detail": r.detail} for r in rows]


def add_history(
    conn: Connection, order_id: int, entries: Iterable[tuple[str, str]], *, now: dt.datetime
) -> None:
    rows = [
        {"order_id": order_id, "at": now, "event": event, "detail": detail[:1000]}
        for event, detail in entries
    ]
    if rows:
        conn.execute(insert(order_history), rows)


def _status_expression() -> ColumnElement[str]:
    """An order's status in SQL: the twin of `omnistock.domain.orders.order_status`."""

    def count(statuses: Iterable[FulfilmentStatus]) -> Any:
        return (
            select(func.count())
            .where(f.order_id == o.id, f.status.in_([str(s) for s in statuses]))
            .scalar_subquery()
        )

    live = count(set(FulfilmentStatus) - DROPPED)
    backordered = (
        select(func.coalesce(func.sum(ol.backordered), 0))
        .where(ol.order_id == o.id)
        .scalar_subquery()
    )
    return case(
        (
            live == 0,
            case(
                (backordered > 0, literal(OrderStatus.BACKORDERED.value)),
                else_=literal(OrderStatus.CANCELLED.value),
            ),
        ),
        ((backordered == 0) & (count(DONE) == live), literal(OrderStatus.COMPLETED.value)),
        (count(STARTED) > 0, literal(OrderStatus.IN_PROGRESS.value)),
        (backordered > 0, literal(OrderStatus.PARTIALLY_ALLOCATED.value)),
        else_=literal(OrderStatus.ALLOCATED.value),
    )


def list_orders(
    conn: Connection,
    *,
    status: OrderStatus | None,
    channel: str | None,
    locations: Collection[str] | None,
    after: int,
    limit: int,
    filters: OrderFilters | None = None,
) -> list[Order]:
    """Orders with ids above `after`, oldest first; `locations`: those one of them fulfils
    (or where they are picked up or were sold); `filters`: those that match every one."""
    query = select(orders).where(o.id > after).order_by(o.id).limit(limit)
    if filters is not None:
        query = query.where(*_matching(filters))
    if status is not None:
        query = query.where(_status_expression() == status.value)
    if channel is not None:
        query = query.where(o.channel == channel)
    if locations is not None:
        fulfilled_there = select(f.order_id).where(f.location.in_(locations))
        query = query.where(o.location.in_(locations) | o.id.in_(fulfilled_there))
    return _orders(conn, conn.execute(query).all())


def _matching(filters: OrderFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.external_id is not None:
        where.append(o.external_id == filters.external_id)
    if filters.customer_email is not None:
        where.append(o.customer_email == filters.customer_email.casefold())
    if filters.created_after is not None:
        where.append(o.created_at > filters.created_after)
    return where


def get_fulfilment(conn: Connection, fulfilment_id: int) -> Fulfilment | None:
    found = _fulfilments(conn, f.id == fulfilment_id, order_by=())
    return found[0] if found else None


def list_fulfilments(
    conn: Connection,
    *,
    locations: Collection[str] | None,
    status: FulfilmentStatus | None,
    after: int,
    limit: int,
) -> list[Fulfilment]:
    """A work queue: fulfilments with ids above `after`, oldest first."""
    where = [f.id > after]
    if locations is not None:
        where.append(f.location.in_(locations))
    if status is not None:
        where.append(f.status == str(status))
    page = select(f.id).where(*where).order_by(f.id).limit(limit).scalar_subquery()
    return _fulfilments(conn, f.id.in_(page), order_by=(f.id,))


def _fulfilments(
    conn: Connection, where: ColumnElement[bool], *, order_by: Sequence[Any]
) -> list[Fulfilment]:
    rows = conn.execute(
        select(fulfilments, fl.sku, fl.quantity)
        .select_from(fulfilments.outerjoin(fulfilment_lines, fl.fulfillment_id == f.id))
        .where(where)
        .order_by(*order_by, fl.sku)
    ).all()
    found: dict[int, tuple[Any, list[tuple[str, int]]]] = {}
    for row in rows:
        entry = found.setdefault(row.id, (row, []))
        if row.sku is not None:
            entry[1].append((row.sku, row.quantity))
    return [
        Fulfilment(
            id=row.id,
            order_id=row.order_id,
            location=row.location,
            status=FulfilmentStatus(row.status),
            lines=tuple(lines),
            carrier=row.carrier,
            tracking=row.tracking,
            reason=row.reason,
            status_at=row.status_at,
        )
        for row, lines in found.values()
    ]


def open_allocations(conn: Connection, *, location: str, sku: str) -> list[tuple[int, int, int]]:
    """(fulfilment id, order id, units) of `sku` promised at `location` to fulfilments that no
    one has started on, newest first: those healing moves first."""
    rows = conn.execute(
        select(f.id, f.order_id, fl.quantity)
        .select_from(fulfilments.join(fulfilment_lines, fl.fulfillment_id == f.id))
        .where(
            f.location == location,
            f.status == str(FulfilmentStatus.ALLOCATED),
            fl.sku == sku,
        )
        .order_by(f.id.desc())
    )
    return [(r[0], r[1], r[2]) for r in rows]


def due_pickups(conn: Connection, *, ready_before: dt.datetime, most: int) -> list[int]:
    """Fulfilments ready for pickup since before `ready_before`, oldest first."""
    ready = str(FulfilmentStatus.READY_FOR_PICKUP)
    query = (
        select(f.id)
        .where(f.status == ready, f.status_at < ready_before)
        .order_by(f.status_at, f.id)
        .limit(most)
    )
    return list(conn.scalars(query))


def add_decision(
    conn: Connection, order_id: int, *, trigger: str, decision: dict[str, Any], now: dt.datetime
) -> None:
    values = {"order_id": order_id, "at": now, "trigger": trigger, "decision": decision}
    conn.execute(insert(sourcing_decisions), values)


def decisions(conn: Connection, order_id: int) -> list[dict[str, Any]]:
    """Every sourcing decision of an order, newest first."""
    s = sourcing_decisions.c
    rows = conn.execute(
        select(s.at, s.trigger, s.decision).where(s.order_id == order_id).order_by(s.id.desc())
    )
    return [{"at": r.at, "trigger": r.trigger, **r.decision} for r in rows]


def accepted_today(conn: Connection, locations: Sequence[str], day: str) -> dict[str, int]:
    """Fulfilments each of `locations` has accepted on `day`."""
    c = fulfilment_capacity.c
    rows = conn.execute(
        select(c.location, c.accepted).where(c.location.in_(locations), c.day == day)
    )
    return {r.location: r.accepted for r in rows}


#: Count one more fulfilment for a location's day, only while under its capacity.
_ACCEPT = text(
    """
    INSERT INTO fulfillment_capacity (location, day, accepted) VALUES (:location, :day, 1)
    ON CONFLICT (location, day) DO UPDATE SET accepted = fulfillment_capacity.accepted + 1
    WHERE fulfillment_capacity.accepted < :capacity
    RETURNING accepted
    """
)


def accept_fulfilment(conn: Connection, *, location: str, day: str, capacity: int) -> bool:
    """Count a fulfilment against the location's capacity for `day`; False when full."""
    if capacity <= 0:
        return False
    params = {"location": location, "day": day, "capacity": capacity}
    return conn.execute(_ACCEPT, params).first() is not None
