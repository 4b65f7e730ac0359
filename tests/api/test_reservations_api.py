"""Cart holds over HTTP: reserve, release, expire, and never hold what is not there (issue 3).

A small French retailer: warehouses in Paris and Lyon, a store in Marseille. The web shop
sells from all three, the stores channel from the store, a marketplace from the warehouses.
Coordinates are real, so "nearest" means what a customer would expect.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from omnistock.domain.catalog import Item
from omnistock.services import catalog, reservations, stock

PARIS = {"lat": 48.8566, "lon": 2.3522}
LYON = {"lat": 45.7640, "lon": 4.8357}
MARSEILLE = {"lat": 43.2965, "lon": 5.3698}
AIX_EN_PROVENCE = {"lat": 43.5297, "lon": 5.4474}  # 27 km from Marseille, 250 from Lyon
VILLEURBANNE = {"lat": 45.7719, "lon": 4.8902}  # next door to Lyon
VERSAILLES = {"lat": 48.8049, "lon": 2.1204}  # next door to Paris


def utc(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    assert moment.utcoffset() == dt.timedelta(0), text
    return moment


def hold(client, *lines: tuple[str, int], channel: str = "web", headers=None, **fields):
    body = {"channel": channel, "lines": [{"sku": s, "quantity": q} for s, q in lines], **fields}
    return client.post("/v1/reservations", json=body, headers=headers)


def held(client, *lines: tuple[str, int], **fields) -> dict:
    """A hold that must be granted; returns the reservation."""
    response = hold(client, *lines, **fields)
    assert response.status_code == 201, response.text
    body: dict = response.json()
    return body


def allocations(reservation: dict) -> list[tuple[str, str, int]]:
    """Where the units were held, as sorted (location, sku, quantity)."""
    return sorted((a["location"], a["sku"], a["quantity"]) for a in reservation["allocations"])


def ats(client, sku: str = "TEE-M", channel: str = "web") -> int:
    response = client.get(f"/v1/availability/{sku}", params={"channel": channel})
    assert response.status_code == 200, response.text
    units: int = response.json()["available_to_sell"]
    return units


def reserved(shop, sku: str = "TEE-M") -> dict[str, int]:
    """Units reserved at each location holding the sku."""
    return {p["location"]: p["reserved"] for p in shop.stock(sku)["positions"]}


def events(client, kind: str) -> list[dict]:
    page = client.get("/v1/events", params={"limit": 1000}).json()["events"]
    return [e["data"] for e in page if e["type"] == kind]


def short(*lines: tuple[str, int, int]) -> list[dict]:
    return [{"sku": s, "requested": r, "available": a} for s, r, a in lines]


def assert_ledger_is_exact(db) -> None:
    with db.reading() as reads:
        assert list(stock.check(reads)) == []


def wait_until_expired(reservation: dict) -> None:
    """Sleep until just past the hold's own `expires_at` (no timing is asserted)."""
    left = utc(reservation["expires_at"]) - dt.datetime.now(dt.UTC)
    time.sleep(max(0.0, left.total_seconds()) + 0.1)


@pytest.fixture
def france(shop) -> None:
    """Locations, items and channels; no stock (each test receives what it needs)."""
    shop.location("WH-PARIS", name="Paris warehouse", **PARIS)
    shop.location("WH-LYON", name="Lyon warehouse", **LYON)
    shop.location(
        "ST-MARSEILLE",
        name="Marseille store",
        type="store",
        pickup_enabled=True,
        priority=1,  # the most preferred location of all, yet a store
        **MARSEILLE,
    )
    shop.location("WH-OLD", name="Closed warehouse", active=False, **PARIS)
    for sku, name in (("TEE-M", "Tee, size M"), ("MUG", "Mug"), ("CAP", "Cap")):
        shop.item(sku, name=name)
    for code, body in {
        "web": {"name": "Web shop"},  # every active ship-enabled location
        "stores": {"name": "Stores", "location_types": ["store"]},
        "mp": {"name": "Marketplace", "location_types": ["warehouse"]},
    }.items():
        response = shop.client.put(f"/v1/channels/{code}", json=body)
        assert response.status_code == 201, response.text


def receive(shop, sku: str, units: dict[str, int]) -> None:
    for code, quantity in units.items():
        shop.moved("receipt", quantity, sku=sku, location=code)


def rule(client, **body) -> dict:
    response = client.post("/v1/buffer-rules", json=body)
    assert response.status_code == 201, response.text
    answer: dict = response.json()
    return answer


EVERYWHERE = {"WH-PARIS": 10, "WH-LYON": 10, "ST-MARSEILLE": 10}


# --------------------------------------------------------------------------- the answer


def test_a_hold_answers_201_with_the_reservation_and_where_it_holds_the_units(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", EVERYWHERE)
    receive(shop, "MUG", {"WH-PARIS": 4})
    asked = dt.datetime.now(dt.UTC)

    response = hold(client, ("TEE-M", 3), ("MUG", 2))

    answered = dt.datetime.now(dt.UTC)
    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body["id"], str) and body["id"]
    assert body == {
        "id": body["id"],
        "status": "active",
        "channel": "web",
        "expires_at": body["expires_at"],
        "lines": [{"sku": "TEE-M", "quantity": 3}, {"sku": "MUG", "quantity": 2}],
        "allocations": body["allocations"],
    }
    assert allocations(body) == [("WH-LYON", "TEE-M", 3), ("WH-PARIS", "MUG", 2)]
    expires_at = utc(body["expires_at"])
    assert asked + dt.timedelta(seconds=899) <= expires_at  # 15 minutes by default
    assert expires_at <= answered + dt.timedelta(seconds=901)


def test_a_hold_can_last_a_day_at_most(client, shop, france) -> None:
    receive(shop, "TEE-M", EVERYWHERE)
    asked = dt.datetime.now(dt.UTC)

    body = held(client, ("TEE-M", 1), ttl_seconds=86_400)

    expires_at = utc(body["expires_at"])
    assert asked + dt.timedelta(days=1, seconds=-1) <= expires_at
    assert expires_at <= dt.datetime.now(dt.UTC) + dt.timedelta(days=1, seconds=1)


def test_a_hold_reads_back_as_it_was_answered(client, shop, france) -> None:
    receive(shop, "TEE-M", EVERYWHERE)
    body = held(client, ("TEE-M", 12), ship_to=AIX_EN_PROVENCE)

    response = client.get(f"/v1/reservations/{body['id']}")

    assert response.status_code == 200, response.text
    assert response.json() == body


def test_reading_a_hold_changes_nothing(client, shop, france, unchanged) -> None:
    receive(shop, "TEE-M", EVERYWHERE)
    body = held(client, ("TEE-M", 1))

    with unchanged():
        client.get(f"/v1/reservations/{body['id']}")


# --------------------------------------------------------------------------- where it holds


def test_without_ship_to_a_warehouse_is_taken_before_a_store_even_a_preferred_store(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", EVERYWHERE)

    body = held(client, ("TEE-M", 4))

    assert allocations(body) == [("WH-LYON", "TEE-M", 4)]  # same priority: by code
    assert reserved(shop) == {"ST-MARSEILLE": 0, "WH-LYON": 4, "WH-PARIS": 0}


def test_without_ship_to_warehouses_are_taken_by_priority_then_by_code_then_stores(
    client, shop, france
) -> None:
    shop.location("WH-PARIS", name="Paris warehouse", priority=50, **PARIS)
    shop.location("WH-LILLE", name="Lille warehouse", lat=50.6292, lon=3.0573)
    receive(shop, "TEE-M", {"WH-PARIS": 2, "WH-LILLE": 2, "WH-LYON": 3, "ST-MARSEILLE": 10})

    body = held(client, ("TEE-M", 9))

    assert allocations(body) == [
        ("ST-MARSEILLE", "TEE-M", 2),  # the stores come last
        ("WH-LILLE", "TEE-M", 2),  # priority 100, and LILLE comes before LYON
        ("WH-LYON", "TEE-M", 3),
        ("WH-PARIS", "TEE-M", 2),  # priority 50 goes first
    ]
    assert held(client, ("TEE-M", 1))["allocations"] == [
        {"location": "ST-MARSEILLE", "sku": "TEE-M", "quantity": 1}
    ]


def test_with_ship_to_the_nearest_location_is_taken_whatever_its_type(client, shop, france) -> None:
    receive(shop, "TEE-M", EVERYWHERE)

    for ship_to, nearest in (
        (AIX_EN_PROVENCE, "ST-MARSEILLE"),
        (VILLEURBANNE, "WH-LYON"),
        (VERSAILLES, "WH-PARIS"),
    ):
        body = held(client, ("TEE-M", 2), ship_to=ship_to)
        assert allocations(body) == [(nearest, "TEE-M", 2)], ship_to


def test_a_line_too_big_for_the_nearest_location_is_split_nearest_first(
    client, shop, france
) -> None:
    shop.location("WH-PARIS", name="Paris warehouse", priority=50, **PARIS)  # nearness first
    receive(shop, "TEE-M", {"ST-MARSEILLE": 2, "WH-LYON": 10, "WH-PARIS": 10})

    body = held(client, ("TEE-M", 13), ship_to=AIX_EN_PROVENCE)

    assert body["lines"] == [{"sku": "TEE-M", "quantity": 13}]
    assert allocations(body) == [
        ("ST-MARSEILLE", "TEE-M", 2),
        ("WH-LYON", "TEE-M", 10),
        ("WH-PARIS", "TEE-M", 1),
    ]
    assert reserved(shop) == {"ST-MARSEILLE": 2, "WH-LYON": 10, "WH-PARIS": 1}


def test_a_location_restricts_the_hold_to_it_even_when_another_is_nearer(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", EVERYWHERE)

    body = held(client, ("TEE-M", 3), location="WH-PARIS", ship_to=AIX_EN_PROVENCE)

    assert allocations(body) == [("WH-PARIS", "TEE-M", 3)]
    assert reserved(shop) == {"ST-MARSEILLE": 0, "WH-LYON": 0, "WH-PARIS": 3}


def test_a_location_with_too_few_units_refuses_though_others_have_plenty(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 2, "WH-LYON": 10})

    with unchanged():
        response = hold(client, ("TEE-M", 3), location="WH-PARIS")

    body = problem(response, 409)
    assert body["code"] == "insufficient-stock"
    assert body["lines"] == short(("TEE-M", 3, 2))


# --------------------------------------------------------------------------- buffers


def test_the_web_shop_cannot_hold_the_two_units_a_store_keeps_for_walk_in_customers(
    client, shop, france, unchanged, problem
) -> None:
    rule(client, channel="web", location_type="store", units=2)
    receive(shop, "TEE-M", {"ST-MARSEILLE": 3})

    with unchanged():
        refused = hold(client, ("TEE-M", 2), location="ST-MARSEILLE")
    assert problem(refused, 409)["lines"] == short(("TEE-M", 2, 1))

    assert allocations(held(client, ("TEE-M", 1), location="ST-MARSEILLE")) == [
        ("ST-MARSEILLE", "TEE-M", 1)
    ]
    with unchanged():
        again = hold(client, ("TEE-M", 1), ship_to=AIX_EN_PROVENCE)
    assert problem(again, 409)["lines"] == short(("TEE-M", 1, 0))
    assert allocations(held(client, ("TEE-M", 2), channel="stores")) == [
        ("ST-MARSEILLE", "TEE-M", 2)  # the stores channel has no such buffer
    ]


def test_a_split_takes_only_what_the_buffer_leaves_at_the_nearest_store(
    client, shop, france
) -> None:
    rule(client, channel="web", location_type="store", units=2)
    receive(shop, "TEE-M", {"ST-MARSEILLE": 3, "WH-LYON": 10})

    body = held(client, ("TEE-M", 3), ship_to=AIX_EN_PROVENCE)

    assert allocations(body) == [("ST-MARSEILLE", "TEE-M", 1), ("WH-LYON", "TEE-M", 2)]


def test_a_channel_can_hold_exactly_its_ats_and_never_one_unit_more(
    client, shop, france, unchanged, problem
) -> None:
    rule(client, channel="mp", percent=20)  # ceil(20% of available) kept back at each place
    rule(client, sku="MUG", units=5)  # everywhere, every channel
    receive(shop, "TEE-M", {"WH-LYON": 10, "WH-PARIS": 7, "ST-MARSEILLE": 4})
    receive(shop, "MUG", {"WH-LYON": 8, "ST-MARSEILLE": 6})

    for sku, channel in (("TEE-M", "mp"), ("MUG", "web"), ("TEE-M", "web")):
        for _ in range(6):
            units = ats(client, sku, channel)
            with unchanged():
                refused = hold(client, (sku, units + 1), channel=channel)
            assert problem(refused, 409)["lines"] == short((sku, units + 1, units))
            if units == 0:
                break
            held(client, (sku, units), channel=channel)
        assert ats(client, sku, channel) == 0, (sku, channel)

    positions = {p["location"]: p for p in shop.stock("MUG")["positions"]}
    assert {code: p["available"] for code, p in positions.items()} == {
        "ST-MARSEILLE": 5,
        "WH-LYON": 5,
    }


# --------------------------------------------------------------------------- stock follows


def test_a_hold_lowers_ats_and_releasing_it_gives_the_units_back(client, shop, france) -> None:
    receive(shop, "TEE-M", EVERYWHERE)
    body = held(client, ("TEE-M", 13), ship_to=AIX_EN_PROVENCE)
    assert ats(client) == 17
    assert ats(client, channel="stores") == 0

    response = client.delete(f"/v1/reservations/{body['id']}")

    assert response.status_code == 200, response.text
    assert response.json() == {**body, "status": "released"}
    assert ats(client) == 30
    assert ats(client, channel="stores") == 10
    assert set(reserved(shop).values()) == {0}
    assert client.get(f"/v1/reservations/{body['id']}").json()["status"] == "released"


def test_holds_and_releases_are_in_the_ledger_and_it_replays_exactly(
    client, shop, db, france
) -> None:
    receive(shop, "TEE-M", {"ST-MARSEILLE": 2, "WH-LYON": 10})
    receive(shop, "MUG", {"WH-LYON": 3})
    body = held(client, ("TEE-M", 5), ("MUG", 1), ship_to=AIX_EN_PROVENCE)
    client.delete(f"/v1/reservations/{body['id']}")

    def moves(sku: str) -> list[tuple[str, str, int, int, int, int]]:
        return [
            (m["type"], m["location"], m["on_hand"], m["reserved"], m["unsellable"], m["inbound"])
            for m in shop.ledger(sku)
            if m["type"] != "receipt"
        ]

    assert sorted(moves("TEE-M")) == [
        ("release", "ST-MARSEILLE", 0, -2, 0, 0),
        ("release", "WH-LYON", 0, -3, 0, 0),
        ("reserve", "ST-MARSEILLE", 0, 2, 0, 0),
        ("reserve", "WH-LYON", 0, 3, 0, 0),
    ]
    assert [m[0] for m in moves("TEE-M")][:2] == ["reserve", "reserve"]
    assert moves("MUG") == [
        ("reserve", "WH-LYON", 0, 1, 0, 0),
        ("release", "WH-LYON", 0, -1, 0, 0),
    ]
    assert_ledger_is_exact(db)


def test_a_hold_and_its_release_are_in_the_event_feed_as_the_api_shows_them(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"ST-MARSEILLE": 2, "WH-LYON": 10})
    changes_before = len(events(client, "stock.changed"))

    body = held(client, ("TEE-M", 5), ship_to=AIX_EN_PROVENCE)

    assert events(client, "reservation.created") == [body]
    changed = events(client, "stock.changed")[changes_before:]
    assert sorted((c["location"], c["reserved"], c["available"]) for c in changed) == [
        ("ST-MARSEILLE", 2, 0),
        ("WH-LYON", 3, 7),
    ]

    released = client.delete(f"/v1/reservations/{body['id']}").json()

    assert events(client, "reservation.released") == [released]
    assert released["status"] == "released"
    changed = events(client, "stock.changed")[changes_before + 2 :]
    assert sorted((c["location"], c["reserved"], c["available"]) for c in changed) == [
        ("ST-MARSEILLE", 0, 2),
        ("WH-LYON", 0, 10),
    ]


# --------------------------------------------------------------------------- all or nothing


def test_a_hold_with_short_lines_lists_each_of_them_and_holds_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", EVERYWHERE)
    receive(shop, "CAP", {"WH-LYON": 5})

    with unchanged():
        response = hold(client, ("CAP", 1), ("TEE-M", 31), ("MUG", 2))

    body = problem(response, 409)
    assert body["code"] == "insufficient-stock"
    assert sorted(body["lines"], key=lambda line: line["sku"]) == short(
        ("MUG", 2, 0), ("TEE-M", 31, 30)
    )
    assert ats(client, "CAP") == 5


def test_the_same_sku_on_two_lines_is_held_as_one_line_of_their_sum(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 30})

    with unchanged():
        refused = hold(client, ("TEE-M", 20), ("MUG", 1), ("TEE-M", 20), location="WH-LYON")
    assert sorted(problem(refused, 409)["lines"], key=lambda line: line["sku"]) == short(
        ("MUG", 1, 0), ("TEE-M", 40, 30)
    )

    body = held(client, ("TEE-M", 2), ("TEE-M", 3))
    assert body["lines"] == [{"sku": "TEE-M", "quantity": 5}]
    assert allocations(body) == [("WH-LYON", "TEE-M", 5)]


def test_a_hold_of_a_billion_units_is_a_valid_question_answered_409(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", EVERYWHERE)

    with unchanged():
        response = hold(client, ("TEE-M", 1_000_000_000))

    assert problem(response, 409)["lines"] == short(("TEE-M", 1_000_000_000, 30))


def test_a_hold_of_a_hundred_lines_is_a_valid_question(
    client, db, shop, france, unchanged, problem
) -> None:
    skus = [f"BULK-{n:03}" for n in range(99)]
    db.run(lambda uow: [catalog.put_item(uow, Item(sku=sku, name=sku)) for sku in skus])
    receive(shop, "TEE-M", EVERYWHERE)

    with unchanged():
        response = hold(client, ("TEE-M", 1), *((sku, 1) for sku in skus))

    body = problem(response, 409)
    assert sorted(line["sku"] for line in body["lines"]) == skus
    assert {(line["requested"], line["available"]) for line in body["lines"]} == {(1, 0)}


# --------------------------------------------------------------------------- bad requests

LINE = {"sku": "TEE-M", "quantity": 1}
HOLD_ERRORS = {
    "no channel": ({"lines": [LINE]}, 422, "channel"),
    "an unknown channel": ({"channel": "nope", "lines": [LINE]}, 422, "channel"),
    "no lines": ({"channel": "web"}, 422, "lines"),
    "an empty list of lines": ({"channel": "web", "lines": []}, 422, "lines"),
    "a hundred and one lines": ({"channel": "web", "lines": [LINE] * 101}, 422, "lines"),
    "a line without a sku": ({"channel": "web", "lines": [{"quantity": 1}]}, 422, "lines[0].sku"),
    "a line of zero units": (
        {"channel": "web", "lines": [{"sku": "TEE-M", "quantity": 0}]},
        422,
        "lines[0].quantity",
    ),
    "a line of minus one unit": (
        {"channel": "web", "lines": [LINE, {"sku": "MUG", "quantity": -1}]},
        422,
        "lines[1].quantity",
    ),
    "a line of more than a billion units": (
        {"channel": "web", "lines": [{"sku": "TEE-M", "quantity": 1_000_000_001}]},
        422,
        "lines[0].quantity",
    ),
    "a line of half a unit": (
        {"channel": "web", "lines": [{"sku": "TEE-M", "quantity": 1.5}]},
        422,
        "lines[0].quantity",
    ),
    "an unknown sku": (
        {"channel": "web", "lines": [LINE, {"sku": "NOPE", "quantity": 1}]},
        422,
        "lines[1].sku",
    ),
    "a sku that cannot exist": (
        {"channel": "web", "lines": [{"sku": "a b", "quantity": 1}]},
        422,
        "lines[0].sku",
    ),
    "a ttl of zero": ({"channel": "web", "lines": [LINE], "ttl_seconds": 0}, 422, "ttl_seconds"),
    "a ttl over a day": (
        {"channel": "web", "lines": [LINE], "ttl_seconds": 86_401},
        422,
        "ttl_seconds",
    ),
    "a latitude beyond the pole": (
        {"channel": "web", "lines": [LINE], "ship_to": {"lat": 90.5, "lon": 2.35}},
        422,
        "ship_to.lat",
    ),
    "a longitude beyond the antimeridian": (
        {"channel": "web", "lines": [LINE], "ship_to": {"lat": 48.85, "lon": -180.5}},
        422,
        "ship_to.lon",
    ),
    "a ship_to without a longitude": (
        {"channel": "web", "lines": [LINE], "ship_to": {"lat": 48.85}},
        422,
        "ship_to.lon",
    ),
    "an unknown location": (
        {"channel": "web", "lines": [LINE], "location": "NOPE"},
        422,
        "location",
    ),
    "a location outside the pool": (
        {"channel": "mp", "lines": [LINE], "location": "ST-MARSEILLE"},
        422,
        "location",
    ),
    "an inactive location": (
        {"channel": "mp", "lines": [LINE], "location": "WH-OLD"},
        422,
        "location",
    ),
    "a location code that cannot exist": (
        {"channel": "web", "lines": [LINE], "location": "a b"},
        422,
        "location",
    ),
}


def test_a_bad_hold_is_a_problem_naming_the_field_and_changes_nothing(
    client, shop, france, unchanged, problem, subtests
) -> None:
    receive(shop, "TEE-M", EVERYWHERE)
    receive(shop, "MUG", EVERYWHERE)

    for case, (body, status, field) in HOLD_ERRORS.items():
        with subtests.test(case), unchanged():
            answer = problem(client.post("/v1/reservations", json=body), status, field=field)
            if "unknown" in case:
                assert "NOPE" in answer["detail"] or "nope" in answer["detail"]


def test_an_unknown_reservation_is_a_404_to_read_or_release_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", EVERYWHERE)
    held(client, ("TEE-M", 1))

    with unchanged():
        problem(client.get("/v1/reservations/no-such-hold"), 404)
        problem(client.delete("/v1/reservations/no-such-hold"), 404)


def test_reservations_refuse_a_request_without_a_key(
    client, anonymous, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", EVERYWHERE)
    body = held(client, ("TEE-M", 1))

    with unchanged():
        problem(anonymous.post("/v1/reservations", json={"channel": "web", "lines": [LINE]}), 401)
        problem(anonymous.get(f"/v1/reservations/{body['id']}"), 401)
        problem(anonymous.delete(f"/v1/reservations/{body['id']}"), 401)


# --------------------------------------------------------------------------- release, retry


def test_releasing_twice_answers_200_the_second_time_and_changes_nothing(
    client, shop, france, unchanged
) -> None:
    receive(shop, "TEE-M", EVERYWHERE)
    body = held(client, ("TEE-M", 4))
    first = client.delete(f"/v1/reservations/{body['id']}")

    with unchanged():
        again = client.delete(f"/v1/reservations/{body['id']}")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() == {**body, "status": "released"}
    assert ats(client) == 30


def test_a_repeated_hold_with_the_same_idempotency_key_holds_once_and_answers_the_same(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", EVERYWHERE)
    key = {"Idempotency-Key": "cart-42-checkout"}

    first = hold(client, ("TEE-M", 4), ship_to=VILLEURBANNE, headers=key)
    again = hold(client, ("TEE-M", 4), ship_to=VILLEURBANNE, headers=key)

    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert reserved(shop) == {"ST-MARSEILLE": 0, "WH-LYON": 4, "WH-PARIS": 0}
    assert [m["type"] for m in shop.ledger("TEE-M")].count("reserve") == 1
    assert events(client, "reservation.created") == [first.json()]


def test_the_same_idempotency_key_with_another_hold_is_a_422_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", EVERYWHERE)
    key = {"Idempotency-Key": "cart-42-checkout"}
    held(client, ("TEE-M", 4), headers=key)

    with unchanged():
        response = hold(client, ("TEE-M", 5), headers=key)

    problem(response, 422, field="Idempotency-Key")


# --------------------------------------------------------------------------- expiry


def test_an_expired_hold_stops_counting_at_once_and_the_sweep_releases_it_once(
    client, shop, db, france, unchanged
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    receive(shop, "MUG", {"WH-LYON": 3})
    body = held(client, ("TEE-M", 5), ttl_seconds=1)
    released_early = held(client, ("MUG", 3), ttl_seconds=1)
    client.delete(f"/v1/reservations/{released_early['id']}")
    assert ats(client) == 0

    wait_until_expired(body)
    wait_until_expired(released_early)

    assert ats(client) == 5  # before any sweep
    assert client.get(f"/v1/reservations/{body['id']}").json()["status"] == "active"
    assert db.run(lambda uow: reservations.release_expired(uow)) == 1

    expired = client.get(f"/v1/reservations/{body['id']}").json()
    assert expired == {**body, "status": "expired"}
    assert client.get(f"/v1/reservations/{released_early['id']}").json()["status"] == "released"
    assert ats(client) == 5
    assert reserved(shop) == {"WH-LYON": 0}
    assert [(m["type"], m["reserved"]) for m in shop.ledger("TEE-M")][1:] == [
        ("reserve", 5),
        ("release", -5),
    ]
    assert events(client, "reservation.expired") == [expired]
    assert_ledger_is_exact(db)
    with unchanged():
        assert db.run(lambda uow: reservations.release_expired(uow)) == 0
        again = client.delete(f"/v1/reservations/{body['id']}")
    assert again.status_code == 200, again.text
    assert again.json() == expired


def test_a_new_hold_takes_the_units_of_an_expired_one_before_any_sweep(
    client, shop, db, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    old = held(client, ("TEE-M", 5), ttl_seconds=1)
    wait_until_expired(old)

    new = held(client, ("TEE-M", 5))

    assert allocations(new) == [("WH-LYON", "TEE-M", 5)]
    assert reserved(shop) == {"WH-LYON": 5}
    assert client.get(f"/v1/reservations/{old['id']}").json() == {**old, "status": "expired"}
    assert [e["id"] for e in events(client, "reservation.expired")] == [old["id"]]
    assert ats(client) == 0
    assert db.run(lambda uow: reservations.release_expired(uow)) == 0
    assert_ledger_is_exact(db)
