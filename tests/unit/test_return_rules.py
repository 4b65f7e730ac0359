"""The rules of a return (omnistock.domain.returns), without a database.

Written from issue 5 and DESIGN section 5, not read from the code: the units that can come
back are those of fulfilments that were delivered or collected, less those already returned;
a sku may come back on several lines (some sellable, some damaged); more than that is refused
naming the line (409), and so is a sku the order does not have (422); the refund is what the
order paid for those units, exactly; a sellable unit goes on hand, a damaged one on hand and
unsellable.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnistock.domain.errors import Conflict, InvalidInput, NotReturnable
from omnistock.domain.orders import Fulfilment, FulfilmentStatus, Order, OrderLine
from omnistock.domain.returns import (
    Condition,
    ReturnLine,
    deltas,
    priced,
    refund,
    returnable,
)
from omnistock.domain.stock import MAX_QUANTITY, Deltas, Position

S = FulfilmentStatus
SELLABLE, DAMAGED = Condition.SELLABLE, Condition.DAMAGED

#: The fulfilment statuses whose units reached the customer (issue 5: "delivered or collected").
REACHED_THE_CUSTOMER = {"delivered", "collected"}

PRICES = {"TEE-M": Decimal("19.90"), "MUG": Decimal("8.50"), "CAP": Decimal("12.00")}
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def an_order(
    ordered: dict[str, int],
    *fulfilments: tuple[FulfilmentStatus, dict[str, int]],
    prices: dict[str, Decimal] | None = None,
) -> Order:
    """Order 7, of `ordered` units by sku, carried out by `fulfilments` (status, units)."""
    prices = prices or PRICES
    return Order(
        id=7,
        channel="web",
        external_id=None,
        customer={"name": "Camille Martin", "email": "camille.martin@example.fr"},
        delivery={"method": "ship"},
        currency="EUR",
        lines=tuple(OrderLine(sku, q, prices[sku]) for sku, q in ordered.items()),
        fulfilments=tuple(
            Fulfilment(index + 1, 7, "WH-PARIS", status, tuple(units.items()))
            for index, (status, units) in enumerate(fulfilments)
        ),
        created_at=NOW,
    )


def back(
    sku: str, quantity: int, condition: Condition = SELLABLE, reason: str | None = None
) -> ReturnLine:
    return ReturnLine(sku, quantity, condition, reason)


#: 3 tees and a mug delivered; 2 caps still on their way.
DELIVERED = an_order(
    {"TEE-M": 3, "MUG": 1, "CAP": 2},
    (S.DELIVERED, {"TEE-M": 3, "MUG": 1}),
    (S.SHIPPED, {"CAP": 2}),
)


# --------------------------------------------------------------------------- returnable


@pytest.mark.parametrize("status", list(S), ids=str)
def test_only_units_delivered_or_collected_can_come_back(status: FulfilmentStatus) -> None:
    order = an_order({"TEE-M": 3}, (status, {"TEE-M": 3}))
    expected = 3 if str(status) in REACHED_THE_CUSTOMER else 0
    assert returnable(order, {}) == {"TEE-M": expected}


def test_the_units_of_every_delivered_fulfilment_of_a_split_order_add_up() -> None:
    order = an_order(
        {"TEE-M": 5, "MUG": 2},
        (S.DELIVERED, {"TEE-M": 2, "MUG": 1}),
        (S.COLLECTED, {"TEE-M": 3}),
        (S.REJECTED, {"MUG": 1}),
        (S.DELIVERED, {"MUG": 1}),
    )
    assert returnable(order, {}) == {"TEE-M": 5, "MUG": 2}


def test_units_already_returned_can_no_longer_come_back() -> None:
    assert returnable(DELIVERED, {"TEE-M": 2, "MUG": 1}) == {"TEE-M": 1, "MUG": 0, "CAP": 0}


def test_every_sku_of_the_order_is_known_even_with_nothing_delivered_of_it() -> None:
    assert returnable(an_order({"TEE-M": 1, "CAP": 1}), {}) == {"TEE-M": 0, "CAP": 0}


# --------------------------------------------------------------------------- priced


def test_each_line_comes_back_at_the_price_the_order_paid_keeping_its_condition_and_reason() -> (
    None
):
    lines = priced(DELIVERED, [back("TEE-M", 2, DAMAGED, "torn"), back("MUG", 1, SELLABLE)], {})
    assert lines == (
        ReturnLine("TEE-M", 2, DAMAGED, "torn", Decimal("19.90")),
        ReturnLine("MUG", 1, SELLABLE, None, Decimal("8.50")),
    )


def test_a_sku_may_come_back_on_two_lines_some_sellable_some_damaged() -> None:
    lines = priced(DELIVERED, [back("TEE-M", 2, SELLABLE), back("TEE-M", 1, DAMAGED)], {})
    assert [(x.quantity, x.condition, x.unit_price) for x in lines] == [
        (2, SELLABLE, Decimal("19.90")),
        (1, DAMAGED, Decimal("19.90")),
    ]


def test_two_lines_of_a_sku_together_beyond_what_was_delivered_are_refused_naming_the_second() -> (
    None
):
    with pytest.raises(NotReturnable) as refused:
        priced(DELIVERED, [back("TEE-M", 2, SELLABLE), back("TEE-M", 2, DAMAGED)], {})
    assert refused.value.extensions() == {
        "field": "lines[1].quantity",
        "sku": "TEE-M",
        "requested": 2,
        "returnable": 1,
    }
    assert isinstance(refused.value, Conflict)  # the API answers 409


def test_more_units_than_were_delivered_and_not_returned_are_refused_naming_the_line() -> None:
    with pytest.raises(NotReturnable) as refused:
        priced(DELIVERED, [back("MUG", 1), back("TEE-M", 2)], {"TEE-M": 2})
    assert (refused.value.field, refused.value.sku) == ("lines[1].quantity", "TEE-M")
    assert (refused.value.requested, refused.value.returnable) == (2, 1)
    assert "lines[1].quantity" in refused.value.detail


def test_a_sku_ordered_but_not_delivered_yet_is_refused_with_nothing_returnable() -> None:
    with pytest.raises(NotReturnable) as refused:
        priced(DELIVERED, [back("CAP", 1)], {})
    assert (refused.value.field, refused.value.returnable) == ("lines[0].quantity", 0)


def test_a_sku_returned_in_full_cannot_come_back_again() -> None:
    with pytest.raises(NotReturnable) as refused:
        priced(DELIVERED, [back("MUG", 1)], {"MUG": 1})
    assert refused.value.returnable == 0


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_sku_not_in_the_order_is_invalid_input_naming_its_line(index: int) -> None:
    lines = [back("TEE-M", 1), back("MUG", 1)]
    lines.insert(index, back("SOCKS", 1))
    with pytest.raises(InvalidInput) as refused:
        priced(DELIVERED, lines, {})
    assert refused.value.field == f"lines[{index}].sku"
    assert "SOCKS" in refused.value.detail


def test_a_sku_not_in_the_order_is_named_though_an_earlier_line_asks_too_much() -> None:
    with pytest.raises(InvalidInput) as refused:
        priced(DELIVERED, [back("TEE-M", 9), back("SOCKS", 1)], {})
    assert refused.value.field == "lines[1].sku"


# --------------------------------------------------------------------------- the whole rule


@dataclass(frozen=True)
class Case:
    order: Order
    returned: dict[str, int]
    lines: list[ReturnLine]


SKUS = ["TEE-M", "MUG", "CAP"]
statuses = st.sampled_from([S.DELIVERED, S.COLLECTED]) | st.sampled_from(list(S))
units = st.dictionaries(st.sampled_from(SKUS), st.integers(1, 6), min_size=1)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    ordered = draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True))
    fulfilments = draw(
        st.lists(
            st.tuples(statuses, units.map(lambda u: {s: q for s, q in u.items() if s in ordered})),
            max_size=4,
        )
    )
    fulfilments = [(s, u) for s, u in fulfilments if u]
    delivered = Counter[str]()
    for status, carried in fulfilments:
        if str(status) in REACHED_THE_CUSTOMER:
            delivered.update(carried)
    order = an_order({sku: 10 for sku in ordered}, *fulfilments)
    returned = {sku: draw(st.integers(0, delivered[sku])) for sku in ordered}
    lines = draw(
        st.lists(
            st.builds(
                ReturnLine,
                st.sampled_from(ordered) | st.sampled_from([*SKUS, "SOCKS"]),
                st.integers(1, 3),
                st.sampled_from(list(Condition)),
                st.none() | st.text(max_size=5),
            ),
            min_size=1,
            max_size=4,
        )
    )
    return Case(order, returned, lines)


def expected_outcome(case: Case) -> tuple[str, object]:
    """What the issue says of these lines, worked out afresh: ("ok", prices), ("422", field)
    or ("409", (field, requested, returnable))."""
    skus = {line.sku for line in case.order.lines}
    for index, line in enumerate(case.lines):
        if line.sku not in skus:
            return "422", f"lines[{index}].sku"
    left = Counter[str]()
    for fulfilment in case.order.fulfilments:
        if str(fulfilment.status) in REACHED_THE_CUSTOMER:
            left.update(dict(fulfilment.lines))
    left.subtract(case.returned)
    for index, line in enumerate(case.lines):
        if line.quantity > left[line.sku]:
            return "409", (f"lines[{index}].quantity", line.quantity, left[line.sku])
        left[line.sku] -= line.quantity
    return "ok", [PRICES[line.sku] for line in case.lines]


@given(case=cases())
def test_a_return_is_priced_or_refused_exactly_as_the_issue_says(case: Case) -> None:
    verdict, detail = expected_outcome(case)
    if verdict == "422":
        with pytest.raises(InvalidInput) as invalid:
            priced(case.order, case.lines, case.returned)
        assert invalid.value.field == detail
    elif verdict == "409":
        with pytest.raises(NotReturnable) as refused:
            priced(case.order, case.lines, case.returned)
        assert (refused.value.field, refused.value.requested, refused.value.returnable) == detail
    else:
        lines = priced(case.order, case.lines, case.returned)
        assert [line.unit_price for line in lines] == detail
        assert [(x.sku, x.quantity, x.condition, x.reason) for x in lines] == [
            (x.sku, x.quantity, x.condition, x.reason) for x in case.lines
        ]


# --------------------------------------------------------------------------- refund


def test_the_refund_is_each_unit_at_the_price_paid_to_the_cent() -> None:
    lines = priced(DELIVERED, [back("TEE-M", 3), back("MUG", 1, DAMAGED)], {})
    assert refund(lines) == Decimal("68.20")
    assert str(refund(lines)) == "68.20"


def test_ten_cents_three_times_is_thirty_cents_not_a_float_near_it() -> None:
    order = an_order({"MUG": 3}, (S.COLLECTED, {"MUG": 3}), prices={"MUG": Decimal("0.10")})
    assert str(refund(priced(order, [back("MUG", 3)], {}))) == "0.30"


def test_nothing_returned_refunds_zero() -> None:
    assert refund([]) == 0


cents = st.integers(0, 999_999_999_999)  # a UnitPrice: up to 12 digits, 2 of them decimals


@given(
    priced_lines=st.lists(
        st.tuples(cents, st.integers(1, MAX_QUANTITY), st.sampled_from(list(Condition))),
        min_size=1,
        max_size=100,
    )
)
def test_the_refund_equals_the_sum_of_quantity_times_price_counted_in_whole_cents(
    priced_lines: list[tuple[int, int, Condition]],
) -> None:
    lines = [
        ReturnLine("TEE-M", quantity, condition, None, Decimal(price) / 100)
        for price, quantity, condition in priced_lines
    ]
    total_cents = sum(price * quantity for price, quantity, _ in priced_lines)
    amount = refund(lines)
    assert isinstance(amount, Decimal)
    assert amount * 100 == total_cents
    assert f"{amount:.2f}" == f"{total_cents // 100}.{total_cents % 100:02d}"


# --------------------------------------------------------------------------- deltas


@pytest.mark.parametrize(
    ("condition", "expected"),
    [(SELLABLE, Deltas(on_hand=4)), (DAMAGED, Deltas(on_hand=4, unsellable=4))],
    ids=["a sellable unit goes on hand", "a damaged unit goes on hand as unsellable"],
)
def test_a_returned_line_adds_on_hand_and_unsellable_if_damaged(
    condition: Condition, expected: Deltas
) -> None:
    assert deltas(ReturnLine("TEE-M", 4, condition, None, Decimal("19.90"))) == expected


quantities = st.integers(0, MAX_QUANTITY)


@st.composite
def positions(draw: st.DrawFn) -> Position:
    """Any physically possible position (available may be below zero)."""
    on_hand = draw(quantities)
    return Position(on_hand, draw(quantities), draw(st.integers(0, on_hand)), draw(quantities))


@given(
    position=positions(),
    quantity=st.integers(1, MAX_QUANTITY),
    condition=st.sampled_from(list(Condition)),
)
def test_a_return_keeps_any_position_possible_and_frees_only_sellable_units(
    position: Position, quantity: int, condition: Condition
) -> None:
    after = position.apply(deltas(ReturnLine("TEE-M", quantity, condition)))
    assert after.is_physically_possible
    assert (after.reserved, after.inbound) == (position.reserved, position.inbound)
    assert after.on_hand == position.on_hand + quantity
    freed = quantity if condition is SELLABLE else 0
    assert after.available == position.available + freed
