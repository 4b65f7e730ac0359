"""Health, items and locations over HTTP (DESIGN section 5)."""

from __future__ import annotations

import pytest

from scoped_keys import key_with

SHIRT = {"name": "Linen shirt, size M", "barcode": "4006381333931", "price": "39.90"}
WAREHOUSE = {
    "name": "Central warehouse",
    "type": "warehouse",
    "lat": 48.8566,
    "lon": 2.3522,
    "ship_enabled": True,
    "pickup_enabled": False,
}
NANTES = {
    "name": "Nantes Centre",
    "type": "store",
    "lat": 47.218,
    "lon": -1.554,
    "ship_enabled": True,
    "pickup_enabled": True,
    "daily_capacity": None,
    "priority": 100,
    "active": True,
}


def test_healthz_answers_ok_without_a_key(anonymous) -> None:
    response = anonymous.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_putting_a_new_item_creates_it_and_echoes_it_with_the_price_as_a_decimal_string(
    client,
) -> None:
    response = client.put("/v1/items/SHIRT-M", json={**SHIRT, "price": "39.9"})

    assert response.status_code == 201
    assert response.json() == {
        "sku": "SHIRT-M",
        "name": "Linen shirt, size M",
        "barcode": "4006381333931",
        "price": "39.90",
    }
    assert client.get("/v1/items/SHIRT-M").json() == response.json()


def test_putting_an_existing_item_replaces_it_with_200(client) -> None:
    client.put("/v1/items/SHIRT-M", json=SHIRT)

    response = client.put("/v1/items/SHIRT-M", json={"name": "Linen shirt M", "price": "35"})

    assert response.status_code == 200
    expected = {"sku": "SHIRT-M", "name": "Linen shirt M", "barcode": None, "price": "35.00"}
    assert response.json() == expected
    assert client.get("/v1/items/SHIRT-M").json() == expected


def test_an_item_reads_back_exactly_as_it_was_put(client) -> None:
    put = client.put("/v1/items/SHIRT-M", json=SHIRT).json()

    response = client.get("/v1/items/SHIRT-M")

    assert response.status_code == 200
    assert response.json() == put


def test_an_item_may_have_no_barcode_and_no_price(client) -> None:
    response = client.put("/v1/items/GIFT-CARD", json={"name": "Gift card"})

    assert response.status_code == 201
    assert response.json() == {
        "sku": "GIFT-CARD",
        "name": "Gift card",
        "barcode": None,
        "price": None,
    }


def test_an_unknown_item_is_a_404_problem_naming_the_sku(client, problem) -> None:
    body = problem(client.get("/v1/items/NOPE"), 404, field="sku")

    assert "NOPE" in body["detail"]


def test_putting_an_item_emits_created_then_updated_events(client) -> None:
    client.put("/v1/items/SHIRT-M", json=SHIRT)
    client.put("/v1/items/SHIRT-M", json={**SHIRT, "price": "29.90"})

    events = client.get("/v1/events").json()["events"]

    assert [e["type"] for e in events] == ["item.created", "item.updated"]
    assert events[1]["data"] == {**SHIRT, "sku": "SHIRT-M", "price": "29.90"}


def test_putting_a_new_location_creates_it_and_echoes_it_with_defaults(client) -> None:
    response = client.put("/v1/locations/WH-1", json=WAREHOUSE)

    assert response.status_code == 201
    assert response.json() == {
        **WAREHOUSE,
        "code": "WH-1",
        "daily_capacity": None,
        "priority": 100,
        "active": True,
    }


def test_putting_an_existing_location_replaces_it_with_200(client) -> None:
    client.put("/v1/locations/ST-LYON", json=WAREHOUSE)
    store = {
        "name": "Lyon Part-Dieu store",
        "type": "store",
        "lat": 45.7606,
        "lon": 4.8596,
        "ship_enabled": True,
        "pickup_enabled": True,
        "daily_capacity": 40,
        "priority": 10,
        "active": False,
    }

    response = client.put("/v1/locations/ST-LYON", json=store)

    assert response.status_code == 200
    assert response.json() == {**store, "code": "ST-LYON"}
    assert client.get("/v1/locations/ST-LYON").json() == {**store, "code": "ST-LYON"}


def test_locations_are_listed_by_code(client) -> None:
    assert client.get("/v1/locations").json() == {"locations": [], "next": None}
    for code in ("ST-PARIS", "WH-1", "ST-LYON"):
        client.put(f"/v1/locations/{code}", json={**WAREHOUSE, "name": f"Location {code}"})

    response = client.get("/v1/locations")

    assert response.status_code == 200
    listed = response.json()["locations"]
    assert [loc["code"] for loc in listed] == ["ST-LYON", "ST-PARIS", "WH-1"]
    assert listed[0] == client.get("/v1/locations/ST-LYON").json()
    assert response.json()["next"] is None


# --------------------------------------------------------------------------- PATCH


def test_patching_an_item_changes_only_the_fields_sent_and_null_clears_one(client) -> None:
    client.put("/v1/items/TSH-001", json=SHIRT)

    renamed = client.patch("/v1/items/TSH-001", json={"name": "Navy tee", "barcode": None})

    assert renamed.status_code == 200, renamed.text
    expected = {"sku": "TSH-001", "name": "Navy tee", "barcode": None, "price": "39.90"}
    assert renamed.json() == expected
    assert client.get("/v1/items/TSH-001").json() == expected


def test_patching_a_location_keeps_every_field_not_sent(client) -> None:
    client.put("/v1/locations/ST-NANTES", json={**NANTES, "daily_capacity": 40})

    closed = client.patch("/v1/locations/ST-NANTES", json={"active": False})

    assert closed.status_code == 200, closed.text
    assert closed.json() == {"code": "ST-NANTES", **NANTES, "daily_capacity": 40, "active": False}
    assert client.get("/v1/locations/ST-NANTES").json() == closed.json()
    unlimited = client.patch("/v1/locations/ST-NANTES", json={"daily_capacity": None})
    assert unlimited.json()["daily_capacity"] is None


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/items/TSH-001", {"name": None}, "name"),
        ("/v1/items/TSH-001", {"qty": 3}, "qty"),
        ("/v1/items/TSH-001", {"price": "-x"}, "price"),
        ("/v1/locations/ST-NANTES", {"type": None}, "type"),
        ("/v1/locations/ST-NANTES", {"lat": 91}, "lat"),
        # a boolean or a text is no number, even one a lenient reader would turn into one
        ("/v1/locations/ST-NANTES", {"lat": False}, "lat"),
        ("/v1/locations/ST-NANTES", {"lon": "2.35"}, "lon"),
    ],
)
def test_a_bad_patch_is_a_422_naming_the_field_and_changes_nothing(
    client, problem, unchanged, path, body, field
) -> None:
    client.put("/v1/items/TSH-001", json=SHIRT)
    client.put("/v1/locations/ST-NANTES", json=NANTES)

    with unchanged():
        problem(client.patch(path, json=body), 422, field=field)


@pytest.mark.parametrize(
    ("path", "field"), [("/v1/items/NOPE", "sku"), ("/v1/locations/NOPE", "code")]
)
def test_patching_what_does_not_exist_is_a_404_and_creates_nothing(
    client, problem, unchanged, path, field
) -> None:
    with unchanged():
        problem(client.patch(path, json={"name": "Ghost"}), 404, field=field)


def test_a_patch_repeated_under_one_key_replays_and_another_patch_under_it_is_refused(
    client, problem
) -> None:
    client.put("/v1/items/TSH-001", json=SHIRT)
    key = {"Idempotency-Key": "rename-1"}

    first = client.patch("/v1/items/TSH-001", json={"barcode": None}, headers=key)
    again = client.patch("/v1/items/TSH-001", json={"barcode": None}, headers=key)
    other = client.patch("/v1/items/TSH-001", json={}, headers=key)

    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    problem(other, 422)  # {} is not {"barcode": null}: another body under the same key


def test_a_patch_needs_the_catalog_write_scope_and_a_read_key_changes_nothing(
    client, db, unchanged, problem
) -> None:
    client.put("/v1/items/TSH-001", json=SHIRT)
    client.put("/v1/locations/ST-NANTES", json=NANTES)
    reader, writer = key_with(db, "catalog:read"), key_with(db, "catalog:write")

    with unchanged():
        problem(client.patch("/v1/items/TSH-001", json={"name": "X"}, headers=reader), 403)
        problem(client.patch("/v1/locations/ST-NANTES", json={"priority": 5}, headers=reader), 403)
    renamed = client.patch("/v1/items/TSH-001", json={"name": "X"}, headers=writer)
    moved = client.patch("/v1/locations/ST-NANTES", json={"priority": 5}, headers=writer)

    assert (renamed.status_code, renamed.json()["name"]) == (200, "X")
    assert (moved.status_code, moved.json()["priority"]) == (200, 5)
