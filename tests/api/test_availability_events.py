"""availability.changed: one event per (channel, sku) whose available-to-sell moved."""

from __future__ import annotations

from omnistock.events.feed import feed

LOCATION = {"lat": 48.85, "lon": 2.35, "pickup_enabled": True, "ship_enabled": True}


def ats_events(db, after: int) -> list[tuple[str, int]]:
    found, _ = feed(db, after=after, limit=1000)
    return [
        (e["data"]["channel"], e["data"]["available_to_sell"])
        for e in found
        if e["type"] == "availability.changed"
    ]


def test_stock_changes_publish_each_channel_ats_that_moved_and_only_those(client, db) -> None:
    client.put("/v1/locations/WH1", json={"name": "w", "type": "warehouse", **LOCATION})
    client.put("/v1/locations/ST1", json={"name": "s", "type": "store", **LOCATION})
    client.put("/v1/items/TEE", json={"name": "T-shirt"})
    client.put("/v1/channels/web", json={"name": "Web"})
    client.put("/v1/channels/mp", json={"name": "Marketplace", "location_types": ["warehouse"]})
    client.post("/v1/buffer-rules", json={"channel": "web", "location_type": "store", "units": 2})
    start = feed(db, after=0, limit=1000)[1]

    def move(location: str, quantity: int) -> int:
        mark = feed(db, after=0, limit=1000)[1]
        body = {"location": location, "sku": "TEE", "type": "receipt", "quantity": quantity}
        assert client.post("/v1/stock/movements", json=body).status_code == 201
        return mark

    first = move("ST1", 2)  # kept back from web by the store buffer: both publish 0
    assert sorted(ats_events(db, first)) == [("mp", 0), ("web", 0)]
    second = move("ST1", 3)  # web 3; the marketplace does not sell from stores: no event
    assert ats_events(db, second) == [("web", 3)]
    third = move("WH1", 4)
    assert sorted(ats_events(db, third)) == [("mp", 4), ("web", 7)]

    mark = feed(db, after=0, limit=1000)[1]
    hold = {"channel": "web", "lines": [{"sku": "TEE", "quantity": 5}]}
    assert client.post("/v1/reservations", json=hold).status_code == 201
    assert sorted(ats_events(db, mark)) == [("mp", 0), ("web", 2)]

    mark = feed(db, after=0, limit=1000)[1]
    refused = client.post(
        "/v1/reservations", json={**hold, "lines": [{"sku": "TEE", "quantity": 9}]}
    )
    assert refused.status_code == 409
    assert ats_events(db, mark) == []  # nothing held, nothing published
    assert len(ats_events(db, start)) == 7


def test_the_published_figures_match_what_availability_answers(client, db) -> None:
    client.put("/v1/locations/WH1", json={"name": "w", "type": "warehouse", **LOCATION})
    client.put("/v1/items/TEE", json={"name": "T-shirt"})
    client.put("/v1/channels/mp", json={"name": "Marketplace", "location_types": ["warehouse"]})
    client.post("/v1/buffer-rules", json={"channel": "mp", "percent": 20})
    body = {"location": "WH1", "sku": "TEE", "type": "receipt", "quantity": 11}
    client.post("/v1/stock/movements", json=body)

    published = ats_events(db, 0)[-1]
    answered = client.get("/v1/availability/TEE", params={"channel": "mp"}).json()

    assert published == ("mp", answered["available_to_sell"]) == ("mp", 8)  # 11 - ceil(2.2)
