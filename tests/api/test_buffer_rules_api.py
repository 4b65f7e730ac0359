"""Buffer rules over HTTP: create, read, list, delete, validate (issue 3)."""

from __future__ import annotations

import pytest

NO_DIMENSIONS = {"channel": None, "location": None, "location_type": None, "sku": None}


@pytest.fixture
def catalogue(shop) -> None:
    """An item, a warehouse, a store and the web channel, for rules to refer to."""
    shop.item("TEE-M")
    shop.location("WH-1")
    shop.location("ST-PARIS", type="store")
    response = shop.client.put("/v1/channels/web", json={"name": "Web shop"})
    assert response.status_code == 201, response.text


def create(client, **body):
    response = client.post("/v1/buffer-rules", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_rule_on_every_dimension_is_created_with_an_id_and_echoed(client, catalogue) -> None:
    body = {
        "channel": "web",
        "location": "ST-PARIS",
        "location_type": "store",
        "sku": "TEE-M",
        "units": 2,
    }

    response = client.post("/v1/buffer-rules", json=body)

    assert response.status_code == 201, response.text
    rule = response.json()
    assert isinstance(rule["id"], int)
    assert rule == {"id": rule["id"], **body, "percent": None}
    assert client.get(f"/v1/buffer-rules/{rule['id']}").json() == rule


@pytest.mark.parametrize("percent", [20, 12.5, 0, 100, 0.01, 99.99, 0.29, 57.3])
def test_a_percent_rule_echoes_its_percent_as_a_number_and_no_units(
    client, catalogue, percent
) -> None:
    rule = create(client, channel="web", percent=percent)

    assert rule == {**NO_DIMENSIONS, "id": rule["id"], "channel": "web"} | {
        "units": None,
        "percent": percent,
    }
    assert isinstance(rule["percent"], int | float)
    assert client.get(f"/v1/buffer-rules/{rule['id']}").json() == rule


@pytest.mark.parametrize("units", [0, 1, 1_000_000_000])
def test_a_units_rule_may_keep_from_zero_to_a_billion_units(client, catalogue, units) -> None:
    rule = create(client, location_type="warehouse", units=units)

    assert rule == {**NO_DIMENSIONS, "id": rule["id"], "location_type": "warehouse"} | {
        "units": units,
        "percent": None,
    }


def test_a_rule_on_no_dimension_at_all_is_accepted_with_every_dimension_null(
    client, catalogue
) -> None:
    rule = create(client, units=1)

    assert rule == {**NO_DIMENSIONS, "id": rule["id"], "units": 1, "percent": None}


def test_rules_are_listed_by_id_and_each_reads_back_as_created(client, catalogue) -> None:
    assert client.get("/v1/buffer-rules").json() == []
    created = [
        create(client, channel="web", location_type="store", units=2),
        create(client, sku="TEE-M", units=5),
        create(client, location="WH-1", percent=12.5),
    ]

    response = client.get("/v1/buffer-rules")

    assert response.status_code == 200
    assert response.json() == sorted(created, key=lambda rule: rule["id"])
    assert len({rule["id"] for rule in created}) == 3
    for rule in created:
        assert client.get(f"/v1/buffer-rules/{rule['id']}").json() == rule


def test_deleting_a_rule_answers_the_rule_and_it_is_gone(client, catalogue, problem) -> None:
    kept = create(client, sku="TEE-M", units=5)
    doomed = create(client, channel="web", percent=20)

    response = client.delete(f"/v1/buffer-rules/{doomed['id']}")

    assert response.status_code == 200, response.text
    assert response.json() == doomed
    problem(client.get(f"/v1/buffer-rules/{doomed['id']}"), 404)
    assert client.get("/v1/buffer-rules").json() == [kept]


def test_deleting_a_rule_twice_is_a_404_the_second_time_and_changes_nothing(
    client, catalogue, unchanged, problem
) -> None:
    rule = create(client, units=1)
    client.delete(f"/v1/buffer-rules/{rule['id']}")

    with unchanged():
        problem(client.delete(f"/v1/buffer-rules/{rule['id']}"), 404)


def test_an_unknown_rule_is_a_404_problem_to_read_or_delete(
    client, catalogue, unchanged, problem
) -> None:
    rule = create(client, units=1)

    with unchanged():
        for method in ("GET", "DELETE"):
            problem(client.request(method, f"/v1/buffer-rules/{rule['id'] + 1000}"), 404)


def test_a_rule_id_that_is_not_a_number_is_a_422_naming_the_id(
    client, catalogue, unchanged, problem
) -> None:
    with unchanged():
        for method in ("GET", "DELETE"):
            problem(client.request(method, "/v1/buffer-rules/first"), 422, field="id")


def test_a_rule_id_out_of_any_range_is_a_404_or_422_problem_never_a_server_error(
    client, catalogue, unchanged, subtests
) -> None:
    for rule_id in ("0", "-1", str(2**31), str(2**63), str(2**64), "1e3", "1.0"):
        for method in ("GET", "DELETE"):
            with subtests.test(f"{method} {rule_id}"), unchanged():
                response = client.request(method, f"/v1/buffer-rules/{rule_id}")
                assert response.status_code in (404, 422), response.text
                assert response.headers["content-type"].startswith("application/problem+json")


def test_creating_and_deleting_rules_emits_events_with_the_rule(client, catalogue) -> None:
    rule = create(client, channel="web", location_type="store", units=2)
    client.delete(f"/v1/buffer-rules/{rule['id']}")

    events = client.get("/v1/events").json()["events"]

    assert [(e["type"], e["data"]) for e in events if e["type"].startswith("buffer_rule")] == [
        ("buffer_rule.created", rule),
        ("buffer_rule.deleted", rule),
    ]


BAD_RULES = {
    "both units and percent": ({"units": 2, "percent": 10}, "units"),
    "neither units nor percent": ({"channel": "web"}, "units"),
    "null units and null percent": ({"units": None, "percent": None}, "units"),
    "negative units": ({"units": -1}, "units"),
    "more than a billion units": ({"units": 1_000_000_001}, "units"),
    "fractional units": ({"units": 1.5}, "units"),
    "units as text": ({"units": "2"}, "units"),
    "units as a boolean": ({"units": True}, "units"),
    "a negative percent": ({"percent": -1}, "percent"),
    "more than 100 percent": ({"percent": 100.01}, "percent"),
    "a percent with three decimals": ({"percent": 12.345}, "percent"),
    "a percent as a word": ({"percent": "twenty"}, "percent"),
    "a percent as a numeric string": ({"percent": "12.5"}, "percent"),
    "a percent as a boolean": ({"percent": True}, "percent"),
    "a huge percent": ({"percent": 1e300}, "percent"),
    "an unknown channel": ({"channel": "nope", "units": 1}, "channel"),
    "an unknown location": ({"location": "NOPE", "units": 1}, "location"),
    "an unknown sku": ({"sku": "NOPE", "units": 1}, "sku"),
    "an unknown location type": ({"location_type": "kiosk", "units": 1}, "location_type"),
    "a channel that is not text": ({"channel": 5, "units": 1}, "channel"),
    "a location code that cannot exist": ({"location": "a b", "units": 1}, "location"),
    "a known location given as a location type": (
        {"location_type": "WH-1", "units": 1},
        "location_type",
    ),
}


def test_a_bad_rule_is_a_422_naming_the_field_and_changes_nothing(
    client, catalogue, unchanged, problem, subtests
) -> None:
    for case, (body, field) in BAD_RULES.items():
        with subtests.test(case), unchanged():
            problem(client.post("/v1/buffer-rules", json=body), 422, field=field)


def test_a_body_that_is_not_an_object_is_a_4xx_problem_and_changes_nothing(
    client, catalogue, unchanged, subtests
) -> None:
    for body in ([], "units", 5, None):
        with subtests.test(repr(body)), unchanged():
            response = client.post("/v1/buffer-rules", json=body)
            assert 400 <= response.status_code < 500, response.text
            assert response.headers["content-type"].startswith("application/problem+json")


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def test_a_repeated_rule_with_the_same_idempotency_key_is_created_once(client, catalogue) -> None:
    body = {"channel": "web", "location_type": "store", "units": 2}

    first = client.post("/v1/buffer-rules", json=body, headers=keyed("rule-stores"))
    again = client.post("/v1/buffer-rules", json=body, headers=keyed("rule-stores"))

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert client.get("/v1/buffer-rules").json() == [first.json()]
    events = client.get("/v1/events").json()["events"]
    assert [e["type"] for e in events].count("buffer_rule.created") == 1


def test_the_same_idempotency_key_with_another_rule_is_a_422_and_changes_nothing(
    client, catalogue, unchanged, problem
) -> None:
    client.post("/v1/buffer-rules", json={"units": 2}, headers=keyed("rule-1"))

    with unchanged():
        response = client.post("/v1/buffer-rules", json={"units": 3}, headers=keyed("rule-1"))

    problem(response, 422, field="Idempotency-Key")


def test_a_refused_rule_with_an_idempotency_key_is_refused_the_same_way_again(
    client, catalogue, problem
) -> None:
    body = {"channel": "nope", "units": 2}

    first = client.post("/v1/buffer-rules", json=body, headers=keyed("rule-2"))
    again = client.post("/v1/buffer-rules", json=body, headers=keyed("rule-2"))

    problem(first, 422, field="channel")
    problem(again, 422, field="channel")
    assert client.get("/v1/buffer-rules").json() == []


def test_rule_routes_refuse_a_request_without_a_key(
    anonymous, client, catalogue, unchanged, problem
) -> None:
    rule = create(client, units=1)

    with unchanged():
        problem(anonymous.post("/v1/buffer-rules", json={"units": 1}), 401)
        problem(anonymous.get("/v1/buffer-rules"), 401)
        problem(anonymous.get(f"/v1/buffer-rules/{rule['id']}"), 401)
        problem(anonymous.delete(f"/v1/buffer-rules/{rule['id']}"), 401)
