"""`Idempotency-Key`: a repeated request changes stock once and gets the same answer (inv. 3)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from omnistock.services import access

RECEIPT = {"location": "WH-1", "sku": "SHIRT-M", "type": "receipt", "quantity": 5}


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def test_a_repeated_receipt_replays_the_first_answer_and_changes_stock_once(
    client, shop, item, location
) -> None:
    first = client.post("/v1/stock/movements", json=RECEIPT, headers=keyed("receipt-PO-1001"))
    again = client.post("/v1/stock/movements", json=RECEIPT, headers=keyed("receipt-PO-1001"))

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(shop.ledger()) == 1
    assert shop.position()["on_hand"] == 5


def test_a_replay_answers_what_was_true_then_not_what_is_true_now(
    client, shop, item, location
) -> None:
    first = client.post("/v1/stock/movements", json=RECEIPT, headers=keyed("k-1"))
    shop.moved("sale", 2)

    again = client.post("/v1/stock/movements", json=RECEIPT, headers=keyed("k-1"))

    assert again.json() == first.json()
    assert again.json()["position"]["on_hand"] == 5
    assert shop.position()["on_hand"] == 3


def test_the_same_key_with_another_body_is_a_422_naming_the_key_and_changes_nothing(
    client, item, location, unchanged, problem
) -> None:
    client.post("/v1/stock/movements", json=RECEIPT, headers=keyed("k-1"))

    with unchanged():
        response = client.post(
            "/v1/stock/movements", json={**RECEIPT, "quantity": 6}, headers=keyed("k-1")
        )

    problem(response, 422, field="Idempotency-Key")


def test_the_same_key_on_another_route_is_a_422_and_changes_nothing(
    client, item, location, unchanged, problem
) -> None:
    client.post("/v1/stock/movements", json=RECEIPT, headers=keyed("k-1"))

    with unchanged():
        response = client.put("/v1/items/SHIRT-L", json={"name": "Shirt L"}, headers=keyed("k-1"))

    problem(response, 422, field="Idempotency-Key")


def test_a_body_with_the_same_meaning_but_another_spelling_replays(
    client, shop, item, location
) -> None:
    client.post("/v1/stock/movements", json=RECEIPT, headers=keyed("k-1"))
    reordered = b'{ "quantity": 5, "type": "receipt", "sku": "SHIRT-M", "location": "WH-1" }'

    again = client.post(
        "/v1/stock/movements",
        content=reordered,
        headers={**keyed("k-1"), "Content-Type": "application/json"},
    )

    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(shop.ledger()) == 1


def test_a_repeated_item_put_replays_its_201(client) -> None:
    body = {"name": "Linen shirt", "price": "39.90"}
    first = client.put("/v1/items/SHIRT-M", json=body, headers=keyed("item-1"))

    again = client.put("/v1/items/SHIRT-M", json=body, headers=keyed("item-1"))

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [e["type"] for e in client.get("/v1/events").json()["events"]] == ["item.created"]


def test_a_repeated_location_put_replays_its_201(client) -> None:
    body = {
        "name": "Lyon store",
        "type": "store",
        "lat": 45.76,
        "lon": 4.86,
        "ship_enabled": True,
        "pickup_enabled": True,
    }
    first = client.put("/v1/locations/ST-LYON", json=body, headers=keyed("loc-1"))

    again = client.put("/v1/locations/ST-LYON", json=body, headers=keyed("loc-1"))

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_different_keys_are_different_requests(client, shop, item, location) -> None:
    client.post("/v1/stock/movements", json=RECEIPT, headers=keyed("k-1"))
    client.post("/v1/stock/movements", json=RECEIPT, headers=keyed("k-2"))

    assert shop.position()["on_hand"] == 10


def test_requests_without_a_key_are_never_deduplicated(client, shop, item, location) -> None:
    client.post("/v1/stock/movements", json=RECEIPT)
    client.post("/v1/stock/movements", json=RECEIPT)

    assert len(shop.ledger()) == 2


def test_keys_of_different_owners_do_not_collide(client, db, shop, item, location) -> None:
    generated = db.run(access.new_admin_key)
    as_env_admin = client.post("/v1/stock/movements", json=RECEIPT, headers=keyed("k-1"))

    as_generated = client.post(
        "/v1/stock/movements",
        json=RECEIPT,
        headers={**keyed("k-1"), "Authorization": f"Bearer {generated}"},
    )

    assert as_env_admin.status_code == as_generated.status_code == 201
    assert "Idempotent-Replayed" not in as_generated.headers
    assert as_generated.json()["movement"]["id"] != as_env_admin.json()["movement"]["id"]
    assert shop.position()["on_hand"] == 10


def test_a_refused_request_is_remembered_so_its_retry_gets_the_same_refusal(
    client, shop, item, location, problem
) -> None:
    sale = {**RECEIPT, "type": "sale", "quantity": 3}
    first = client.post("/v1/stock/movements", json=sale, headers=keyed("sale-1"))
    problem(first, 409)
    shop.moved("receipt", 3)

    retry = client.post("/v1/stock/movements", json=sale, headers=keyed("sale-1"))

    assert retry.status_code == 409
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.headers["content-type"].startswith("application/problem+json")
    assert retry.json() == first.json()
    assert shop.position()["on_hand"] == 3  # the sale was not applied after all
    fresh = client.post("/v1/stock/movements", json=sale, headers=keyed("sale-2"))
    assert fresh.status_code == 201, fresh.text
    assert shop.position()["on_hand"] == 0


def test_a_refusal_stored_under_a_key_leaves_no_trace_of_the_refused_change(
    client, shop, location, problem, db
) -> None:
    problem(client.post("/v1/stock/movements", json=RECEIPT, headers=keyed("k-1")), 422)
    shop.item()

    retry = client.post("/v1/stock/movements", json=RECEIPT, headers=keyed("k-1"))

    problem(retry, 422)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert shop.ledger() == []
    assert shop.stock()["positions"] == []


MALFORMED_KEYS = {
    "empty": b"",
    "with a space": b"receipt 1",
    "over 255 characters": b"k" * 256,
    "outside ASCII": b"caf\xe9",
}


def test_a_malformed_key_is_a_422_naming_it_and_changes_nothing(
    client, item, location, unchanged, problem, subtests
) -> None:
    for case, key in MALFORMED_KEYS.items():
        with subtests.test(case), unchanged():
            response = client.post(
                "/v1/stock/movements", json=RECEIPT, headers={"Idempotency-Key": key}
            )
            problem(response, 422, field="Idempotency-Key")


def test_concurrent_duplicates_change_stock_once_and_all_get_the_same_answer(
    client, shop, item, location
) -> None:
    threads = 8
    start = threading.Barrier(threads)

    def send(_: int):
        start.wait()
        return client.post("/v1/stock/movements", json=RECEIPT, headers=keyed("burst-1"))

    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(send, range(threads)))

    assert {a.status_code for a in answers} == {201}
    assert all(a.json() == answers[0].json() for a in answers)
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == threads - 1
    assert len(shop.ledger()) == 1
    assert shop.position()["on_hand"] == 5
