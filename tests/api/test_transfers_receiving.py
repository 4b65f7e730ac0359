"""Receiving a transfer closes it: the units counted go on hand at the destination and leave
`inbound`; a shortfall, a surplus, nothing counted or a sku left out of the count is a discrepancy,
on the transfer and in the ledger; a bad count is a 422 naming the line, and the transfer stays
shipped.
"""

from __future__ import annotations

import pytest
from orders_helpers import (
    receive,
)
from transfers_helpers import (
    ZERO,
    act,
    acted,
    at,
    ats,
    counted,
    created,
    ledger,
    quantities,
    read,
    recently,
)

pytestmark = pytest.mark.usefixtures("books_balance")


def test_receiving_what_was_shipped_puts_it_on_hand_with_no_discrepancy(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    body = created(client, ("TEE-M", 4))
    acted(client, body["id"], "ship")

    received = acted(client, body["id"], "receive", counted(("TEE-M", 4)))

    assert received["status"] == "received"
    assert recently(received["received_at"])
    assert received["lines"] == [{"sku": "TEE-M", "requested": 4, "quantity": 4, "received": 4}]
    assert received["discrepancies"] == []
    assert at(shop, "WH-PARIS") == quantities(on_hand=6)
    assert at(shop, "ST-LYON") == quantities(on_hand=4)
    assert shop.stock("TEE-M")["total"] == quantities(on_hand=10)
    assert ats(client) == 10
    assert ledger(shop)[-1] == ("transfer_in", "ST-LYON", 4, 0, -4, f"transfer:{body['id']}")


def test_a_shortfall_is_a_discrepancy_and_leaves_nothing_inbound(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    body = created(client, ("TEE-M", 4))
    acted(client, body["id"], "ship")

    received = acted(client, body["id"], "receive", counted(("TEE-M", 3)))

    assert received["lines"] == [{"sku": "TEE-M", "requested": 4, "quantity": 4, "received": 3}]
    assert received["discrepancies"] == [
        {"sku": "TEE-M", "shipped": 4, "received": 3, "difference": -1}
    ]
    assert at(shop, "ST-LYON") == quantities(on_hand=3)
    assert shop.stock("TEE-M")["total"] == quantities(on_hand=9)
    reference = f"transfer:{body['id']}"
    assert ledger(shop)[-2:] == [
        ("transfer_in", "ST-LYON", 3, 0, -3, reference),
        ("discrepancy", "ST-LYON", 0, 0, -1, reference),
    ]


def test_a_surplus_is_a_discrepancy_and_goes_on_hand(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    body = created(client, ("TEE-M", 4))
    acted(client, body["id"], "ship")

    received = acted(client, body["id"], "receive", counted(("TEE-M", 6)))

    assert received["discrepancies"] == [
        {"sku": "TEE-M", "shipped": 4, "received": 6, "difference": 2}
    ]
    assert at(shop, "ST-LYON") == quantities(on_hand=6)
    assert shop.stock("TEE-M")["total"] == quantities(on_hand=12)
    reference = f"transfer:{body['id']}"
    assert ledger(shop)[-2:] == [
        ("transfer_in", "ST-LYON", 4, 0, -4, reference),
        ("discrepancy", "ST-LYON", 2, 0, 0, reference),
    ]


def test_a_transfer_received_with_nothing_counted_lost_every_unit(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    body = created(client, ("TEE-M", 4))
    acted(client, body["id"], "ship")

    received = acted(client, body["id"], "receive", {"lines": []})

    assert received["status"] == "received"
    assert received["lines"] == [{"sku": "TEE-M", "requested": 4, "quantity": 4, "received": 0}]
    assert received["discrepancies"] == [
        {"sku": "TEE-M", "shipped": 4, "received": 0, "difference": -4}
    ]
    assert at(shop, "ST-LYON") == ZERO
    assert shop.stock("TEE-M")["total"] == quantities(on_hand=6)
    assert ledger(shop)[-1] == ("discrepancy", "ST-LYON", 0, 0, -4, f"transfer:{body['id']}")
    assert "transfer_in" not in [m[0] for m in ledger(shop)]


def test_a_sku_left_out_of_the_count_did_not_arrive(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    receive(shop, "MUG", {"WH-PARIS": 5})
    body = created(client, ("TEE-M", 4), ("MUG", 2))
    acted(client, body["id"], "ship")

    received = acted(client, body["id"], "receive", counted(("TEE-M", 4)))

    assert received["discrepancies"] == [
        {"sku": "MUG", "shipped": 2, "received": 0, "difference": -2}
    ]
    assert at(shop, "ST-LYON", "TEE-M") == quantities(on_hand=4)
    assert at(shop, "ST-LYON", "MUG") == ZERO


BAD_COUNTS = {
    "a sku not on the transfer": (counted(("MUG", 1)), "lines[0].sku"),
    "a sku counted twice": (counted(("TEE-M", 2), ("TEE-M", 2)), "lines[1].sku"),
    "a negative quantity": (counted(("TEE-M", -1)), "lines[0].quantity"),
    "a quantity as a string": ({"lines": [{"sku": "TEE-M", "quantity": "4"}]}, "lines[0].quantity"),
    "no lines at all": ({}, "lines"),
    "a line with no sku": ({"lines": [{"quantity": 4}]}, "lines[0].sku"),
}


@pytest.mark.parametrize("body, field", BAD_COUNTS.values(), ids=BAD_COUNTS.keys())
def test_a_bad_count_is_a_422_naming_the_line_and_the_transfer_stays_shipped(
    client, shop, france, unchanged, problem, body, field
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    receive(shop, "MUG", {"WH-PARIS": 10})
    found = created(client, ("TEE-M", 4))
    acted(client, found["id"], "ship")

    with unchanged():
        response = act(client, found["id"], "receive", body)

    problem(response, 422, field=field)
    assert read(client, found["id"])["status"] == "shipped"
