"""The workflow of a fulfilment and the derived status of an order (omnistock.domain.orders),
without a database.

The expected tables below are written from DESIGN section 5 and the issue, not read from the
code: a ship fulfilment goes allocated → picked → packed → shipped → delivered, a pickup
allocated → picked → ready_for_pickup → collected (or expired when nobody comes), an in-store
sale is collected at once, and `cancel` or `reject` end any open fulfilment.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnistock.domain.errors import Conflict, InvalidTransition
from omnistock.domain.orders import (
    Action,
    DeliveryMethod,
    FulfilmentStatus,
    Order,
    OrderLine,
    OrderStatus,
    differences,
    next_status,
    order_status,
    releases_units,
    takes_units,
)

S, A, M = FulfilmentStatus, Action, DeliveryMethod

#: Where work is still to be done at the location: the units are promised there.
OPEN_STATUSES = (S.ALLOCATED, S.PICKED, S.PACKED, S.READY_FOR_PICKUP)

#: Every move DESIGN allows, by delivery method; anything else is refused.
FLOW: dict[tuple[DeliveryMethod, FulfilmentStatus, Action], FulfilmentStatus] = {
    (M.SHIP, S.ALLOCATED, A.PICK): S.PICKED,
    (M.SHIP, S.PICKED, A.PACK): S.PACKED,
    (M.SHIP, S.PACKED, A.SHIP): S.SHIPPED,
    (M.SHIP, S.SHIPPED, A.DELIVER): S.DELIVERED,
    (M.PICKUP, S.ALLOCATED, A.PICK): S.PICKED,
    (M.PICKUP, S.PICKED, A.READY): S.READY_FOR_PICKUP,
    (M.PICKUP, S.READY_FOR_PICKUP, A.COLLECT): S.COLLECTED,
    (M.PICKUP, S.READY_FOR_PICKUP, A.EXPIRE): S.EXPIRED,
}
for _method, _status in itertools.product(M, OPEN_STATUSES):
    FLOW[_method, _status, A.CANCEL] = S.CANCELLED
    FLOW[_method, _status, A.REJECT] = S.REJECTED

EVERY_MOVE = list(itertools.product(M, S, A))
ALLOWED = [(m, s, a) for m, s, a in EVERY_MOVE if (m, s, a) in FLOW]
REFUSED = [(m, s, a) for m, s, a in EVERY_MOVE if (m, s, a) not in FLOW]


def move_id(move: tuple[DeliveryMethod, FulfilmentStatus, Action]) -> str:
    method, status, action = move
    return f"{method}-{status}-{action}"


# --------------------------------------------------------------------------- transitions


@pytest.mark.parametrize("move", ALLOWED, ids=move_id)
def test_an_allowed_action_leads_to_the_status_design_names(
    move: tuple[DeliveryMethod, FulfilmentStatus, Action],
) -> None:
    method, status, action = move
    assert next_status(method, status, action) is FLOW[move]


@pytest.mark.parametrize("move", REFUSED, ids=move_id)
def test_any_other_action_is_refused_naming_the_status_and_the_action(
    move: tuple[DeliveryMethod, FulfilmentStatus, Action],
) -> None:
    method, status, action = move
    with pytest.raises(InvalidTransition) as refused:
        next_status(method, status, action)
    assert (refused.value.status, refused.value.action) == (str(status), str(action))
    assert refused.value.extensions() == {"current_status": str(status), "action": str(action)}
    assert isinstance(refused.value, Conflict)  # the API answers 409
    assert str(status) in refused.value.detail and str(action) in refused.value.detail


def test_the_table_covers_every_method_status_and_action() -> None:
    assert len(ALLOWED) + len(REFUSED) == len(M) * len(S) * len(A)
    assert len(ALLOWED) == 8 + 2 * len(M) * len(OPEN_STATUSES)


@pytest.mark.parametrize("status", [s for s in S if s not in OPEN_STATUSES])
def test_a_fulfilment_that_left_or_ended_can_be_neither_cancelled_nor_rejected(
    status: FulfilmentStatus,
) -> None:
    for method, action in itertools.product(M, (A.CANCEL, A.REJECT)):
        with pytest.raises(InvalidTransition):
            next_status(method, status, action)


def test_an_in_store_sale_has_no_workflow_once_collected() -> None:
    for action in A:
        with pytest.raises(InvalidTransition):
            next_status(M.IN_STORE, S.COLLECTED, action)


def test_a_pickup_is_never_packed_or_shipped_and_a_parcel_never_waits_for_pickup() -> None:
    with pytest.raises(InvalidTransition):
        next_status(M.PICKUP, S.PICKED, A.PACK)
    with pytest.raises(InvalidTransition):
        next_status(M.SHIP, S.PICKED, A.READY)
    with pytest.raises(InvalidTransition):
        next_status(M.SHIP, S.PACKED, A.COLLECT)


def test_only_a_pickup_waiting_at_the_store_can_expire() -> None:
    assert next_status(M.PICKUP, S.READY_FOR_PICKUP, A.EXPIRE) is S.EXPIRED
    for status in (S.ALLOCATED, S.PICKED):
        with pytest.raises(InvalidTransition):
            next_status(M.PICKUP, status, A.EXPIRE)
    with pytest.raises(InvalidTransition):
        next_status(M.SHIP, S.PACKED, A.EXPIRE)


def test_shipping_and_collecting_take_the_units_and_ending_gives_them_back() -> None:
    assert {s for s in S if takes_units(s)} == {S.SHIPPED, S.COLLECTED}
    assert {s for s in S if releases_units(s)} == {S.CANCELLED, S.REJECTED, S.EXPIRED}


# --------------------------------------------------------------------------- order status


@pytest.mark.parametrize(
    ("fulfilments", "backordered", "expected"),
    [
        ((), 3, OrderStatus.BACKORDERED),
        ((S.REJECTED,), 2, OrderStatus.BACKORDERED),
        ((S.CANCELLED, S.REJECTED, S.EXPIRED), 1, OrderStatus.BACKORDERED),
        ((S.ALLOCATED,), 1, OrderStatus.PARTIALLY_ALLOCATED),
        ((S.ALLOCATED, S.REJECTED), 4, OrderStatus.PARTIALLY_ALLOCATED),
        ((S.ALLOCATED,), 0, OrderStatus.ALLOCATED),
        ((S.ALLOCATED, S.ALLOCATED, S.CANCELLED), 0, OrderStatus.ALLOCATED),
        ((S.ALLOCATED, S.PICKED), 0, OrderStatus.IN_PROGRESS),
        ((S.PACKED,), 0, OrderStatus.IN_PROGRESS),
        ((S.READY_FOR_PICKUP,), 0, OrderStatus.IN_PROGRESS),
        ((S.SHIPPED,), 0, OrderStatus.IN_PROGRESS),
        ((S.DELIVERED, S.ALLOCATED), 0, OrderStatus.IN_PROGRESS),
        ((S.PICKED,), 2, OrderStatus.IN_PROGRESS),
        ((S.DELIVERED,), 1, OrderStatus.IN_PROGRESS),  # one parcel came, the rest waits
        ((S.DELIVERED,), 0, OrderStatus.COMPLETED),
        ((S.COLLECTED,), 0, OrderStatus.COMPLETED),
        ((S.DELIVERED, S.DELIVERED, S.REJECTED), 0, OrderStatus.COMPLETED),
        ((S.COLLECTED, S.CANCELLED), 0, OrderStatus.COMPLETED),
        ((), 0, OrderStatus.CANCELLED),
        ((S.CANCELLED,), 0, OrderStatus.CANCELLED),
        ((S.EXPIRED,), 0, OrderStatus.CANCELLED),
        ((S.REJECTED, S.CANCELLED), 0, OrderStatus.CANCELLED),
    ],
)
def test_an_orders_status_follows_from_its_fulfilments_and_backorders(
    fulfilments: tuple[FulfilmentStatus, ...], backordered: int, expected: OrderStatus
) -> None:
    assert order_status(fulfilments, backordered) is expected


def as_design_says(fulfilments: list[FulfilmentStatus], backordered: int) -> OrderStatus:
    """DESIGN section 2, said again plainly: fulfilments that were cancelled, rejected or
    expired no longer carry anything; with nothing else the order waits for stock
    (backordered) or was called off (cancelled); everything delivered or collected and
    nothing waiting is completed; any work started is in progress; otherwise it is allocated,
    wholly or in part."""
    carrying = [s for s in fulfilments if s not in (S.CANCELLED, S.REJECTED, S.EXPIRED)]
    if not carrying:
        return OrderStatus.CANCELLED if backordered == 0 else OrderStatus.BACKORDERED
    if backordered == 0 and set(carrying) <= {S.DELIVERED, S.COLLECTED}:
        return OrderStatus.COMPLETED
    if set(carrying) != {S.ALLOCATED}:
        return OrderStatus.IN_PROGRESS
    return OrderStatus.ALLOCATED if backordered == 0 else OrderStatus.PARTIALLY_ALLOCATED


statuses = st.lists(st.sampled_from(list(S)), max_size=6)
backorders = st.integers(min_value=0, max_value=5)


@given(fulfilments=statuses, backordered=backorders)
def test_the_status_is_the_rule_of_design_section_2(
    fulfilments: list[FulfilmentStatus], backordered: int
) -> None:
    assert order_status(fulfilments, backordered) is as_design_says(fulfilments, backordered)


@given(fulfilments=statuses, backordered=backorders, data=st.data())
def test_the_status_depends_neither_on_the_order_of_fulfilments_nor_on_dropped_ones(
    fulfilments: list[FulfilmentStatus], backordered: int, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(fulfilments))
    dropped = data.draw(st.lists(st.sampled_from([S.CANCELLED, S.REJECTED, S.EXPIRED])))
    expected = order_status(fulfilments, backordered)
    assert order_status(shuffled, backordered) is expected
    assert order_status([*shuffled, *dropped], backordered) is expected


@given(fulfilments=statuses, backordered=st.integers(min_value=1, max_value=5))
def test_an_order_with_units_waiting_is_never_completed_nor_cancelled(
    fulfilments: list[FulfilmentStatus], backordered: int
) -> None:
    assert order_status(fulfilments, backordered) not in (
        OrderStatus.COMPLETED,
        OrderStatus.CANCELLED,
    )


# --------------------------------------------------------------------------- an order sent again

SENT = Order(
    id=1,
    channel="web",
    external_id="W-1",
    customer={"name": "Ada", "email": "ada@example.com"},
    delivery={"method": "ship", "address": {"city": "Nantes", "line2": None, "lat": 47.2}},
    currency="EUR",
    lines=(OrderLine("TEE", 2, Decimal("19.90")), OrderLine("MUG", 1, Decimal("8.50"), 1, 1)),
    fulfilments=(),
    created_at=dt.datetime(2026, 12, 7, tzinfo=dt.UTC),
)


def again(**changes: object) -> list[str]:
    sent: dict[str, object] = {
        "customer": dict(SENT.customer),
        "delivery": {"method": "ship", "address": {"city": "Nantes", "lat": 47.2}},
        "lines": [("MUG", 1, Decimal("8.5")), ("TEE", 2, Decimal("19.90"))],
        "currency": "EUR",
    }
    return differences(SENT, **{**sent, **changes})  # type: ignore[arg-type]


def test_the_same_order_sent_again_differs_in_nothing_whatever_its_line_order_or_state() -> None:
    """Lines in another order, a price written 8.5, an absent field the stored order has as
    null, units backordered or cancelled since: the same order."""
    assert again() == []


def test_what_differs_is_named_as_the_request_names_it() -> None:
    assert again(currency="CHF") == ["currency"]
    assert again(customer={"name": "Ada", "email": "ada@example.org"}) == ["customer.email"]
    assert again(delivery={"method": "ship", "address": {"city": "Nantes", "lat": 47.3}}) == [
        "delivery.address.lat"
    ]
    assert again(lines=[("TEE", 3, Decimal("19.90")), ("MUG", 1, Decimal("9"))]) == [
        "lines[0].quantity",
        "lines[1].unit_price",
    ]
    assert again(lines=[("TEE", 2, Decimal("19.90"))]) == ["lines"]
