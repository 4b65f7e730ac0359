"""Stock movements, the unified stock of an item, its ledger and the event feed over HTTP."""

from __future__ import annotations

import datetime as dt
import itertools

from omnistock.services import stock

ZERO = {"on_hand": 0, "reserved": 0, "unsellable": 0, "inbound": 0, "available": 0}


def quantities(on_hand=0, reserved=0, unsellable=0, inbound=0) -> dict[str, int]:
    return {
        "on_hand": on_hand,
        "reserved": reserved,
        "unsellable": unsellable,
        "inbound": inbound,
        "available": on_hand - reserved - unsellable,
    }


def deltas(on_hand=0, reserved=0, unsellable=0, inbound=0) -> dict[str, int]:
    return {"on_hand": on_hand, "reserved": reserved, "unsellable": unsellable, "inbound": inbound}


# (what happened before, the movement, its deltas, the position after)
MOVEMENTS = {
    "a receipt adds units on hand": ([], ("receipt", 5), deltas(5), quantities(5)),
    "a sale takes units off hand": ([("receipt", 10)], ("sale", 3), deltas(-3), quantities(7)),
    "a negative adjustment takes units off hand": (
        [("receipt", 10)],
        ("adjustment", -2),
        deltas(-2),
        quantities(8),
    ),
    "a positive adjustment adds units on hand": (
        [("receipt", 10)],
        ("adjustment", 4),
        deltas(4),
        quantities(14),
    ),
    "a count sets on hand to what was counted": (
        [("receipt", 10), ("damage", 2)],
        ("count", 6),
        deltas(-4),
        quantities(6, unsellable=2),
    ),
    "a count below the unsellable units takes them too": (
        [("receipt", 10), ("damage", 2)],
        ("count", 1),
        deltas(-9, unsellable=-1),
        quantities(1, unsellable=1),
    ),
    "a count of zero empties the position": (
        [("receipt", 3)],
        ("count", 0),
        deltas(-3),
        quantities(0),
    ),
    "a count of an item never stocked there creates the position": (
        [],
        ("count", 4),
        deltas(4),
        quantities(4),
    ),
    "damage marks units unsellable": (
        [("receipt", 10)],
        ("damage", 2),
        deltas(unsellable=2),
        quantities(10, unsellable=2),
    ),
    "dispose removes unsellable units": (
        [("receipt", 10), ("damage", 2)],
        ("dispose", 1),
        deltas(-1, unsellable=-1),
        quantities(9, unsellable=1),
    ),
}


def test_each_movement_type_answers_201_with_its_deltas_and_the_new_position(
    shop, location, subtests
) -> None:
    for n, (case, (before, (type_, quantity), applied, after)) in enumerate(MOVEMENTS.items()):
        sku = f"SKU-{n}"  # a fresh position for each case
        shop.item(sku)
        for earlier in before:
            shop.moved(*earlier, sku=sku)
        with subtests.test(case):
            response = shop.move(
                type_, quantity, sku=sku, reason="weekly routine", reference="DOC-42"
            )

            assert response.status_code == 201, response.text
            body = response.json()
            assert body["position"] == {"sku": sku, "location": location, **after}
            recorded = body["movement"]
            assert {k: recorded[k] for k in applied} == applied
            assert (recorded["type"], recorded["sku"], recorded["location"]) == (
                type_,
                sku,
                location,
            )
            assert (recorded["reason"], recorded["reference"]) == ("weekly routine", "DOC-42")
            assert isinstance(recorded["id"], int)
            assert shop.position(sku) == after
            assert shop.ledger(sku)[-1] == recorded


def test_a_movement_is_stamped_in_iso_8601_utc_and_its_notes_are_optional(
    shop, item, location
) -> None:
    before = dt.datetime.now(dt.UTC)

    recorded = shop.moved("receipt", 1)["movement"]

    assert recorded["at"].endswith("Z")
    at = dt.datetime.fromisoformat(recorded["at"])
    assert at.utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(minutes=1) <= at <= dt.datetime.now(dt.UTC)
    assert (recorded["reason"], recorded["reference"]) == (None, None)


def test_the_stock_of_an_item_lists_every_position_and_their_total(shop, item) -> None:
    shop.location("WH-1")
    shop.location("ST-LYON", type="store", pickup_enabled=True)
    shop.moved("receipt", 10, location="WH-1")
    shop.moved("damage", 3, location="WH-1")
    shop.moved("receipt", 4, location="ST-LYON")
    shop.moved("sale", 1, location="ST-LYON")

    response = shop.client.get(f"/v1/stock/{item}")

    assert response.status_code == 200
    assert response.json() == {
        "sku": item,
        "positions": [
            {"location": "ST-LYON", **quantities(3)},
            {"location": "WH-1", **quantities(10, unsellable=3)},
        ],
        "total": quantities(13, unsellable=3),
    }


def test_an_item_never_stocked_has_no_positions_a_zero_total_and_an_empty_ledger(
    shop, item, location
) -> None:
    shop.item("SHIRT-L")
    shop.moved("receipt", 7, sku="SHIRT-L")

    assert shop.stock(item) == {"sku": item, "positions": [], "total": ZERO}
    assert shop.ledger(item) == []
    assert shop.stock("SHIRT-L")["total"] == quantities(7)


def test_the_ledger_lists_movements_oldest_first_with_their_deltas(shop, item, location) -> None:
    recorded = [
        shop.moved("receipt", 10, reference="PO-1")["movement"],
        shop.moved("sale", 2, reference="POS-7")["movement"],
        shop.moved("damage", 1)["movement"],
        shop.moved("count", 7)["movement"],
    ]

    ledger = shop.ledger(item)

    assert ledger == recorded
    assert [m["id"] for m in ledger] == sorted(m["id"] for m in ledger)
    assert [(m["type"], m["on_hand"], m["unsellable"]) for m in ledger] == [
        ("receipt", 10, 0),
        ("sale", -2, 0),
        ("damage", 0, 1),
        ("count", -1, 0),
    ]
    assert sum(m["on_hand"] for m in ledger) == shop.position()["on_hand"]


def test_the_ledger_can_be_narrowed_to_one_location(shop, item) -> None:
    shop.location("WH-1")
    shop.location("ST-LYON", type="store")
    shop.moved("receipt", 5, location="WH-1")
    at_lyon = shop.moved("receipt", 3, location="ST-LYON")["movement"]
    shop.moved("receipt", 1, location="WH-1")

    assert shop.ledger(item, location="ST-LYON") == [at_lyon]
    assert [m["location"] for m in shop.ledger(item)] == ["WH-1", "ST-LYON", "WH-1"]


def test_the_ledger_pages_with_after_and_limit(shop, item, location) -> None:
    recorded = [shop.moved("receipt", n)["movement"] for n in range(1, 6)]

    first = shop.ledger(item, limit=2)
    second = shop.ledger(item, after=first[-1]["id"], limit=2)
    third = shop.ledger(item, after=second[-1]["id"], limit=2)
    past_the_end = shop.ledger(item, after=third[-1]["id"], limit=2)

    assert first + second + third == recorded
    assert [len(first), len(second), len(third), len(past_the_end)] == [2, 2, 1, 0]


def test_an_unknown_item_in_the_path_is_a_404_and_a_location_in_the_query_a_422(
    client, item, problem
) -> None:
    problem(client.get("/v1/stock/NOPE"), 404, field="sku")
    problem(client.get("/v1/stock/NOPE/movements"), 404, field="sku")
    at_nowhere = client.get(f"/v1/stock/{item}/movements", params={"location": "NOWHERE"})
    problem(at_nowhere, 422, field="location")


def test_positions_equal_the_sum_of_their_movements_after_every_type(
    shop, item, location, db
) -> None:
    for type_, quantity in [
        ("receipt", 20),
        ("sale", 3),
        ("adjustment", -1),
        ("damage", 4),
        ("dispose", 2),
        ("count", 9),
        ("adjustment", 2),
    ]:
        shop.moved(type_, quantity)

    ledger = shop.ledger(item)
    summed = {
        k: sum(m[k] for m in ledger) for k in ("on_hand", "reserved", "unsellable", "inbound")
    }
    assert shop.position() == quantities(**summed)
    with db.reading() as reads:
        assert list(stock.check(reads)) == []


def test_every_stock_change_is_in_the_event_feed_with_the_new_position(shop) -> None:
    assert shop.client.get("/v1/events").json() == {"events": [], "next": 0}
    item, location = shop.item()["sku"], shop.location()["code"]
    shop.moved("receipt", 10)
    shop.moved("sale", 4)

    page = shop.client.get("/v1/events").json()

    changes = [e for e in page["events"] if e["type"] == "stock.changed"]
    assert [e["data"] for e in changes] == [
        {"sku": item, "location": location, **quantities(10)},
        {"sku": item, "location": location, **quantities(6)},
    ]
    seqs = [e["seq"] for e in page["events"]]
    assert seqs == sorted(set(seqs))
    assert page["next"] == seqs[-1]
    for event in page["events"]:
        assert dt.datetime.fromisoformat(event["at"]).utcoffset() == dt.timedelta(0)


def test_the_event_feed_pages_in_strictly_increasing_seq_with_next(shop, item, location) -> None:
    for n in range(1, 6):
        shop.moved("receipt", n)
    everything = shop.client.get("/v1/events").json()["events"]  # item, location, 5 changes

    seen, after = [], 0
    for _ in range(len(everything) + 1):
        page = shop.client.get("/v1/events", params={"after": after, "limit": 3}).json()
        assert len(page["events"]) <= 3
        if not page["events"]:
            assert page["next"] == after
            break
        seen += page["events"]
        after = page["next"]
    assert seen == everything
    seqs = [e["seq"] for e in seen]
    assert all(a < b for a, b in itertools.pairwise(seqs))
    assert len(everything) == 7


def test_a_refused_movement_adds_nothing_to_the_event_feed(shop, item, location) -> None:
    shop.moved("receipt", 1)
    before = shop.client.get("/v1/events").json()

    assert shop.move("sale", 2).status_code == 409

    assert shop.client.get("/v1/events").json() == before
