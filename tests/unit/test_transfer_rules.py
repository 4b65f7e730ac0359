"""The rules of a transfer (omnistock.domain.transfers), without a database.

Written from issue 5 and DESIGN section 5, not read from the code. Statuses `open`,
`shipped`, `received`, `cancelled`; actions `ship`, `receive`, `cancel`: a transfer from a
location is open until it ships, and may be cancelled before shipping; a supplier's delivery
is shipped from the start; receiving closes a shipped transfer; any other action is refused
(409). At reception, `inbound` goes down by what was shipped and `on_hand` up by what
arrived; a sku not listed did not arrive; a shortfall or a surplus is a discrepancy.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnistock.domain.catalog import one_line_a_sku
from omnistock.domain.errors import Conflict, InvalidInput, InvalidTransition
from omnistock.domain.stock import MAX_QUANTITY, Deltas, Position
from omnistock.domain.transfers import (
    Transfer,
    TransferAction,
    TransferLine,
    TransferStatus,
    counted,
    next_status,
    reception,
)

T, A = TransferStatus, TransferAction

#: Every move the issue allows; anything else is a wrong action for the status.
FLOW = {
    ("open", "ship"): "shipped",
    ("open", "cancel"): "cancelled",
    ("shipped", "receive"): "received",
}
STATUSES = ["open", "shipped", "received", "cancelled"]
ACTIONS = ["ship", "receive", "cancel"]
EVERY_MOVE = list(itertools.product(STATUSES, ACTIONS))
REFUSED = [move for move in EVERY_MOVE if move not in FLOW]
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def a_transfer(*lines: tuple[str, int]) -> Transfer:
    """Transfer 12 from Paris to Lyon, shipped, carrying `lines` (sku, quantity)."""
    return Transfer(
        id=12,
        origin="WH-PARIS",
        destination="ST-LYON",
        status=T.SHIPPED,
        lines=tuple(TransferLine(sku, q, q) for sku, q in lines),
        created_at=NOW,
    )


# --------------------------------------------------------------------------- statuses


def test_a_transfer_has_the_four_statuses_and_three_actions_of_the_issue() -> None:
    assert sorted(map(str, T)) == sorted(STATUSES)
    assert sorted(map(str, A)) == sorted(ACTIONS)


@pytest.mark.parametrize(("status", "action"), list(FLOW), ids=[f"{s}-{a}" for s, a in FLOW])
def test_an_allowed_action_leads_to_the_status_the_issue_names(status: str, action: str) -> None:
    assert next_status(T(status), A(action)) is T(FLOW[status, action])


@pytest.mark.parametrize(("status", "action"), REFUSED, ids=[f"{s}-{a}" for s, a in REFUSED])
def test_any_other_action_is_refused_naming_the_status_and_the_action(
    status: str, action: str
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        next_status(T(status), A(action))
    assert refused.value.extensions() == {"current_status": status, "action": action}
    assert isinstance(refused.value, Conflict)  # the API answers 409
    assert f"cannot {action} a transfer that is {status}" == refused.value.detail


def test_the_table_covers_every_status_and_action() -> None:
    assert len(FLOW) + len(REFUSED) == len(T) * len(A) == 12


def test_a_shipped_transfer_can_no_longer_be_cancelled_only_received() -> None:
    with pytest.raises(InvalidTransition):
        next_status(T.SHIPPED, A.CANCEL)
    assert next_status(T.SHIPPED, A.RECEIVE) is T.RECEIVED


@pytest.mark.parametrize("status", ["received", "cancelled"])
def test_a_received_or_cancelled_transfer_is_closed_to_every_action(status: str) -> None:
    for action in A:
        with pytest.raises(InvalidTransition):
            next_status(T(status), action)


# --------------------------------------------------------------------------- lines


def test_one_line_a_sku_the_repeated_line_is_named() -> None:
    one_line_a_sku(["TEE-M", "MUG"])
    with pytest.raises(InvalidInput) as refused:
        one_line_a_sku(["TEE-M", "MUG", "TEE-M"])
    assert refused.value.field == "lines[2].sku"
    assert "lines[0]" in refused.value.detail


def test_a_sku_not_listed_at_reception_did_not_arrive() -> None:
    transfer = a_transfer(("TEE-M", 4), ("MUG", 2), ("CAP", 1))
    assert counted(transfer, [("MUG", 5)]) == {"TEE-M": 0, "MUG": 5, "CAP": 0}


def test_an_empty_count_receives_nothing_of_anything() -> None:
    assert counted(a_transfer(("TEE-M", 4), ("MUG", 2)), []) == {"TEE-M": 0, "MUG": 0}


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_sku_the_transfer_does_not_carry_is_refused_naming_its_line(index: int) -> None:
    lines = [("TEE-M", 4), ("MUG", 2)]
    lines.insert(index, ("SOCKS", 1))
    with pytest.raises(InvalidInput) as refused:
        counted(a_transfer(("TEE-M", 4), ("MUG", 2)), lines)
    assert refused.value.field == f"lines[{index}].sku"
    assert "SOCKS" in refused.value.detail


def test_a_sku_counted_twice_is_refused_naming_the_second_line() -> None:
    with pytest.raises(InvalidInput) as refused:
        counted(a_transfer(("TEE-M", 4), ("MUG", 2)), [("MUG", 1), ("TEE-M", 4), ("MUG", 1)])
    assert refused.value.field == "lines[2].sku"


carried_skus = st.lists(st.sampled_from(["TEE-M", "MUG", "CAP", "SOCKS"]), min_size=1, unique=True)


@given(data=st.data(), skus=carried_skus)
def test_the_count_is_what_was_listed_and_zero_for_the_rest(
    data: st.DataObject, skus: list[str]
) -> None:
    transfer = a_transfer(*((sku, 5) for sku in skus))
    listed = data.draw(st.lists(st.sampled_from(skus), unique=True))
    lines = [(sku, data.draw(st.integers(0, MAX_QUANTITY))) for sku in listed]
    assert counted(transfer, lines) == {sku: dict(lines).get(sku, 0) for sku in skus}


# --------------------------------------------------------------------------- reception


def test_a_line_not_received_yet_has_no_discrepancy_and_a_counted_one_its_difference() -> None:
    assert TransferLine("TEE-M", 4, 4).discrepancy is None
    assert TransferLine("TEE-M", 4, 4, received=4).discrepancy == 0
    assert TransferLine("TEE-M", 4, 4, received=1).discrepancy == -3
    assert TransferLine("TEE-M", 4, 3, received=5).discrepancy == 2


@pytest.mark.parametrize(
    ("shipped", "received", "moved", "discrepancy"),
    [
        (4, 4, Deltas(on_hand=4, inbound=-4), None),
        (4, 3, Deltas(on_hand=3, inbound=-3), Deltas(inbound=-1)),
        (4, 0, Deltas(), Deltas(inbound=-4)),
        (4, 6, Deltas(on_hand=4, inbound=-4), Deltas(on_hand=2)),
        (0, 2, Deltas(), Deltas(on_hand=2)),
        (0, 0, Deltas(), None),
    ],
    ids=[
        "all arrived",
        "one short leaves inbound as a discrepancy",
        "nothing arrived",
        "two over go on hand as a discrepancy",
        "units of a line shrunk to nothing arrived anyway",
        "nothing carried nothing arrived",
    ],
)
def test_reception_moves_what_arrived_as_shipped_and_records_the_difference(
    shipped: int, received: int, moved: Deltas, discrepancy: Deltas | None
) -> None:
    line = TransferLine("TEE-M", shipped, shipped)
    assert reception(line, received) == (moved, discrepancy)


@given(shipped=st.integers(0, MAX_QUANTITY), received=st.integers(0, MAX_QUANTITY))
def test_reception_adds_what_arrived_on_hand_takes_what_was_shipped_off_inbound_and_nothing_else(
    shipped: int, received: int
) -> None:
    moved, discrepancy = reception(TransferLine("TEE-M", shipped, shipped), received)
    total = moved + (discrepancy or Deltas())
    assert total == Deltas(on_hand=received, inbound=-shipped)
    assert (discrepancy is None) == (received == shipped)
    assert moved.on_hand == -moved.inbound  # transfer_in: from inbound to on hand, as shipped
    for step in (moved, discrepancy or Deltas()):
        assert step.reserved == step.unsellable == 0
        # The destination holds the shipped units inbound, maybe nothing more: no step may
        # take away what it does not hold, in whichever order the two are applied.
        assert Position(inbound=shipped).apply(step).is_physically_possible
    after = Position(inbound=shipped).apply(moved).apply(discrepancy or Deltas())
    assert after == Position(on_hand=received, inbound=0)
