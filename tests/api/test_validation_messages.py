"""What a refused request is told (issue 12): every field at fault, by name, in a sentence.

- A field the API does not know is refused by name, on every write route, and changes
  nothing: `"qty": 3` used to be dropped silently, leaving the default in its place. Each
  body below is one the route accepts, with one field added where a person could misspell or
  invent one: at the top, in a line, in an address.
- A value of the wrong form is told what form it should have, never shown a regex.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from orders_helpers import CUSTOMER, VILLEURBANNE, acted, order, placed, receive, ship_to

from conftest import WAREHOUSE, Shop  # tests/api/conftest.py, on sys.path under pytest
from omnistock.api.schemas.common import KEY_PATTERN, PATTERN_SENTENCES

pytestmark = pytest.mark.usefixtures("france")

Ids = dict[str, int]

#: (method, path, body, the field named), with {order}, {fulfilment} and {transfer} filled in.
CASES: list[tuple[str, str, Callable[[Ids], dict[str, Any]], str]] = [
    ("PUT", "/v1/items/NEW", lambda _: {"name": "New", "colour": "red"}, "colour"),
    ("PUT", "/v1/locations/NEW", lambda _: {**WAREHOUSE, "capacity": 3}, "capacity"),
    ("PUT", "/v1/channels/new", lambda _: {"name": "New", "pool": ["WH-LYON"]}, "pool"),
    (
        "POST",
        "/v1/buffer-rules",
        lambda _: {"channel": "web", "units": 1, "unit": "pcs"},
        "unit",
    ),
    (
        "POST",
        "/v1/stock/movements",
        lambda _: {
            "location": "WH-LYON",
            "sku": "MUG",
            "type": "receipt",
            "quantity": 3,
            "note": "x",
        },
        "note",
    ),
    (
        "POST",
        "/v1/reservations",
        lambda _: {"channel": "web", "lines": [{"sku": "MUG", "quantity": 1, "qty": 1}]},
        "lines[0].qty",
    ),
    ("POST", "/v1/orders", lambda _: order(("MUG", 1), notes="gift"), "notes"),
    (
        "POST",
        "/v1/orders",
        lambda _: order(("MUG", 1), customer={**CUSTOMER, "phone": "+33 6 12 34 56 78"}),
        "customer.phone",
    ),
    (
        "POST",
        "/v1/orders",
        lambda _: order(("MUG", 1), delivery=ship_to({**VILLEURBANNE, "street": "Rue"})),
        "delivery.address.street",
    ),
    (
        "POST",
        "/v1/sourcing/preview",
        lambda _: {
            **order(("MUG", 1)),
            "lines": [{"sku": "MUG", "quantity": 1, "unit_price": "8.50", "vat": "20"}],
        },
        "lines[0].vat",
    ),
    (
        "POST",
        "/v1/orders/{order}/cancel",
        lambda _: {"lines": [{"sku": "TEE-M", "quantity": 1}], "why": "changed my mind"},
        "why",
    ),
    (
        "POST",
        "/v1/fulfillments/{fulfilment}/ship",
        lambda _: {"carrier": "La Poste", "tracking_number": "6A123"},
        "tracking_number",
    ),
    (
        "POST",
        "/v1/fulfillments/{fulfilment}/reject",
        lambda _: {"reason": "wet", "missing": [{"sku": "TEE-M", "quantity": 1, "why": "x"}]},
        "missing[0].why",
    ),
    (
        "POST",
        "/v1/returns",
        lambda ids: {
            "order_id": ids["delivered"],
            "location": "ST-LYON",
            "lines": [{"sku": "CAP", "quantity": 1, "condition": "sellable", "refund": "12.00"}],
        },
        "lines[0].refund",
    ),
    (
        "POST",
        "/v1/transfers",
        lambda _: {
            "from": "WH-LYON",
            "to": "WH-PARIS",
            "lines": [{"sku": "MUG", "quantity": 1}],
            "carrier": "DHL",
        },
        "carrier",
    ),
    (
        "POST",
        "/v1/transfers/{transfer}/receive",
        lambda _: {"lines": [{"sku": "MUG", "quantity": 1, "damaged": 0}]},
        "lines[0].damaged",
    ),
]


@pytest.fixture
def ids(shop: Shop, client: TestClient) -> Ids:
    """An allocated order and its fulfilment, a delivered order, and an open transfer."""
    for sku in ("TEE-M", "MUG", "CAP"):
        receive(shop, sku, {"WH-LYON": 10})
    allocated = placed(client, ("TEE-M", 2))
    delivered = placed(client, ("CAP", 1))
    acted(client, delivered["fulfillments"][0]["id"], "pick", "pack", "ship", "deliver")
    transfer = client.post(
        "/v1/transfers",
        json={"from": "WH-LYON", "to": "WH-PARIS", "lines": [{"sku": "MUG", "quantity": 1}]},
    )
    assert transfer.status_code == 201, transfer.text
    return {
        "order": allocated["id"],
        "fulfilment": allocated["fulfillments"][0]["id"],
        "delivered": delivered["id"],
        "transfer": transfer.json()["id"],
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "field"), CASES, ids=[c[1] + " " + c[3] for c in CASES]
)
def test_an_unknown_field_is_refused_by_name_and_changes_nothing(
    client: TestClient,
    ids: Ids,
    unchanged: Callable[[], Any],
    problem: Callable[..., Any],
    method: str,
    path: str,
    body: Callable[[Ids], dict[str, Any]],
    field: str,
) -> None:
    with unchanged():
        response = client.request(method, path.format(**ids), json=body(ids))

    answer = problem(response, 422, field=field)
    assert answer["code"] == "invalid-request"
    assert answer["errors"] == [
        {
            "field": field,
            "message": "not a field of this request: check its spelling, or leave it out",
        }
    ]


def test_a_misspelt_field_is_named_beside_the_one_it_should_have_been(
    client: TestClient, unchanged: Callable[[], Any], problem: Callable[..., Any]
) -> None:
    body = {"location": "WH-LYON", "sku": "MUG", "type": "receipt", "qty": 3}

    with unchanged():
        answer = problem(client.post("/v1/stock/movements", json=body), 422)

    assert {e["field"] for e in answer["errors"]} == {"quantity", "qty"}
    assert "qty: not a field of this request" in answer["detail"]


def patterns_in(document: Any) -> set[str]:
    """Every `pattern` anywhere in an OpenAPI document."""
    if isinstance(document, dict):
        found = {document["pattern"]} if isinstance(document.get("pattern"), str) else set()
        return found.union(*(patterns_in(value) for value in document.values()))
    if isinstance(document, list):
        return set().union(*(patterns_in(value) for value in document))
    return set()


def test_every_pattern_the_api_documents_has_a_sentence(client: TestClient) -> None:
    documented = patterns_in(client.get("/openapi.json").json())

    assert documented  # keys, text, e-mail, country, currency, the idempotency key
    assert documented <= set(PATTERN_SENTENCES)


WRONG_FORMS = [
    ("customer", {"customer": {**CUSTOMER, "email": "camille"}}, "customer.email", "e-mail"),
    (
        "country",
        {"delivery": ship_to({**VILLEURBANNE, "country": "fr"})},
        "delivery.address.country",
        "(ISO 3166-1)",
    ),
    ("currency", {"currency": "euro"}, "currency", "(ISO 4217)"),
    ("channel", {"channel": "web shop"}, "channel", "letters, digits"),
    ("NUL", {"customer": {**CUSTOMER, "name": "Ca\u0000mille"}}, "customer.name", "NUL"),
]


@pytest.mark.parametrize(
    ("change", "field", "words"), [c[1:] for c in WRONG_FORMS], ids=[c[0] for c in WRONG_FORMS]
)
def test_a_value_of_the_wrong_form_is_told_the_form_it_should_have(
    client: TestClient,
    unchanged: Callable[[], Any],
    problem: Callable[..., Any],
    change: dict[str, Any],
    field: str,
    words: str,
) -> None:
    with unchanged():
        answer = problem(client.post("/v1/orders", json={**order(("MUG", 1)), **change}), 422)

    [error] = answer["errors"]
    assert error["field"] == field
    assert error["message"].startswith("must ") and words in error["message"]
    assert "pattern" not in answer["detail"] and "^" not in answer["detail"]


def test_a_path_key_and_an_idempotency_key_of_the_wrong_form_are_told_so_too(
    client: TestClient, problem: Callable[..., Any]
) -> None:
    item = problem(client.get("/v1/items/not a sku"), 422, field="sku")
    key = problem(
        client.post(
            "/v1/stock/movements",
            json={"location": "WH-LYON", "sku": "MUG", "type": "receipt", "quantity": 1},
            headers={"Idempotency-Key": "two words"},
        ),
        422,
        field="Idempotency-Key",
    )

    assert item["errors"][0]["message"] == PATTERN_SENTENCES[KEY_PATTERN]
    assert key["errors"][0]["message"] == "must be printable ASCII characters without spaces"
