"""Who sees which transfers: lists oldest first, filtered by status and location, each transfer as
it reads alone, a page at a time, and a bad listing is a 422 naming the parameter; a read-only key
sees transfers but cannot make or move them, a write key moves them but reads none, and the stock
view shows transfers on their way only to a key that may read transfers.
"""

from __future__ import annotations

import pytest
from orders_helpers import (
    receive,
)
from transfers_helpers import (
    TRANSFERS,
    act,
    acted,
    at,
    counted,
    create,
    created,
    in_status,
    listed,
    quantities,
    read,
    transfer,
)

from scoped_keys import key_with

pytestmark = pytest.mark.usefixtures("books_balance")


# --------------------------------------------------------------------------- listing


@pytest.fixture
def five_transfers(client, shop, france) -> dict[str, int]:
    """One transfer in each status, and two shipped, with their ids by name."""
    receive(shop, "TEE-M", {"WH-PARIS": 10, "WH-LYON": 10})
    paris_lyon = created(client, ("TEE-M", 1))
    paris_warehouse = created(client, ("TEE-M", 1), to="WH-LYON")
    acted(client, paris_warehouse["id"], "ship")
    supplier_lyon = created(client, ("TEE-M", 9), origin=None)
    lyon_nice = created(client, ("TEE-M", 2), origin="WH-LYON", to="ST-NICE")
    acted(client, lyon_nice["id"], "cancel")
    supplier_paris = created(client, ("TEE-M", 3), origin=None, to="WH-PARIS")
    acted(client, supplier_paris["id"], "receive", counted(("TEE-M", 3)))
    return {
        "paris-lyon": paris_lyon["id"],
        "paris-warehouse": paris_warehouse["id"],
        "supplier-lyon": supplier_lyon["id"],
        "lyon-nice": lyon_nice["id"],
        "supplier-paris": supplier_paris["id"],
    }


def test_transfers_are_listed_oldest_first_by_status_and_location(client, five_transfers) -> None:
    ids = five_transfers

    assert listed(client) == list(ids.values())
    assert listed(client, status="open") == [ids["paris-lyon"]]
    assert listed(client, status="shipped") == [ids["paris-warehouse"], ids["supplier-lyon"]]
    assert listed(client, status="received") == [ids["supplier-paris"]]
    assert listed(client, status="cancelled") == [ids["lyon-nice"]]
    assert listed(client, location="ST-LYON") == [ids["paris-lyon"], ids["supplier-lyon"]]
    assert listed(client, location="WH-LYON") == [ids["paris-warehouse"], ids["lyon-nice"]]
    assert listed(client, location="WH-PARIS", status="shipped") == [ids["paris-warehouse"]]
    assert listed(client, location="ST-CLOSED") == []


def test_a_listed_transfer_is_the_transfer_as_read_alone(client, five_transfers) -> None:
    page = client.get(TRANSFERS).json()["transfers"]

    assert page == [read(client, transfer_id) for transfer_id in five_transfers.values()]


def test_transfers_come_a_page_at_a_time_and_next_leads_to_the_following_page(
    client, five_transfers
) -> None:
    ids = list(five_transfers.values())

    first = client.get(TRANSFERS, params={"limit": 2}).json()
    second = client.get(TRANSFERS, params={"limit": 2, "after": first["next"]}).json()
    third = client.get(TRANSFERS, params={"limit": 2, "after": second["next"]}).json()

    assert [x["id"] for x in first["transfers"]] == ids[:2]
    assert [x["id"] for x in second["transfers"]] == ids[2:4]
    assert [x["id"] for x in third["transfers"]] == ids[4:]
    assert (first["next"], second["next"], third["next"]) == (ids[1], ids[3], None)


BAD_LISTINGS = {
    "an unknown status": ({"status": "lost"}, "status"),
    "a limit of zero": ({"limit": 0}, "limit"),
    "a limit over 500": ({"limit": 501}, "limit"),
    "a negative after": ({"after": -1}, "after"),
    "a location that is no key": ({"location": "bad key"}, "location"),
}


@pytest.mark.parametrize("params, field", BAD_LISTINGS.values(), ids=BAD_LISTINGS.keys())
def test_a_bad_listing_is_a_422_naming_the_parameter(
    client, france, problem, params, field
) -> None:
    problem(client.get(TRANSFERS, params=params), 422, field=field)


# --------------------------------------------------------------------------- scopes


def test_a_read_only_key_sees_transfers_but_cannot_make_or_move_them(
    client, shop, france, db, unchanged, problem
) -> None:
    found = in_status(client, shop, "open")
    reader = key_with(db, "transfers:read")

    assert client.get(f"{TRANSFERS}/{found['id']}", headers=reader).json() == found
    assert client.get(TRANSFERS, headers=reader).status_code == 200
    with unchanged():
        problem(create(client, transfer(("TEE-M", 1)), headers=reader), 403)
        problem(act(client, found["id"], "ship", headers=reader), 403)
        problem(act(client, found["id"], "cancel", headers=reader), 403)


def test_a_key_that_may_not_read_transfers_does_not_see_them_in_the_stock_view(
    client, shop, france, db, problem
) -> None:
    found = in_status(client, shop, "shipped")
    stock_reader = key_with(db, "stock:read")
    everything = client.get("/v1/stock/TEE-M", params={"include": "inbound"})
    [at_lyon] = [p for p in everything.json()["positions"] if p["location"] == "ST-LYON"]
    assert [x["transfer_id"] for x in at_lyon["inbound_transfers"]] == [found["id"]]
    assert client.get("/v1/stock/TEE-M", headers=stock_reader).status_code == 200

    refused = client.get("/v1/stock/TEE-M", params={"include": "inbound"}, headers=stock_reader)

    assert "transfers:read" in problem(refused, 403)["detail"]


def test_a_write_key_moves_transfers_and_other_keys_see_none(
    client, shop, france, db, problem
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    writer = key_with(db, "transfers:write")
    stock_reader = key_with(db, "stock:read", "orders:read")

    response = create(client, transfer(("TEE-M", 4)), headers=writer)
    assert response.status_code == 201, response.text
    transfer_id = response.json()["id"]
    assert act(client, transfer_id, "ship", headers=writer).status_code == 200

    problem(client.get(TRANSFERS, headers=writer), 403)
    problem(client.get(f"{TRANSFERS}/{transfer_id}", headers=stock_reader), 403)
    problem(create(client, transfer(("TEE-M", 1)), headers=stock_reader), 403)
    assert at(shop, "WH-PARIS") == quantities(on_hand=6)
