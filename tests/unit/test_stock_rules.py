"""The arithmetic of positions and movements (omnistock.domain.stock), without a database."""

from __future__ import annotations

from dataclasses import astuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnistock.domain.errors import InvalidInput, StockConflict
from omnistock.domain.stock import (
    MAX_QUANTITY,
    Deltas,
    MovementType,
    Position,
    movement_deltas,
    needs_current_position,
    refusal,
    validate_quantity,
)

RECEIPT, SALE, ADJUSTMENT, COUNT, DAMAGE, DISPOSE, RESTORE = (
    MovementType.RECEIPT,
    MovementType.SALE,
    MovementType.ADJUSTMENT,
    MovementType.COUNT,
    MovementType.DAMAGE,
    MovementType.DISPOSE,
    MovementType.RESTORE,
)

#: 10 on hand, 3 of them promised, 2 of them damaged, 4 on their way.
SHELF = Position(on_hand=10, reserved=3, unsellable=2, inbound=4)


# --------------------------------------------------------------------------- the deltas


@pytest.mark.parametrize(
    ("movement_type", "quantity", "expected"),
    [
        (RECEIPT, 5, Deltas(on_hand=5)),
        (SALE, 4, Deltas(on_hand=-4)),
        (ADJUSTMENT, 3, Deltas(on_hand=3)),
        (ADJUSTMENT, -3, Deltas(on_hand=-3)),
        (COUNT, 14, Deltas(on_hand=4)),
        (COUNT, 7, Deltas(on_hand=-3)),
        (COUNT, 10, Deltas()),
        (DAMAGE, 2, Deltas(unsellable=2)),
        (DISPOSE, 2, Deltas(on_hand=-2, unsellable=-2)),
        (RESTORE, 2, Deltas(unsellable=-2)),
    ],
    ids=[
        "receipt adds on hand",
        "sale takes on hand away",
        "positive adjustment adds on hand",
        "negative adjustment takes on hand away",
        "count above on hand adds the difference",
        "count below on hand takes the difference away",
        "count equal to on hand changes nothing",
        "damage marks units unsellable",
        "dispose removes unsellable units from on hand",
        "restore makes unsellable units sellable again",
    ],
)
def test_each_movement_type_applies_its_own_deltas(
    movement_type: MovementType, quantity: int, expected: Deltas
) -> None:
    assert movement_deltas(movement_type, quantity, SHELF) == expected


def test_no_physical_movement_touches_reserved_or_inbound() -> None:
    for movement_type in MovementType:
        deltas = movement_deltas(movement_type, 1, SHELF)
        assert (deltas.reserved, deltas.inbound) == (0, 0), movement_type


def test_a_count_below_the_unsellable_units_takes_the_missing_unsellable_units_away_too() -> None:
    deltas = movement_deltas(COUNT, 1, SHELF)

    assert deltas == Deltas(on_hand=-9, unsellable=-1)
    assert SHELF.apply(deltas) == Position(on_hand=1, reserved=3, unsellable=1, inbound=4)


def test_a_count_of_zero_empties_the_shelf_of_sellable_and_unsellable_units() -> None:
    assert SHELF.apply(movement_deltas(COUNT, 0, SHELF)) == Position(reserved=3, inbound=4)


def test_only_a_count_needs_to_read_the_current_position_first() -> None:
    assert [t for t in MovementType if needs_current_position(t)] == [COUNT]


def test_the_deltas_of_a_movement_other_than_a_count_ignore_the_current_position() -> None:
    for movement_type in set(MovementType) - {COUNT}:
        assert movement_deltas(movement_type, 2, SHELF) == movement_deltas(
            movement_type, 2, Position()
        )


# --------------------------------------------------------------------------- quantities


@pytest.mark.parametrize(
    ("movement_type", "quantity"),
    [
        (RECEIPT, 0),
        (RECEIPT, -1),
        (SALE, 0),
        (SALE, -2),
        (DAMAGE, 0),
        (DAMAGE, -1),
        (DISPOSE, 0),
        (DISPOSE, -1),
        (RESTORE, 0),
        (RESTORE, -1),
        (ADJUSTMENT, 0),
        (COUNT, -1),
        *((t, MAX_QUANTITY + 1) for t in MovementType),
        (ADJUSTMENT, -MAX_QUANTITY - 1),
        (COUNT, 2**63),
    ],
)
def test_a_quantity_that_makes_no_sense_for_the_movement_type_is_rejected(
    movement_type: MovementType, quantity: int
) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_quantity(movement_type, quantity)

    assert raised.value.field == "quantity"
    message = raised.value.detail.removeprefix("quantity: ")
    assert message != raised.value.detail
    assert raised.value.extensions() == {
        "field": "quantity",
        "errors": [{"field": "quantity", "message": message}],  # as a failed validation's
    }


@pytest.mark.parametrize(
    ("movement_type", "quantity"),
    [
        (RECEIPT, 1),
        (SALE, 1),
        (DAMAGE, 1),
        (DISPOSE, 1),
        (ADJUSTMENT, 1),
        (ADJUSTMENT, -1),
        (ADJUSTMENT, -MAX_QUANTITY),
        (COUNT, 0),
        *((t, MAX_QUANTITY) for t in MovementType),
    ],
)
def test_a_quantity_that_fits_the_movement_type_is_accepted(
    movement_type: MovementType, quantity: int
) -> None:
    validate_quantity(movement_type, quantity)  # does not raise


def test_the_rejection_explains_the_rule_the_quantity_breaks() -> None:
    with pytest.raises(InvalidInput, match="adjustment must not be zero"):
        validate_quantity(ADJUSTMENT, 0)
    with pytest.raises(InvalidInput, match="count must be zero or more"):
        validate_quantity(COUNT, -1)
    with pytest.raises(InvalidInput, match="sale must be a positive quantity"):
        validate_quantity(SALE, 0)
    with pytest.raises(InvalidInput, match=f"at most {MAX_QUANTITY}"):
        validate_quantity(RECEIPT, MAX_QUANTITY + 1)


# --------------------------------------------------------------------------- positions


def test_available_is_on_hand_less_reserved_less_unsellable() -> None:
    assert SHELF.available == 10 - 3 - 2
    assert Position().available == 0
    assert Position(on_hand=2, reserved=3, unsellable=1).available == -2


def test_applying_deltas_adds_each_quantity_and_leaves_the_position_itself_alone() -> None:
    after = SHELF.apply(Deltas(on_hand=1, reserved=-2, unsellable=3, inbound=-4))

    assert after == Position(on_hand=11, reserved=1, unsellable=5, inbound=0)
    assert SHELF.on_hand == 10  # unchanged: positions are values


@pytest.mark.parametrize(
    "position",
    [
        Position(),
        SHELF,
        Position(on_hand=5, unsellable=5),
        Position(on_hand=1, reserved=9),  # available below zero: a physical fact, possible
    ],
)
def test_a_position_with_no_negative_quantity_and_enough_units_on_hand_is_possible(
    position: Position,
) -> None:
    assert position.is_physically_possible


@pytest.mark.parametrize(
    "position",
    [
        Position(on_hand=-1),
        Position(on_hand=1, unsellable=2),
        Position(on_hand=-2, unsellable=-1),
        Position(reserved=-1),
        Position(inbound=-1),
    ],
)
def test_a_position_with_a_negative_quantity_or_too_many_unsellable_units_is_impossible(
    position: Position,
) -> None:
    assert not position.is_physically_possible


def test_a_position_shows_as_its_four_quantities_and_what_is_available() -> None:
    assert SHELF.as_dict() == {
        "on_hand": 10,
        "reserved": 3,
        "unsellable": 2,
        "inbound": 4,
        "available": 5,
    }


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("movement_type", "quantity", "current", "reason"),
    [
        (SALE, 9, SHELF, "only 8 sellable unit(s) on hand"),
        (ADJUSTMENT, -9, SHELF, "on hand would drop to 1, below the 2 unsellable unit(s) it holds"),
        (ADJUSTMENT, -4, Position(on_hand=3), "only 3 unit(s) on hand"),
        (DAMAGE, 9, SHELF, "only 8 unit(s) on hand are not already unsellable"),
        (DISPOSE, 3, SHELF, "only 2 unsellable unit(s) to dispose of"),
        (RESTORE, 3, SHELF, "only 2 unsellable unit(s) to make sellable again"),
    ],
)
def test_a_refusal_explains_why_the_movement_cannot_apply(
    movement_type: MovementType, quantity: int, current: Position, reason: str
) -> None:
    error = refusal(
        location="STORE-1",
        sku="TEE-M",
        movement_type=movement_type,
        quantity=quantity,
        current=current,
    )

    assert isinstance(error, StockConflict)
    assert error.reason == reason
    assert error.detail == f"{movement_type} of {quantity} at STORE-1: {reason}"
    assert (error.location, error.sku, error.movement_type, error.quantity) == (
        "STORE-1",
        "TEE-M",
        str(movement_type),
        quantity,
    )
    assert error.position == current
    assert error.extensions() == {
        "location": "STORE-1",
        "sku": "TEE-M",
        "position": current.as_dict(),
    }


# --------------------------------------------------------------------------- properties

quantities = st.integers(min_value=0, max_value=10_000)
positions = st.builds(
    lambda unsellable, sellable, reserved, inbound: Position(
        on_hand=unsellable + sellable, reserved=reserved, unsellable=unsellable, inbound=inbound
    ),
    quantities,
    quantities,
    quantities,
    quantities,
)


@st.composite
def movements(draw: st.DrawFn) -> tuple[MovementType, int]:
    movement_type = draw(st.sampled_from(MovementType))
    if movement_type is ADJUSTMENT:
        quantity = draw(st.integers(-20_000, 20_000).filter(bool))
    elif movement_type is COUNT:
        quantity = draw(st.integers(0, 20_000))
    else:
        quantity = draw(st.integers(1, 20_000))
    return movement_type, quantity


def allowed(movement_type: MovementType, quantity: int, current: Position) -> bool:
    """When a movement may apply, said plainly, independently of the code under test."""
    sellable_units = current.on_hand - current.unsellable
    match movement_type:
        case MovementType.SALE | MovementType.DAMAGE:
            return quantity <= sellable_units
        case MovementType.ADJUSTMENT:
            return current.on_hand + quantity >= current.unsellable
        case MovementType.DISPOSE | MovementType.RESTORE:
            return quantity <= current.unsellable
        case _:
            return True  # a receipt or a count is always possible


@given(current=positions, movement=movements())
def test_a_movement_leaves_a_possible_position_possible_unless_it_is_one_to_refuse(
    current: Position, movement: tuple[MovementType, int]
) -> None:
    movement_type, quantity = movement
    validate_quantity(movement_type, quantity)
    after = current.apply(movement_deltas(movement_type, quantity, current))

    assert after.is_physically_possible == allowed(movement_type, quantity, current)
    assert (after.reserved, after.inbound) == (current.reserved, current.inbound)


@given(current=positions, counted=quantities)
def test_a_count_always_lands_on_hand_exactly_on_the_counted_quantity(
    current: Position, counted: int
) -> None:
    after = current.apply(movement_deltas(COUNT, counted, current))

    assert after.on_hand == counted
    assert after.unsellable == min(current.unsellable, counted)
    assert after.is_physically_possible


def added(a: Deltas, b: Deltas) -> Deltas:
    return Deltas(*(x + y for x, y in zip(astuple(a), astuple(b), strict=True)))


@given(start=positions, sequence=st.lists(movements(), max_size=20))
def test_applying_movements_one_by_one_equals_applying_the_sum_of_their_deltas(
    start: Position, sequence: list[tuple[MovementType, int]]
) -> None:
    position, total = start, Deltas()
    for movement_type, quantity in sequence:
        deltas = movement_deltas(movement_type, quantity, position)
        position, total = position.apply(deltas), added(total, deltas)

    assert position == start.apply(total)
