"""`POST /v1/imports/items|locations|stock` over HTTP, on SQLite and PostgreSQL: files
streamed in as CSV or JSON lines answer their summary; a bad file is a 422 problem listing
each bad row's line, field and reason, and changes nothing; another media type is a 415; a
body over OMNISTOCK_MAX_IMPORT_BYTES is a 413 naming the body, while
OMNISTOCK_MAX_BODY_BYTES does not apply; a store key imports its own location only.
Fuzzed with hypothesis (random bytes, other encodings, BOMs, CRLF, quoted commas, a 1 MB
line): never a 5xx, and whatever is refused names its line and changes nothing."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ADMIN_KEY, assert_problem
from omnistock.api.app import create_app
from omnistock.config import Settings
from omnistock.db import Database

CSV = {"Content-Type": "text/csv"}
NDJSON = {"Content-Type": "application/x-ndjson"}
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def small(db: Database, database_url: str) -> Iterator[TestClient]:
    """The API with 4 KiB of import body at most and 1 KiB of any other body."""
    settings = Settings(
        admin_key=ADMIN_KEY, database_url=database_url, max_import_bytes=4096, max_body_bytes=1024
    )
    app: FastAPI = create_app(settings, db)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


@pytest.fixture
def stocked(shop: Any) -> Any:
    shop.item("TEE-M", name="Tee")
    shop.location("WH-1")
    return shop


def test_an_item_file_in_csv_answers_its_summary_and_makes_the_items(client: TestClient) -> None:
    body = 'sku,name,price\r\nTEE-M,"Tee, organic",19.90\r\nCAP,Cap,\r\n'
    answer = client.post("/v1/imports/items", content=body, headers=CSV)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0, "movements": 0}
    assert client.get("/v1/items/TEE-M").json()["name"] == "Tee, organic"


def test_a_stock_file_in_json_lines_counts_and_a_resend_by_snapshot_id_changes_nothing(
    client: TestClient, stocked: Any
) -> None:
    body = '{"location": "WH-1", "sku": "TEE-M", "on_hand": 12}\n'
    url = "/v1/imports/stock?snapshot_id=night-1"
    first = client.post(url, content=body, headers=NDJSON)
    assert first.json() == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0, "movements": 1}
    stocked.moved("sale", 2, sku="TEE-M", location="WH-1")
    assert client.post(url, content=body, headers=NDJSON).json() == first.json()
    assert stocked.position("TEE-M", "WH-1")["on_hand"] == 10


def test_a_key_or_snapshot_id_sent_again_with_another_file_is_a_422_naming_it_and_changes_nothing(
    client: TestClient, stocked: Any, unchanged: Callable[..., Any]
) -> None:
    body = "location,sku,on_hand\nWH-1,TEE-M,12\n"
    other = "location,sku,on_hand\nWH-1,TEE-M,7\n"
    keyed = {**CSV, "Idempotency-Key": "nightly-7"}
    assert client.post("/v1/imports/stock", content=body, headers=keyed).status_code == 200
    snapshot = "/v1/imports/stock?snapshot_id=night-7"
    assert client.post(snapshot, content=body, headers=CSV).status_code == 200
    with unchanged():
        reused = client.post("/v1/imports/stock", content=other, headers=keyed)
        assert_problem(reused, 422, field="Idempotency-Key")
        again = client.post(snapshot, content=other, headers=CSV)
        assert_problem(again, 422, field="snapshot_id")
        # the same file with another option is another request too
        complete = client.post(snapshot + "&location=WH-1&complete=true", content=body, headers=CSV)
        assert_problem(complete, 422, field="snapshot_id")
    assert stocked.position("TEE-M", "WH-1")["on_hand"] == 12


def test_bad_rows_are_a_422_listing_each_by_line_field_and_reason_and_change_nothing(
    client: TestClient, stocked: Any, unchanged: Callable[..., Any]
) -> None:
    body = "location,sku,on_hand\nWH-1,TEE-M,5\nWH-1,NOPE,1\nWH-1,TEE-M,x\nWH-2,TEE-M,1\n"
    with unchanged():
        answer = client.post("/v1/imports/stock", content=body, headers=CSV)
    problem = assert_problem(answer, 422, field="body")
    # a row's own fault and those found against the database, in one answer, by line
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [
        (3, "sku"),
        (4, "on_hand"),
        (5, "location"),
    ]
    with unchanged():
        answer = client.post("/v1/imports/stock", content=body.replace(",x", ",2"), headers=CSV)
    problem = assert_problem(answer, 422, field="body")
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [
        (3, "sku"),
        (4, "sku"),
        (5, "location"),
    ]
    assert all(e["reason"] for e in problem["errors"])


def test_a_body_of_another_media_type_is_a_415(client: TestClient) -> None:
    answer = client.post("/v1/imports/items", json=[{"sku": "A", "name": "A"}])
    assert_problem(answer, 415, field="body")


def test_the_import_limit_applies_to_imports_and_the_body_limit_does_not(
    small: TestClient, unchanged: Callable[..., Any]
) -> None:
    rows = "".join(f"SKU-{n},Item number {n}\n" for n in range(100))
    body = f"sku,name\n{rows}"
    assert 1024 < len(body) < 4096
    assert small.post("/v1/imports/items", content=body, headers=CSV).status_code == 200
    big = body + "X" * 4096
    with unchanged():
        declared = small.post("/v1/imports/items", content=big, headers=CSV)
        streamed = small.post("/v1/imports/items", content=iter([big.encode()]), headers=CSV)
    for answer in (declared, streamed):
        assert "4096 bytes" in assert_problem(answer, 413, field="body")["detail"]


def test_a_store_key_imports_the_stock_of_its_own_location_only(
    client: TestClient, stocked: Any
) -> None:
    stocked.location("ST-1", type="store")
    made = client.post("/v1/keys", json={"name": "till", "role": "store", "locations": ["ST-1"]})
    till = {"Authorization": f"Bearer {made.json()['secret']}", **CSV}
    body = "location,sku,on_hand\nST-1,TEE-M,3\n"
    assert_problem(
        client.post("/v1/imports/stock", content=body, headers=till), 403, field="location"
    )
    refused = client.post("/v1/imports/stock?location=WH-1", content=body, headers=till)
    assert_problem(refused, 403, field="location")
    answer = client.post("/v1/imports/stock?location=ST-1", content=body, headers=till)
    assert answer.status_code == 200, answer.text


def _lines(draw: Any) -> bytes:
    cell = st.sampled_from(["WH-1", "TEE-M", "5", "-1", '"a,b"', "", "x" * 70, "1.5", "\u00e9"])
    rows = draw(st.lists(st.lists(cell, min_size=1, max_size=4), max_size=5))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = "location,sku,on_hand" + end + end.join(",".join(r) for r in rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


@st.composite
def import_bodies(draw: Any) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:
        return codecs.BOM_UTF8 + draw(st.text(max_size=200)).encode()
    if kind == 2:
        return b"location,sku,on_hand\nWH-1,TEE-M," + b"9" * 1_048_576 + b"\n"
    return _lines(draw)


@FUZZ
@given(body=import_bodies(), route=st.sampled_from(["items", "locations", "stock"]))
def test_any_body_is_answered_without_a_server_error_and_a_refusal_names_a_line(
    client: TestClient,
    stocked: Any,
    tables: Callable[[], Any],
    body: bytes,
    route: str,
) -> None:
    before = tables()
    media = CSV if body[:1] != b"{" else NDJSON
    answer = client.post(f"/v1/imports/{route}", content=body, headers=media)
    assert answer.status_code < 500, answer.text
    if answer.status_code != 200:
        problem = assert_problem(answer, answer.status_code)
        assert problem["errors"] and all("line" in e for e in problem["errors"]), problem
        assert tables() == before
