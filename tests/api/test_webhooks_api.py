"""The webhooks over HTTP: create (with its secret, once), list, read, change, delete, the
deliveries, replay and ping; bad input is a 422 naming the field and changes nothing; an
unknown webhook is a 404; a key without the webhooks scopes is refused. Delivery itself is
proved in tests/integration/test_webhook_delivery.py; here, that a webhook's body is byte
for byte the event the feed answers.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from omnistock.db import Database
from omnistock.events.feed import feed, render
from scoped_keys import key_with

RECEIVER = "https://erp.example.com/omnistock/hooks"


def create(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/webhooks", json={"url": RECEIVER, "events": ["*"], **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_a_new_webhook_is_enabled_and_shows_its_secret_once(client: TestClient) -> None:
    created = create(client, events=["order.*", "stock.changed"], description="ERP")

    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["enabled"] is True
    assert created["events"] == ["order.*", "stock.changed"]
    shown = client.get(f"/v1/webhooks/{created['id']}").json()
    assert "secret" not in shown
    assert shown == {k: v for k, v in created.items() if k != "secret"}
    assert [w["id"] for w in client.get("/v1/webhooks").json()] == [created["id"]]


def test_a_patch_changes_what_it_sends_and_leaves_the_rest(client: TestClient) -> None:
    created = create(client, description="ERP")

    response = client.patch(
        f"/v1/webhooks/{created['id']}", json={"events": ["order.created"], "enabled": False}
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["events"], changed["enabled"]) == (["order.created"], False)
    assert (changed["url"], changed["description"]) == (RECEIVER, "ERP")


def test_a_deleted_webhook_is_gone(client: TestClient, problem: Any) -> None:
    created = create(client)

    assert client.delete(f"/v1/webhooks/{created['id']}").status_code == 204
    problem(client.get(f"/v1/webhooks/{created['id']}"), 404)
    assert client.get("/v1/webhooks").json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://erp.example.com/x", "events": ["*"]}, "url"),
        ({"url": "erp.example.com/hooks", "events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1:8000/v1/items", "events": ["*"]}, "url"),
        ({"url": "http://localhost:8000/hook", "events": ["*"]}, "url"),
        ({"url": RECEIVER, "events": ["order.*", "order.shipped"]}, "events[1]"),
        ({"url": RECEIVER, "events": ["nothing.*"]}, "events[0]"),
        ({"url": RECEIVER, "events": []}, "events"),
        ({"url": RECEIVER}, "events"),
        ({"url": RECEIVER, "events": ["*"], "secret": "mine"}, "secret"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_creates_nothing(
    client: TestClient, unchanged: Any, problem: Any, body: dict[str, Any], field: str
) -> None:
    with unchanged():
        problem(client.post("/v1/webhooks", json=body), 422, field=field)
    assert client.get("/v1/webhooks").json() == []


def test_a_patch_to_a_bad_url_or_event_is_refused_and_changes_nothing(
    client: TestClient, problem: Any
) -> None:
    created = create(client)
    path = f"/v1/webhooks/{created['id']}"

    problem(client.patch(path, json={"url": "gopher://x"}), 422, field="url")
    problem(client.patch(path, json={"events": ["*", "order"]}), 422, field="events[1]")
    problem(client.patch(path, json={"enabled": None}), 422, field="enabled")
    assert client.get(path).json() == {k: v for k, v in created.items() if k != "secret"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/v1/webhooks/99", None),
        ("patch", "/v1/webhooks/99", {"enabled": False}),
        ("delete", "/v1/webhooks/99", None),
        ("get", "/v1/webhooks/99/deliveries", None),
        ("post", "/v1/webhooks/99/replay", {"after": 0}),
        ("post", "/v1/webhooks/99/ping", None),
    ],
)
def test_an_unknown_webhook_is_a_404(
    client: TestClient, problem: Any, method: str, path: str, body: dict[str, Any] | None
) -> None:
    problem = problem(client.request(method, path, json=body), 404)
    assert (problem["resource"], problem["key"]) == ("webhook", "99")


def test_a_replay_beyond_what_was_delivered_is_refused(client: TestClient, problem: Any) -> None:
    created = create(client)

    problem(
        client.post(f"/v1/webhooks/{created['id']}/replay", json={"after": 5}), 422, field="after"
    )
    replayed = client.post(f"/v1/webhooks/{created['id']}/replay", json={"after": 0})
    assert replayed.status_code == 200 and replayed.json()["delivered_through"] == 0


def test_a_ping_is_queued_and_listed_among_the_deliveries(client: TestClient) -> None:
    created = create(client)

    queued = client.post(f"/v1/webhooks/{created['id']}/ping")

    assert queued.status_code == 202, queued.text
    assert (queued.json()["type"], queued.json()["outcome"]) == ("webhook.ping", "pending")
    assert client.get(f"/v1/webhooks/{created['id']}/deliveries").json() == [queued.json()]


def test_a_key_without_the_webhooks_scopes_is_refused(
    client: TestClient, db: Database, unchanged: Any, problem: Any
) -> None:
    reader = key_with(db, "events:read", "orders:read")
    with unchanged():
        problem(client.get("/v1/webhooks", headers=reader), 403)
        body = {"url": RECEIVER, "events": ["*"]}
        problem(client.post("/v1/webhooks", json=body, headers=reader), 403)


def test_a_webhook_body_is_byte_for_byte_the_event_as_the_feed_answers_it(
    client: TestClient, db: Database
) -> None:
    client.put("/v1/items/SHIRT-M", json={"name": "Shirt — size M", "price": "19.90"})
    page = client.get("/v1/events")
    (event,) = feed(db, after=0, limit=10)[0]

    assert render(event) in page.content
