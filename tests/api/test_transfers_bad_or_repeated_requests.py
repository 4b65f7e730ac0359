"""A bad transfer (unknown places or items, a sku twice, a quantity that is no positive integer, an
eta without its zone or out of the calendar) is a problem naming its field and changes nothing; a
transfer, a ship or a receive sent again with the same `Idempotency-Key` changes stock once and
answers the same (DESIGN invariants 3 and 5).
"""

from __future__ import annotations

import pytest
from orders_helpers import (
    events,
    receive,
)
from transfers_helpers import (
    act,
    at,
    counted,
    create,
    in_status,
    ledger,
    listed,
    quantities,
    transfer,
)

pytestmark = pytest.mark.usefixtures("books_balance")


# --------------------------------------------------------------------------- bad requests


BAD_TRANSFERS = {
    "from and to the same": (transfer(("TEE-M", 1), to="WH-PARIS"), 422, "to"),
    "an unknown origin": (transfer(("TEE-M", 1), origin="WH-NOWHERE"), 422, "from"),
    "an unknown destination": (transfer(("TEE-M", 1), to="ST-NOWHERE"), 422, "to"),
    "an unknown destination for a supplier": (
        transfer(("TEE-M", 1), origin=None, to="ST-NOWHERE"),
        422,
        "to",
    ),
    "an unknown item": (transfer(("TEE-M", 1), ("HAT", 1)), 422, "lines[1].sku"),
    "an unknown item first": (transfer(("HAT", 1)), 422, "lines[0].sku"),
    "a sku twice": (transfer(("TEE-M", 1), ("TEE-M", 2)), 422, "lines[1].sku"),
    "a quantity of zero": (transfer(("TEE-M", 0)), 422, "lines[0].quantity"),
    "a negative quantity": (transfer(("TEE-M", -2)), 422, "lines[0].quantity"),
    "a quantity as a string": (
        {"from": "WH-PARIS", "to": "ST-LYON", "lines": [{"sku": "TEE-M", "quantity": "1"}]},
        422,
        "lines[0].quantity",
    ),
    "empty lines": (transfer(), 422, "lines"),
    "no lines": ({"from": "WH-PARIS", "to": "ST-LYON"}, 422, "lines"),
    "no destination": ({"from": "WH-PARIS", "lines": [{"sku": "TEE-M", "quantity": 1}]}, 422, "to"),
    "an eta with no zone": (transfer(("TEE-M", 1), eta="2026-12-01T08:00:00"), 422, "eta"),
    "an eta with no zone for a supplier": (
        transfer(("TEE-M", 1), origin=None, eta="2026-12-01T08:00:00"),
        422,
        "eta",
    ),
    "an eta that is no time": (transfer(("TEE-M", 1), eta="next week"), 422, "eta"),
    "an origin that is no key": (transfer(("TEE-M", 1), origin="bad key"), 422, "from"),
    "a reference over 200 characters": (
        transfer(("TEE-M", 1), reference="x" * 201),
        422,
        "reference",
    ),
}


@pytest.mark.parametrize("body, status, field", BAD_TRANSFERS.values(), ids=BAD_TRANSFERS.keys())
def test_a_bad_transfer_is_a_problem_naming_the_field_and_changes_nothing(
    client, shop, france, unchanged, problem, body, status, field
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})

    with unchanged():
        response = create(client, body)

    problem(response, status, field=field)


@pytest.mark.parametrize(
    "eta", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", 12345, "12345"]
)
def test_an_eta_out_of_the_calendar_once_in_utc_or_a_bare_number_is_a_422(
    client, shop, france, unchanged, problem, eta
) -> None:
    with unchanged():
        response = create(client, transfer(("TEE-M", 1), origin=None, eta=eta))

    problem(response, 422, field="eta")


# --------------------------------------------------------------------------- the same request again


def test_a_transfer_posted_twice_with_the_same_key_is_made_once(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    key = {"Idempotency-Key": "transfer-TR-1"}

    first = create(client, transfer(("TEE-M", 4)), headers=key)
    again = create(client, transfer(("TEE-M", 4)), headers=key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert listed(client) == [first.json()["id"]]
    assert at(shop, "WH-PARIS") == quantities(on_hand=10, reserved=4)
    assert len(events(client, "transfer.created")) == 1


def test_a_ship_repeated_with_the_same_key_ships_once_and_answers_the_same(
    client, shop, france, problem
) -> None:
    found = in_status(client, shop, "open")
    key = {"Idempotency-Key": "ship-TR-1"}

    first = act(client, found["id"], "ship", headers=key)
    again = act(client, found["id"], "ship", headers=key)

    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert at(shop, "WH-PARIS") == quantities(on_hand=6)
    assert at(shop, "ST-LYON") == quantities(inbound=4)
    assert [m[0] for m in ledger(shop)].count("transfer_out") == 1
    problem(act(client, found["id"], "ship"), 409)  # without the key: it is shipped already


def test_a_receive_repeated_with_the_same_key_counts_once(client, shop, france) -> None:
    found = in_status(client, shop, "shipped")
    key = {"Idempotency-Key": "receive-TR-1"}

    first = act(client, found["id"], "receive", counted(("TEE-M", 3)), headers=key)
    again = act(client, found["id"], "receive", counted(("TEE-M", 3)), headers=key)

    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert at(shop, "ST-LYON") == quantities(on_hand=3)
