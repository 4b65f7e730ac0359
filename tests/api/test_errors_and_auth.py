"""Bad input and missing keys: a clear problem+json answer, and nothing changes (invariant 5).

Every rejected request here runs inside `unchanged()`, which compares every table (positions,
ledger, event feed, catalog, idempotency and API keys) before and after it.
"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from omnistock.db.tables import api_keys
from omnistock.services import access

MOVEMENT = {"location": "WH-1", "sku": "SHIRT-M", "type": "receipt", "quantity": 5}
LOCATION_BODY = {
    "name": "Central warehouse",
    "type": "warehouse",
    "lat": 48.8566,
    "lon": 2.3522,
    "ship_enabled": True,
    "pickup_enabled": False,
}
JSON = {"Content-Type": "application/json"}
ONE_MIB = 1024 * 1024


@pytest.fixture
def stocked(shop, item, location) -> str:
    """10 units of SHIRT-M at WH-1, 2 of them damaged."""
    shop.moved("receipt", 10)
    shop.moved("damage", 2)
    return item


# --------------------------------------------------------------------------- movement bodies

BAD_MOVEMENTS = {
    "quantity as a string": ({"quantity": "5"}, 422, "quantity"),
    "quantity as a float": ({"quantity": 1.5}, 422, "quantity"),
    "quantity as a whole float": ({"quantity": 5.0}, 422, "quantity"),
    "quantity as a boolean": ({"quantity": True}, 422, "quantity"),
    "quantity as null": ({"quantity": None}, 422, "quantity"),
    "a negative receipt": ({"quantity": -1}, 422, "quantity"),
    "a zero receipt": ({"quantity": 0}, 422, "quantity"),
    "a negative sale": ({"type": "sale", "quantity": -3}, 422, "quantity"),
    "a zero damage": ({"type": "damage", "quantity": 0}, 422, "quantity"),
    "a zero dispose": ({"type": "dispose", "quantity": 0}, 422, "quantity"),
    "a huge receipt": ({"quantity": 10**12}, 422, "quantity"),
    "a huge negative adjustment": ({"type": "adjustment", "quantity": -(10**12)}, 422, "quantity"),
    "a quantity beyond 64 bits": ({"quantity": 2**70}, 422, "quantity"),
    "a zero adjustment": ({"type": "adjustment", "quantity": 0}, 422, "quantity"),
    "a negative count": ({"type": "count", "quantity": -1}, 422, "quantity"),
    "an unknown movement type": ({"type": "theft"}, 422, "type"),
    "a movement type in capitals": ({"type": "RECEIPT"}, 422, "type"),
    "an unknown sku": ({"sku": "NOPE"}, 422, "sku"),
    "an unknown location": ({"location": "NOWHERE"}, 422, "location"),
    "a sku that is no key": ({"sku": "bad sku"}, 422, "sku"),
    "a location that is no key": ({"location": "-WH"}, 422, "location"),
    "a sku as a number": ({"sku": 42}, 422, "sku"),
    "a reason over 200 characters": ({"reason": "x" * 201}, 422, "reason"),
    "a reference as an object": ({"reference": {"po": 1}}, 422, "reference"),
}


def test_a_bad_movement_is_a_problem_naming_its_field_and_changes_nothing(
    client, stocked, unchanged, problem, subtests
) -> None:
    for case, (change, status, field) in BAD_MOVEMENTS.items():
        with subtests.test(case), unchanged():
            response = client.post("/v1/stock/movements", json={**MOVEMENT, **change})
            problem(response, status, field=field)


def test_a_movement_missing_a_field_is_a_422_naming_it_and_changes_nothing(
    client, stocked, unchanged, problem, subtests
) -> None:
    for missing in MOVEMENT:
        body = {k: v for k, v in MOVEMENT.items() if k != missing}
        with subtests.test(missing=missing), unchanged():
            problem(client.post("/v1/stock/movements", json=body), 422, field=missing)


def test_every_invalid_field_is_listed_not_only_the_first(client, stocked, problem) -> None:
    response = client.post("/v1/stock/movements", json={"sku": "SHIRT-M", "quantity": "x"})

    body = problem(response, 422)
    assert {e["field"] for e in body["errors"]} == {"location", "type", "quantity"}


NOT_A_MOVEMENT = {
    "a list": b"[]",
    "a string": b'"receipt"',
    "null": b"null",
    "a number": b"42",
    "an empty object": b"{}",
    "nothing": b"",
}


def test_a_body_that_is_no_movement_object_is_a_422_and_changes_nothing(
    client, stocked, unchanged, problem, subtests
) -> None:
    for case, content in NOT_A_MOVEMENT.items():
        with subtests.test(case), unchanged():
            response = client.post("/v1/stock/movements", content=content, headers=JSON)
            problem(response, 422)


# --------------------------------------------------------------------------- malformed bodies

MALFORMED = {
    "truncated JSON": b'{"location": "WH-1", "sku": "SHIRT-M", "type": "receipt", "quantity": 5',
    "a trailing comma": b'{"location": "WH-1", "sku": "SHIRT-M", "quantity": 5,}',
    "single quotes": b"{'location': 'WH-1'}",
    "not JSON at all": b"location=WH-1&sku=SHIRT-M",
    "latin-1 instead of UTF-8": (
        b'{"location": "WH-1", "sku": "SHIRT-M", "type": "receipt", "quantity": 5, '
        b'"reason": "caf\xe9"}'
    ),
    "a lone UTF-8 continuation byte": b'{"location": "WH-1", "sku": "\x80"}',
}


def test_malformed_json_is_a_400_problem_and_changes_nothing(
    client, stocked, unchanged, problem, subtests
) -> None:
    for case, content in MALFORMED.items():
        with subtests.test(case), unchanged():
            response = client.post("/v1/stock/movements", content=content, headers=JSON)
            problem(response, 400, field="body")


def test_a_body_in_utf16_is_refused_since_json_on_the_wire_is_utf8(
    client, stocked, unchanged, problem
) -> None:
    content = '{"location": "WH-1", "sku": "SHIRT-M", "type": "receipt", "quantity": 5}'

    with unchanged():
        response = client.post(
            "/v1/stock/movements", content=content.encode("utf-16"), headers=JSON
        )

    problem(response, 400, field="body")


NUL_CHARACTERS = {
    "a movement reason": (
        "POST",
        "/v1/stock/movements",
        {**MOVEMENT, "reason": "box\x00 7"},
        "reason",
    ),
    "a movement reference": (
        "POST",
        "/v1/stock/movements",
        {**MOVEMENT, "reference": "PO\x001"},
        "reference",
    ),
    "an item name": ("PUT", "/v1/items/SHIRT-L", {"name": "Shirt\x00L"}, "name"),
    "an item barcode": (
        "PUT",
        "/v1/items/SHIRT-L",
        {"name": "Shirt", "barcode": "4\x000"},
        "barcode",
    ),
    "a location name": ("PUT", "/v1/locations/WH-2", {**LOCATION_BODY, "name": "W\x00H"}, "name"),
}


def test_a_nul_character_in_text_is_a_422_on_every_backend_and_changes_nothing(
    client, stocked, unchanged, problem, subtests
) -> None:
    """PostgreSQL cannot store NUL in text: both backends must refuse it the same way."""
    for case, (method, path, body, field) in NUL_CHARACTERS.items():
        with subtests.test(case), unchanged():
            problem(client.request(method, path, json=body), 422, field=field)


# ------------------------------------------------------------------- item and location bodies

BAD_ITEMS = {
    "no name": ({"price": "1.00"}, "name"),
    "a blank name": ({"name": "   "}, "name"),
    "a name over 200 characters": ({"name": "x" * 201}, "name"),
    "a name as a number": ({"name": 7}, "name"),
    "a negative price": ({"name": "Shirt", "price": "-1.00"}, "price"),
    "a price with three decimals": ({"name": "Shirt", "price": "1.999"}, "price"),
    "a price that is no number": ({"name": "Shirt", "price": "cheap"}, "price"),
    "a price of NaN": ({"name": "Shirt", "price": "NaN"}, "price"),
    "a price too large": ({"name": "Shirt", "price": "1e20"}, "price"),
    "an empty barcode": ({"name": "Shirt", "barcode": ""}, "barcode"),
    "a barcode over 64 characters": ({"name": "Shirt", "barcode": "1" * 65}, "barcode"),
}


def test_a_bad_item_is_a_422_naming_its_field_and_changes_nothing(
    client, item, unchanged, problem, subtests
) -> None:
    for case, (body, field) in BAD_ITEMS.items():
        with subtests.test(case), unchanged():
            problem(client.put("/v1/items/SHIRT-M", json=body), 422, field=field)


BAD_LOCATIONS = {
    "an unknown type": ({"type": "shop"}, "type"),
    "a latitude beyond 90": ({"lat": 90.5}, "lat"),
    "a longitude beyond -180": ({"lon": -181}, "lon"),
    "a latitude as text": ({"lat": "north"}, "lat"),
    "ship_enabled as text": ({"ship_enabled": "maybe"}, "ship_enabled"),
    "a negative daily capacity": ({"daily_capacity": -1}, "daily_capacity"),
    "a negative priority": ({"priority": -5}, "priority"),
    "no name": ({"name": None}, "name"),
}


def test_a_bad_location_is_a_422_naming_its_field_and_changes_nothing(
    client, location, unchanged, problem, subtests
) -> None:
    for case, (change, field) in BAD_LOCATIONS.items():
        with subtests.test(case), unchanged():
            body = {**LOCATION_BODY, **change}
            problem(client.put("/v1/locations/WH-1", json=body), 422, field=field)


BAD_PATHS = [
    ("PUT", "/v1/items/bad%20sku", "sku"),
    ("GET", "/v1/items/bad%20sku", "sku"),
    ("PUT", "/v1/items/-leading-dash", "sku"),
    ("PUT", "/v1/items/" + "A" * 65, "sku"),
    ("PUT", "/v1/items/caf%C3%A9", "sku"),
    ("GET", "/v1/stock/bad%20sku", "sku"),
    ("GET", "/v1/stock/bad%20sku/movements", "sku"),
    ("PUT", "/v1/locations/bad%20code", "code"),
    ("GET", "/v1/locations/.hidden", "code"),
]


def test_a_bad_key_in_the_path_is_a_422_naming_it_and_changes_nothing(
    client, unchanged, problem, subtests
) -> None:
    for method, path, field in BAD_PATHS:
        body = {"name": "Shirt"} if path.startswith("/v1/items") else LOCATION_BODY
        with subtests.test(f"{method} {path}"), unchanged():
            response = client.request(method, path, json=body if method == "PUT" else None)
            problem(response, 422, field=field)


# --------------------------------------------------------------------------- oversized bodies


def test_a_body_over_one_mib_declared_by_content_length_is_a_413(
    client, stocked, unchanged, problem
) -> None:
    content = b'{"reason": "' + b"x" * ONE_MIB + b'"}'

    with unchanged():
        response = client.post("/v1/stock/movements", content=content, headers=JSON)

    problem(response, 413, field="body")


def test_a_chunked_body_over_one_mib_is_a_413_once_it_passes_the_limit(
    client, stocked, unchanged, problem
) -> None:
    def chunks():
        for _ in range(40):
            yield b" " * 32768  # 40 * 32 KiB = 1.25 MiB of valid JSON whitespace

    with unchanged():
        response = client.post("/v1/stock/movements", content=chunks(), headers=JSON)

    problem(response, 413, field="body")


def test_a_body_of_exactly_one_mib_is_still_read(client, stocked, shop) -> None:
    body = b'{"location": "WH-1", "sku": "SHIRT-M", "type": "receipt", "quantity": 1}'
    padded = body + b" " * (ONE_MIB - len(body))

    response = client.post("/v1/stock/movements", content=padded, headers=JSON)

    assert response.status_code == 201, response.text
    assert shop.position()["on_hand"] == 11


# --------------------------------------------------------------------------- stock conflicts


def test_a_sale_of_more_than_is_on_hand_is_a_409_with_the_position_and_changes_nothing(
    client, stocked, unchanged, problem
) -> None:
    with unchanged():
        response = client.post(
            "/v1/stock/movements", json={**MOVEMENT, "type": "sale", "quantity": 11}
        )

    body = problem(response, 409)
    assert body["position"] == {
        "on_hand": 10,
        "reserved": 0,
        "unsellable": 2,
        "inbound": 0,
        "available": 8,
    }
    assert (body["sku"], body["location"]) == ("SHIRT-M", "WH-1")


REFUSED = {
    "disposing of more than is unsellable": ("dispose", 3),
    "damaging more than the sellable units": ("damage", 9),
    "an adjustment below the unsellable units": ("adjustment", -9),
    "selling units that are unsellable": ("sale", 9),
}


def test_what_cannot_physically_be_is_a_409_with_the_position_and_changes_nothing(
    shop, stocked, unchanged, problem, subtests
) -> None:
    for case, (type_, quantity) in REFUSED.items():
        with subtests.test(case), unchanged():
            body = problem(shop.move(type_, quantity), 409)
            assert body["position"] == {
                "on_hand": 10,
                "reserved": 0,
                "unsellable": 2,
                "inbound": 0,
                "available": 8,
            }


def test_a_sale_where_the_item_was_never_stocked_is_a_409_and_creates_no_position(
    shop, stocked, unchanged, problem
) -> None:
    shop.location("ST-LYON", type="store")

    with unchanged():
        response = shop.move("sale", 1, location="ST-LYON")

    assert problem(response, 409)["position"]["on_hand"] == 0


# --------------------------------------------------------------------------- routes and queries


#: The same unknown key, in a path (404: the resource asked for is not there) and in a body
#: or a query (422: a value of the request is wrong), route by route.
UNKNOWN_KEYS = {
    "a sku in the path": ("GET", "/v1/stock/NOPE", None, 404, "sku"),
    "a sku in a body": ("POST", "/v1/stock/movements", {**MOVEMENT, "sku": "NOPE"}, 422, "sku"),
    "a location in the path": ("GET", "/v1/locations/NOPE", None, 404, "code"),
    "a location in a body": (
        "POST",
        "/v1/stock/movements",
        {**MOVEMENT, "location": "NOPE"},
        422,
        "location",
    ),
    "a location in a query": (
        "GET",
        "/v1/stock/SHIRT-M/movements?location=NOPE",
        None,
        422,
        "location",
    ),
    "a channel in the path": ("GET", "/v1/channels/nope", None, 404, "code"),
    "a channel in a body": (
        "POST",
        "/v1/reservations",
        {"channel": "nope", "lines": [{"sku": "SHIRT-M", "quantity": 1}]},
        422,
        "channel",
    ),
    "a channel in a query": ("GET", "/v1/availability/SHIRT-M?channel=nope", None, 422, "channel"),
    "a sku in a query": ("GET", "/v1/availability?channel=web&sku=NOPE", None, 422, "sku"),
}


def test_an_unknown_key_is_a_404_in_the_path_and_a_422_in_a_body_or_a_query(
    client, stocked, unchanged, problem, subtests
) -> None:
    assert client.put("/v1/channels/web", json={"name": "Web shop"}).status_code == 201
    for case, (method, path, body, status, field) in UNKNOWN_KEYS.items():
        with subtests.test(case), unchanged():
            answer = problem(client.request(method, path, json=body), status, field=field)
            assert answer["code"] == ("not-found" if status == 404 else "invalid-request")
            assert answer["key"].upper() == "NOPE"


def test_an_unknown_route_is_a_404_problem(client, problem) -> None:
    problem(client.get("/v1/nothing-here"), 404)


def test_a_wrong_method_is_a_405_problem_that_says_which_methods_are_allowed(
    client, stocked, unchanged, problem
) -> None:
    with unchanged():
        response = client.delete("/v1/items/SHIRT-M")

    problem(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "PATCH", "PUT"}


BAD_QUERIES = {
    "events limit 0": ("/v1/events", {"limit": 0}, "limit"),
    "events limit too large": ("/v1/events", {"limit": 1001}, "limit"),
    "events after -1": ("/v1/events", {"after": -1}, "after"),
    "events after as text": ("/v1/events", {"after": "last"}, "after"),
    "ledger limit 0": ("/v1/stock/SHIRT-M/movements", {"limit": 0}, "limit"),
    "ledger after -1": ("/v1/stock/SHIRT-M/movements", {"after": -1}, "after"),
    "ledger limit as a float": ("/v1/stock/SHIRT-M/movements", {"limit": 1.5}, "limit"),
    "ledger location no key": ("/v1/stock/SHIRT-M/movements", {"location": "a b"}, "location"),
}


def test_a_bad_query_parameter_is_a_422_naming_it(client, stocked, problem, subtests) -> None:
    for case, (path, params, field) in BAD_QUERIES.items():
        with subtests.test(case):
            problem(client.get(path, params=params), 422, field=field)


def test_an_after_beyond_64_bits_is_no_server_error(client, stocked, subtests) -> None:
    for path in ("/v1/events", "/v1/stock/SHIRT-M/movements"):
        with subtests.test(path):
            response = client.get(path, params={"after": 2**64})
            assert response.status_code in (200, 422), response.text
            if response.status_code == 200:
                page = response.json()
                assert page == [] or page["events"] == []


# --------------------------------------------------------------------------- auth

V1_REQUESTS = [
    ("GET", "/v1/items/SHIRT-M", None),
    ("PUT", "/v1/items/SHIRT-M", {"name": "Stolen shirt"}),
    ("GET", "/v1/locations", None),
    ("GET", "/v1/locations/WH-1", None),
    ("PUT", "/v1/locations/WH-1", LOCATION_BODY),
    ("POST", "/v1/stock/movements", MOVEMENT),
    ("GET", "/v1/stock/SHIRT-M", None),
    ("GET", "/v1/stock/SHIRT-M/movements", None),
    ("GET", "/v1/events", None),
]
BAD_CREDENTIALS = {
    "no Authorization header": {},
    "a wrong key": {"Authorization": "Bearer not-the-key"},
    "the right key with the Basic scheme": {"Authorization": "Basic test-admin-key"},
    "the right key with no scheme": {"Authorization": "test-admin-key"},
    "an empty bearer": {"Authorization": "Bearer "},
    "a prefix of the right key": {"Authorization": "Bearer test-admin"},
}


def test_every_v1_route_refuses_bad_credentials_with_401_and_changes_nothing(
    anonymous, stocked, unchanged, problem, subtests
) -> None:
    for case, credentials in BAD_CREDENTIALS.items():
        for method, path, body in V1_REQUESTS:
            with subtests.test(f"{case}: {method} {path}"), unchanged():
                response = anonymous.request(method, path, json=body, headers=credentials)
                problem(response, 401)
                assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_key_with_characters_outside_ascii_is_a_401_not_a_server_error(
    anonymous, problem
) -> None:
    response = anonymous.get("/v1/locations", headers={"Authorization": b"Bearer caf\xe9"})

    problem(response, 401)


def test_the_bearer_scheme_is_case_insensitive_and_healthz_ignores_keys(anonymous) -> None:
    lower = anonymous.get("/v1/locations", headers={"Authorization": "bearer test-admin-key"})
    health = anonymous.get("/healthz", headers={"Authorization": "Bearer wrong"})

    assert lower.status_code == 200
    assert (health.status_code, health.json()) == (200, {"status": "ok"})


def test_a_generated_admin_key_works_and_only_its_sha256_is_stored(anonymous, db, stocked) -> None:
    key = db.run(access.new_admin_key)

    response = anonymous.get("/v1/stock/SHIRT-M", headers={"Authorization": f"Bearer {key}"})

    assert response.status_code == 200
    assert response.json()["total"]["on_hand"] == 10
    with db.read() as conn:
        rows = [tuple(row) for row in conn.execute(select(api_keys))]
    assert len(rows) == 1
    assert not any(key in str(value) for value in rows[0])
    assert hashlib.sha256(key.encode()).hexdigest() in rows[0]


def test_a_generated_key_replaced_by_a_new_one_no_longer_works(anonymous, db, problem) -> None:
    old = db.run(access.new_admin_key)
    new = db.run(access.new_admin_key)

    problem(anonymous.get("/v1/locations", headers={"Authorization": f"Bearer {old}"}), 401)
    assert anonymous.get("/v1/locations", headers={"Authorization": f"Bearer {new}"}).is_success
