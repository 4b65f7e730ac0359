"""A stateful property test of the ledger, on SQLite and PostgreSQL.

Hypothesis records random movements (every type, quantities valid or not, two items at two
locations) and promises random units the way reservations will, while a plain Python model
says what every position must be. After every step: the database agrees with the model,
every position is physically possible, and `check` finds no drift.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select, text

from omnistock.db import Database, UnitOfWork
from omnistock.db import stock as stock_sql
from omnistock.db.tables import positions
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.domain.errors import InvalidInput, StockConflict
from omnistock.domain.stock import MAX_QUANTITY, Deltas, MovementType, Position
from omnistock.services import catalog, stock

SKUS = ("TEE-M", "CAP-1")
LOCATIONS = ("PAR-01", "WH-LYON")
KEYS = [(sku, location) for sku in SKUS for location in LOCATIONS]

MACHINE_SETTINGS = settings(
    max_examples=25,
    stateful_step_count=30,
    derandomize=True,  # the same runs every time: CI stays reproducible
    database=None,
    # Shrinking a failing run of database steps can take minutes: a failure prints its steps
    # as found. Add Phase.shrink locally to shrink one.
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=False,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

any_quantity = st.one_of(
    st.integers(min_value=-3, max_value=12),
    st.sampled_from([0, MAX_QUANTITY, MAX_QUANTITY + 1, -MAX_QUANTITY - 1]),
)


def limits(movement_type: MovementType, p: Position) -> tuple[int, int]:
    """The quantities a movement may carry at position `p`: tests probe around both ends."""
    sellable_units = p.on_hand - p.unsellable
    match movement_type:
        case MovementType.SALE | MovementType.DAMAGE:
            return 1, sellable_units
        case MovementType.ADJUSTMENT:
            return -sellable_units, 3
        case MovementType.COUNT:
            return 0, p.on_hand
        case MovementType.DISPOSE | MovementType.RESTORE:
            return 1, p.unsellable
    return 1, 8  # a receipt: any positive quantity


def is_valid(movement_type: MovementType, quantity: int) -> bool:
    if abs(quantity) > MAX_QUANTITY:
        return False
    if movement_type is MovementType.ADJUSTMENT:
        return quantity != 0
    if movement_type is MovementType.COUNT:
        return quantity >= 0
    return quantity > 0


def expected_after(movement_type: MovementType, quantity: int, p: Position) -> Position | None:
    """What a movement makes of a position, or None when it must be refused.

    Written out plainly from DESIGN.md, independently of omnistock.domain.stock.
    """
    on_hand, reserved, unsellable, inbound = p.on_hand, p.reserved, p.unsellable, p.inbound
    match movement_type:
        case MovementType.RECEIPT:
            on_hand += quantity
        case MovementType.SALE | MovementType.ADJUSTMENT:
            on_hand += -quantity if movement_type is MovementType.SALE else quantity
            if on_hand < unsellable:
                return None
        case MovementType.COUNT:
            on_hand, unsellable = quantity, min(unsellable, quantity)
        case MovementType.DAMAGE:
            unsellable += quantity
            if unsellable > on_hand:
                return None
        case MovementType.DISPOSE:
            on_hand, unsellable = on_hand - quantity, unsellable - quantity
            if unsellable < 0:
                return None
        case MovementType.RESTORE:
            unsellable -= quantity
            if unsellable < 0:
                return None
    return Position(on_hand, reserved, unsellable, inbound)


def add_catalog(uow: UnitOfWork) -> None:
    for sku in SKUS:
        catalog.put_item(uow, Item(sku=sku, name=sku))
    for code, kind in zip(LOCATIONS, (LocationType.STORE, LocationType.WAREHOUSE), strict=True):
        location = Location(
            code=code,
            name=code,
            type=kind,
            lat=45.0,
            lon=4.0,
            ship_enabled=True,
            pickup_enabled=kind is LocationType.STORE,
        )
        catalog.put_location(uow, location)


def empty_the_ledger(uow: UnitOfWork) -> None:
    for table in ("events", "movements", "positions"):
        uow.conn.execute(text(f"DELETE FROM {table}"))


class LedgerMachine(RuleBasedStateMachine):
    """Random movements on a database, checked against a model after every step."""

    db: Database  # set by the test, for the backend it runs on

    def __init__(self) -> None:
        super().__init__()
        self.db.run(empty_the_ledger)  # each example starts from an empty stock
        self.model = {key: Position() for key in KEYS}

    @initialize(data=st.data())
    def stock_the_shelves(self, data: st.DataObject) -> None:
        """Start most positions with some stock, part of it damaged, through movements."""
        for key in KEYS:
            received = data.draw(st.integers(0, 20), label=f"receipt {key}")
            if received:
                self.record(key, MovementType.RECEIPT, received)
                damaged = data.draw(st.integers(0, received), label=f"damage {key}")
                if damaged:
                    self.record(key, MovementType.DAMAGE, damaged)

    @rule(
        key=st.sampled_from(KEYS),
        movement_type=st.sampled_from(MovementType),
        quantity=any_quantity,
    )
    def record_a_movement_of_any_quantity(
        self, key: tuple[str, str], movement_type: MovementType, quantity: int
    ) -> None:
        self.record(key, movement_type, quantity)

    @rule(key=st.sampled_from(KEYS), movement_type=st.sampled_from(MovementType), data=st.data())
    def record_a_movement_near_what_the_position_allows(
        self, key: tuple[str, str], movement_type: MovementType, data: st.DataObject
    ) -> None:
        low, high = limits(movement_type, self.model[key])
        quantity = data.draw(st.integers(low - 2, high + 2), label="quantity")
        self.record(key, movement_type, quantity)

    def record(self, key: tuple[str, str], movement_type: MovementType, quantity: int) -> None:
        sku, location = key
        expected = expected_after(movement_type, quantity, self.model[key])

        def write(uow: UnitOfWork) -> stock.MovementRecorded:
            return stock.record_movement(
                uow,
                location=location,
                sku=sku,
                movement_type=movement_type,
                quantity=quantity,
            )

        if not is_valid(movement_type, quantity):
            try:
                self.db.run(write)
            except InvalidInput as error:
                assert error.field == "quantity"
            else:
                raise AssertionError(f"{movement_type} of {quantity} was accepted")
        elif expected is None:
            try:
                self.db.run(write)
            except StockConflict as error:
                assert error.position == self.model[key]
            else:
                raise AssertionError(f"{movement_type} of {quantity} was not refused")
        else:
            recorded = self.db.run(write)
            assert recorded.position == expected
            self.model[key] = expected

    @rule(key=st.sampled_from(KEYS), units=st.integers(min_value=1, max_value=6))
    def promise_units(self, key: tuple[str, str], units: int) -> None:
        """Promise units as reservations will: a guarded change and its ledger entry.

        Promising more than is available is allowed here on purpose: physical movements must
        keep working whatever was promised.
        """
        sku, location = key

        def reserve(uow: UnitOfWork) -> None:
            deltas = Deltas(reserved=units)
            added = stock_sql.apply_deltas(uow.conn, sku=sku, location=location, deltas=deltas)
            assert added is not None
            stock_sql.append_movement(
                uow.conn, at=uow.now, sku=sku, location=location, type="hold", deltas=deltas
            )

        self.db.run(reserve)
        self.model[key] = self.model[key].apply(Deltas(reserved=units))

    @invariant()
    def positions_equal_the_model_and_are_physically_possible(self) -> None:
        with self.db.read() as conn:
            rows = conn.execute(select(positions)).all()
        stored = {key: Position() for key in KEYS}
        for row in rows:
            stored[(row.sku, row.location)] = Position(
                row.on_hand, row.reserved, row.unsellable, row.inbound
            )
            assert stored[(row.sku, row.location)].is_physically_possible, row
        assert stored == self.model

    @invariant()
    def check_finds_no_drift(self) -> None:
        with self.db.reading() as reads:
            assert list(stock.check(reads)) == []


def test_positions_always_follow_the_ledger_and_stay_physically_possible(db: Database) -> None:
    db.run(add_catalog)
    machine = type("LedgerMachine", (LedgerMachine,), {"db": db})

    run_state_machine_as_test(machine, settings=MACHINE_SETTINGS)
