"""Transfers as an integrator drives them, for the transfer API tests (importable like
`orders_helpers`, whose French network they move stock around).

    from a location   open → shipped → received      (open → cancelled)
    from a supplier   shipped → received             (announced: already on its way)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from fastapi.testclient import TestClient
from orders_helpers import receive

TRANSFERS = "/v1/transfers"
ZERO = {"on_hand": 0, "reserved": 0, "unsellable": 0, "inbound": 0, "available": 0}
ETA = "2026-12-01T08:00:00Z"


def transfer(
    *lines: tuple[str, int], origin: str | None = "WH-PARIS", to: str = "ST-LYON", **fields: Any
) -> dict[str, Any]:
    """A transfer body from `origin` (None: a supplier's delivery) to `to`."""
    body: dict[str, Any] = {
        "to": to,
        "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
        **fields,
    }
    if origin is not None:
        body["from"] = origin
    return body


def create(
    client: TestClient, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    return client.post(TRANSFERS, json=body, headers=headers)


def created(client: TestClient, *lines: tuple[str, int], **fields: Any) -> dict[str, Any]:
    """A transfer that must be accepted (201); returns it."""
    response = create(client, transfer(*lines, **fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def counted(*lines: tuple[str, int]) -> dict[str, Any]:
    """A receive body: the units counted at the destination."""
    return {"lines": [{"sku": sku, "quantity": q} for sku, q in lines]}


def act(
    client: TestClient,
    transfer_id: int,
    action: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return client.post(f"{TRANSFERS}/{transfer_id}/{action}", json=body, headers=headers)


def acted(
    client: TestClient, transfer_id: int, action: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An action that must be accepted (200); returns the transfer after it."""
    response = act(client, transfer_id, action, body)
    assert response.status_code == 200, (action, response.text)
    answer: dict[str, Any] = response.json()
    return answer


def read(client: TestClient, transfer_id: int) -> dict[str, Any]:
    response = client.get(f"{TRANSFERS}/{transfer_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def listed(client: TestClient, **params: Any) -> list[int]:
    response = client.get(TRANSFERS, params=params)
    assert response.status_code == 200, response.text
    return [x["id"] for x in response.json()["transfers"]]


def ats(client: TestClient, sku: str = "TEE-M") -> int:
    response = client.get(f"/v1/availability/{sku}", params={"channel": "web"})
    assert response.status_code == 200, response.text
    units: int = response.json()["available_to_sell"]
    return units


def at(shop: Any, location: str, sku: str = "TEE-M") -> dict[str, int]:
    """The five quantities of `sku` at `location`."""
    found: dict[str, int] = shop.position(sku, location)
    return found


def quantities(
    on_hand: int = 0, reserved: int = 0, unsellable: int = 0, inbound: int = 0
) -> dict[str, int]:
    available = on_hand - reserved - unsellable
    return {
        "on_hand": on_hand,
        "reserved": reserved,
        "unsellable": unsellable,
        "inbound": inbound,
        "available": available,
    }


def ledger(shop: Any, sku: str = "TEE-M") -> list[tuple[Any, ...]]:
    """The ledger of a sku but its receipts: (type, location, on_hand, reserved, inbound,
    reference)."""
    return [
        (m["type"], m["location"], m["on_hand"], m["reserved"], m["inbound"], m["reference"])
        for m in shop.ledger(sku)
        if m["type"] != "receipt"
    ]


def in_status(client: TestClient, shop: Any, status: str) -> dict[str, Any]:
    """A transfer of 4 TEE-M from WH-PARIS (10 there) to ST-LYON, brought to `status`."""
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    found = created(client, ("TEE-M", 4))
    if status in ("shipped", "received"):
        found = acted(client, found["id"], "ship")
    if status == "received":
        found = acted(client, found["id"], "receive", counted(("TEE-M", 4)))
    if status == "cancelled":
        found = acted(client, found["id"], "cancel")
    assert found["status"] == status
    return found


def recently(stamp: str) -> bool:
    """An ISO 8601 UTC time within the last minute (no timing: only that it is now-ish)."""
    assert stamp.endswith("Z"), stamp
    moment = dt.datetime.fromisoformat(stamp)
    return dt.timedelta(0) <= dt.datetime.now(dt.UTC) - moment < dt.timedelta(minutes=1)
