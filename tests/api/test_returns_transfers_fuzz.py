"""Fuzzing the returns and transfers routes (issue 5): no body, query string or path id gets a
5xx, every refusal is a problem naming the input at fault, and a refusal changes nothing.

The approach and the helpers are test_fuzz.py's and test_orders_fuzz.py's: two bodies in
three are well-formed (valid for the schema, often wrong for the business: skus and
locations that exist and do not, an inactive store, MAX_QUANTITY units, duplicated skus,
orders and transfers in every status, the largest ids, etas in any zone), the others
near-valid bodies with values swapped for wrong ones (quantities beyond ±MAX_QUANTITY, ids
of 2**63 and more, naive or impossible etas, nulls, wrong types, NUL bytes), arbitrary JSON,
random bytes and truncated JSON. Path ids and query strings get the same treatment. After
every request:

- never a 5xx; any 4xx is application/problem+json whose `field` (always there on a 422,
  and on a 404 of a route that exists) names something the request sent, down to the line;
- a refusal leaves every row of every table as it was (`tables`), and a read changes nothing;
- an accepted write keeps the books balanced (the ledger replays, `reserved` is what orders,
  holds and open transfers promise, `inbound` is what shipped transfers carry), and answers
  what the issue says (the refund to the cent, the status the action leads to, the units
  counted, the discrepancies);
- a page answers only what its filters ask for, in id order.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from orders_helpers import (
    PRICES,
    acted,
    assert_books_balance,
    pickup_at,
    placed,
    receive,
    set_up_france,
    sold_at,
)
from pydantic import AwareDatetime, TypeAdapter
from sqlalchemy import select
from test_fuzz import (
    FUZZ,
    JSON,
    assert_safe_answer,
    bodies,
    decimal_strings,
    encoded,
    json_values,
    tricky_text,
    wrong_keys,
    wrong_quantities,
)
from test_orders_fuzz import near, well_formed

from omnistock.db import Database
from omnistock.db import tables as t
from omnistock.domain.stock import MAX_QUANTITY
from omnistock.domain.transfers import TransferStatus

#: FUZZ's settings with fewer examples: five routes here, each example snapshotting every
#: table twice, so that the file runs in well under a minute per database.
FEW = settings(FUZZ, max_examples=50)

Tables = Callable[[], dict[str, list[tuple[Any, ...]]]]

SKUS = ["TEE-M", "MUG", "CAP", "NOPE"]  # CAP exists with no stock anywhere; NOPE does not
#: ST-CLOSED is inactive: no return there, though a transfer may stock it before it opens.
LOCATIONS = ["WH-PARIS", "WH-LYON", "ST-LYON", "ST-NICE", "ST-CLOSED", "ST-NOWHERE"]
TRANSFER_FLOW = {
    ("open", "ship"): "shipped",
    ("open", "cancel"): "cancelled",
    ("shipped", "receive"): "received",
}
ACTIONS = ["ship", "receive", "cancel"]


def mostly(
    usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], times: int = 3
) -> st.SearchStrategy[Any]:
    """`usual` `times` times as often as `rare` (`st.one_of(usual, usual, usual, rare)`
    would not: it draws each distinct strategy about as often)."""
    return st.sampled_from([True] * times + [False]).flatmap(lambda yes: usual if yes else rare)


skus = mostly(st.sampled_from(SKUS[:2]), st.sampled_from(SKUS[2:]))
#: Valid quantities, the largest a line may carry among them (far more than there is).
quantities = mostly(st.integers(1, 3), st.just(MAX_QUANTITY))
counts = mostly(st.integers(0, 5), st.just(MAX_QUANTITY))
bad_quantities = (
    st.sampled_from([0, -1, MAX_QUANTITY + 1, -MAX_QUANTITY, -MAX_QUANTITY - 1])
    | wrong_quantities
    | st.floats(allow_nan=True)
    | decimal_strings
    | st.booleans()
)
#: Free text a client may send, unicode included (no NUL: no text may hold one).
notes = (
    st.none()
    | st.text(st.characters(exclude_characters="\x00"), max_size=20)
    | st.sampled_from(["é" * 200, "😀" * 64, "\u2028", "\ufeff", " "])
)
bad_notes = tricky_text | st.text(min_size=201, max_size=210) | json_values
#: Aware times of the whole calendar with any offset a zone may have (at its edges, some
#: leave it once in UTC: refused).
aware_times = st.datetimes(
    timezones=st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
        lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
    ),
).map(dt.datetime.isoformat)
etas = (
    st.none()
    | aware_times
    | st.sampled_from(
        [
            "2026-12-01T08:00:00Z",
            "2026-12-01T08:00:00.123456789Z",
            "2026-12-01 08:00:00+02:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999Z",
        ]
    )
)
bad_etas = (
    st.sampled_from(
        [
            "0001-01-01T00:00:00+01:00",  # before the calendar once in UTC
            "9999-12-31T23:59:59-01:00",  # after it
            "2026-12-01T08:00:00",  # naive
            "2026-12-01",
            "2026-02-30T00:00:00Z",
            "2026-12-31T23:59:60Z",
            "2026-12-01T08:00:00+24:00",
            "20261201T080000Z",
            "tomorrow",
            "",
            "2026-12-01T08:00:00Z\x00",
        ]
    )
    | json_values
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
)


#: Ids that could be, but are not (up to the largest a column holds).
unknown_ids = st.sampled_from([999_999, 2**63 - 1])


def ids(known: list[int]) -> st.SearchStrategy[int]:
    """Ids that exist, mostly, and ids that do not."""
    return mostly(st.sampled_from(known), unknown_ids)


#: Ids that no id can be: zero, negative, beyond 63 bits.
bad_ids = st.sampled_from([0, -1, 2**63, 2**64, -(2**63)])


Shape = Callable[..., st.SearchStrategy[dict[str, Any]]]


def requests(shaped: Callable[[Shape], st.SearchStrategy[Any]]) -> st.SearchStrategy[bytes]:
    """Mostly well-formed (each value valid for the schema, the request often wrong for the
    business), else anything test_fuzz.py sends: near-valid, JSON, bytes, cut."""
    return mostly(shaped(well_formed).map(encoded), bodies(shaped(near)), 2)


#: Path segments that are no id: decimals, signs, a fullwidth digit, a slash, a dot segment...
path_texts = st.sampled_from(
    ["abc", "1.0", "1e3", " 1", "+1", "\uff11", "0x1", "", "1/2", "%00", ".", ".."]
) | st.text(max_size=12)


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    """What the fuzzing starts from (ids as the database gave them)."""

    #: Units of each sku that reached the customer, by order (delivered or collected).
    delivered: dict[int, dict[str, int]]
    orders: list[int]
    transfers: list[int]
    #: Filled as the fuzzing goes: units of each sku returned, by order.
    returned: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


def set_up_world(client: TestClient, shop: Any) -> World:
    """Stock everywhere but ST-CLOSED; orders delivered, collected, sold in store, and one
    still allocated; transfers open, shipped, received, cancelled, and a supplier's on its
    way to the closed store."""
    set_up_france(shop)
    for sku in ("TEE-M", "MUG"):
        receive(shop, sku, {"WH-PARIS": 500, "WH-LYON": 500, "ST-LYON": 50, "ST-NICE": 50})
    shipped = placed(client, ("TEE-M", 3), ("MUG", 2))
    for fulfilment in shipped["fulfillments"]:
        acted(client, fulfilment["id"], "pick", "pack", "ship", "deliver")
    in_store = placed(client, ("TEE-M", 2), channel="stores", delivery=sold_at("ST-NICE"))
    collected = placed(client, ("MUG", 1), channel="stores", delivery=pickup_at("ST-LYON"))
    acted(client, collected["fulfillments"][0]["id"], "pick", "ready", "collect")
    allocated = placed(client, ("TEE-M", 1))
    delivered = {
        shipped["id"]: {"TEE-M": 3, "MUG": 2},
        in_store["id"]: {"TEE-M": 2},
        collected["id"]: {"MUG": 1},
    }

    def transfer(body: dict[str, Any], *then: tuple[str, dict[str, Any] | None]) -> int:
        response = client.post("/v1/transfers", json=body)
        assert response.status_code == 201, response.text
        transfer_id: int = response.json()["id"]
        for action, action_body in then:
            acted_on = client.post(f"/v1/transfers/{transfer_id}/{action}", json=action_body)
            assert acted_on.status_code == 200, acted_on.text
        return transfer_id

    tee, mug = {"sku": "TEE-M", "quantity": 3}, {"sku": "MUG", "quantity": 2}
    transfers = [
        transfer({"from": "WH-PARIS", "to": "ST-LYON", "lines": [tee, mug]}),
        transfer({"from": "WH-LYON", "to": "ST-NICE", "lines": [tee]}, ("ship", None)),
        transfer(
            {"to": "WH-PARIS", "lines": [mug], "eta": "2026-12-01T08:00:00Z"},
            ("receive", {"lines": [{"sku": "MUG", "quantity": 1}]}),
        ),
        transfer({"from": "WH-PARIS", "to": "WH-LYON", "lines": [mug]}, ("cancel", None)),
        transfer({"to": "ST-CLOSED", "lines": [tee, mug], "eta": "2026-12-02T08:00:00+02:00"}),
    ]
    orders = [shipped["id"], in_store["id"], collected["id"], allocated["id"]]
    return World(delivered, orders, transfers)


# --------------------------------------------------------------------------- checks


def field_path(name: str) -> list[str | int]:
    """'lines[2].sku' -> ['lines', 2, 'sku']."""
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", name):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return parts


def assert_names_what_was_sent(name: str, inputs: set[str], sent: Any, problem: Any) -> None:
    """The field is one of the request's inputs and, within a JSON body, every step to it
    was there: no `lines[5]` for a body of two lines."""
    path = field_path(name)
    assert path and path[0] in inputs, (problem, inputs)
    if not isinstance(sent, dict) or path[0] not in sent:
        return
    node: Any = sent
    for step in path[:-1]:
        if isinstance(step, int):
            assert isinstance(node, list) and 0 <= step < len(node), (name, sent)
        else:
            assert isinstance(node, dict) and step in node, (name, sent)
        node = node[step]
    last = path[-1]
    if isinstance(last, int):
        assert isinstance(node, list) and 0 <= last < len(node), (name, sent)


def assert_well_answered(
    response: httpx.Response,
    before: Any,
    after: Any,
    db: Database,
    *,
    inputs: set[str],
    sent: Any = None,
    route_exists: bool = True,
) -> None:
    """test_fuzz's safe answer (no 5xx, problem+json, a refusal changes nothing, the ledger
    replays), and a refusal names the input at fault."""
    assert_safe_answer(response, before, after, db)
    assert response.status_code in (200, 201) or 400 <= response.status_code < 500, response
    if response.status_code < 400 or not route_exists:  # another route's inputs, or none
        return
    problem = response.json()
    name = problem.get("field")
    if response.status_code in (404, 422):
        assert isinstance(name, str) and name, problem
    if name is not None:
        assert_names_what_was_sent(name, inputs, sent, problem)


def assert_in_transit(db: Database) -> None:
    """Each position's `inbound` is what shipped transfers carry towards it."""
    with db.read() as conn:
        carried: Counter[tuple[str, str]] = Counter()
        rows = conn.execute(
            select(t.transfers.c.destination, t.transfer_lines.c.sku)
            .add_columns(t.transfer_lines.c.quantity)
            .select_from(t.transfers.join(t.transfer_lines))
            .where(t.transfers.c.status == "shipped")
        )
        for location, sku, quantity in rows:
            carried[location, sku] += quantity
        for p in conn.execute(select(t.positions)):
            assert p.inbound == carried.pop((p.location, p.sku), 0), p
        assert not +carried, carried


def assert_books_balance_in_transit(db: Database) -> None:
    assert_books_balance(db)
    assert_in_transit(db)


def sent_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def cents(amount: str) -> int:
    return int(Decimal(amount) * 100)


# --------------------------------------------------------------------------- returns


def return_bodies(world: World) -> st.SearchStrategy[bytes]:
    def shaped(shape: Shape) -> Any:
        lines = shape(
            {
                "sku": skus,
                "quantity": quantities,
                "condition": st.sampled_from(["sellable", "damaged"]),
                "reason": notes,
            },
            {
                "sku": wrong_keys,
                "quantity": bad_quantities,
                "condition": st.sampled_from(["SELLABLE", "broken", ""]) | st.text(max_size=9),
                "reason": bad_notes,
            },
        )
        return shape(
            {
                "order_id": ids(world.orders),
                "location": mostly(st.sampled_from(LOCATIONS[:4]), st.sampled_from(LOCATIONS[4:])),
                "lines": st.lists(lines, min_size=1, max_size=2),
            },
            {
                "order_id": bad_ids | st.text(max_size=9) | st.floats() | st.booleans(),
                "location": wrong_keys,
                "lines": st.lists(json_values, max_size=3)
                | st.just([])
                | st.just([{"sku": "MUG", "quantity": 1, "condition": "sellable"}] * 101),
            },
        )

    return requests(shaped)


def assert_return_as_the_issue_says(world: World, sent: dict[str, Any], answer: Any) -> None:
    """The refund is each unit at the order's price, counted in cents; never more back of a
    sku than the order delivered."""
    order_id = sent["order_id"]
    assert answer["order_id"] == order_id and answer["location"] == sent["location"]
    assert answer["currency"] == "EUR"
    assert [(x["sku"], x["quantity"], x["condition"], x["reason"]) for x in answer["lines"]] == [
        (x["sku"], x["quantity"], x["condition"], x.get("reason")) for x in sent["lines"]
    ]
    expected = sum(x["quantity"] * cents(PRICES[x["sku"]]) for x in sent["lines"])
    assert cents(answer["refund_amount"]) == expected, answer
    for line in sent["lines"]:
        world.returned[order_id][line["sku"]] += line["quantity"]
    for sku, units in world.returned[order_id].items():
        assert units <= world.delivered.get(order_id, {}).get(sku, 0), (order_id, sku)


def test_no_return_body_gets_a_5xx_and_a_refused_one_changes_nothing(
    client: TestClient, shop: Any, db: Database, tables: Tables
) -> None:
    world = set_up_world(client, shop)
    inputs = {"body", "order_id", "location", "lines"}

    @FEW
    @given(body=return_bodies(world))
    def post(body: bytes) -> None:
        before = tables()
        response = client.post("/v1/returns", content=body, headers=JSON)
        sent = sent_json(body)
        assert_well_answered(response, before, tables(), db, inputs=inputs, sent=sent)
        if response.status_code == 201:
            assert_return_as_the_issue_says(world, sent, response.json())
            assert_books_balance_in_transit(db)

    post()
    assert_books_balance_in_transit(db)


# --------------------------------------------------------------------------- transfers


def transfer_bodies() -> st.SearchStrategy[bytes]:
    def shaped(shape: Shape) -> Any:
        lines = shape(
            {"sku": skus, "quantity": quantities},
            {"sku": wrong_keys, "quantity": bad_quantities},
        )
        body = shape(
            {
                "to": st.sampled_from(LOCATIONS),
                "lines": st.lists(lines, min_size=1, max_size=3),
                "eta": etas,
                "reference": notes,
            },
            {
                "to": wrong_keys | json_values,
                "lines": st.lists(json_values, max_size=3)
                | st.just([])
                | st.just([{"sku": "MUG", "quantity": 1}] * 101),
                "eta": bad_etas,
                "reference": bad_notes,
            },
        )
        # From a location (maybe the destination itself), from a supplier (no `from`, or a
        # null one), or from something that is no location code.
        origins = mostly(st.sampled_from(LOCATIONS) | st.none(), wrong_keys | json_values)
        return st.tuples(body, st.booleans(), origins).map(
            lambda x: {**x[0], "from": x[2]} if x[1] else x[0]
        )

    return requests(shaped)


def assert_transfer_as_the_issue_says(sent: dict[str, Any], answer: Any) -> None:
    origin = sent.get("from")
    assert answer["from"] == origin and answer["to"] == sent["to"]
    assert answer["status"] == ("open" if origin else "shipped")
    assert sorted(
        (x["sku"], x["requested"], x["quantity"], x["received"]) for x in answer["lines"]
    ) == sorted((x["sku"], x["quantity"], x["quantity"], None) for x in sent["lines"])
    assert answer["discrepancies"] == []
    if sent.get("eta") is None:
        assert answer["eta"] is None
    else:  # the same instant, read back in UTC
        eta = TypeAdapter(AwareDatetime).validate_python(sent["eta"])
        assert dt.datetime.fromisoformat(answer["eta"]) == eta
        assert answer["eta"].endswith("Z")


def test_no_transfer_body_gets_a_5xx_and_a_refused_one_changes_nothing(
    client: TestClient, shop: Any, db: Database, tables: Tables
) -> None:
    set_up_world(client, shop)
    inputs = {"body", "from", "to", "lines", "eta", "reference"}

    @FEW
    @given(body=transfer_bodies())
    def post(body: bytes) -> None:
        before = tables()
        response = client.post("/v1/transfers", content=body, headers=JSON)
        sent = sent_json(body)
        assert_well_answered(response, before, tables(), db, inputs=inputs, sent=sent)
        if response.status_code == 201:
            assert_transfer_as_the_issue_says(sent, response.json())
            assert_books_balance_in_transit(db)

    post()
    assert_books_balance_in_transit(db)


def receive_bodies() -> st.SearchStrategy[bytes]:
    def shaped(shape: Shape) -> Any:
        lines = shape(
            {"sku": skus, "quantity": counts},
            {"sku": wrong_keys, "quantity": bad_quantities},
        )
        return shape(
            {"lines": st.lists(lines, max_size=3)},
            {"lines": json_values | st.just([{"sku": "MUG", "quantity": 1}] * 101)},
        )

    return requests(shaped)


def routed(segment: Any) -> bool:
    """A path segment that reaches the route: not empty, no slash, no dot segment."""
    text = str(segment)
    return text not in ("", ".", "..") and "/" not in text


def read_transfer(client: TestClient, segment: str) -> dict[str, Any] | None:
    """The transfer at this path segment, as the API reads it, if it reads one."""
    response = client.get(f"/v1/transfers/{segment}")
    assert response.status_code < 500, response.text
    found: dict[str, Any] | None = response.json() if response.status_code == 200 else None
    return found


def assert_action_as_the_issue_says(
    was: dict[str, Any] | None, action: str, sent: Any, response: httpx.Response
) -> None:
    """The action leads where the issue's table says, and a wrong one is a 409 naming the
    status and the action; a reception counts what was listed and nothing else."""
    if response.status_code == 409:
        problem = response.json()
        assert was is not None and (was["status"], action) not in TRANSFER_FLOW, problem
        assert (problem["current_status"], problem["action"]) == (was["status"], action)
    if response.status_code != 200:
        return
    assert was is not None
    answer = response.json()
    assert answer["status"] == TRANSFER_FLOW[was["status"], action]
    assert [(x["sku"], x["quantity"]) for x in answer["lines"]] == [
        (x["sku"], x["quantity"]) for x in was["lines"]
    ]
    if action != "receive":
        assert [x["received"] for x in answer["lines"]] == [None] * len(answer["lines"])
        return
    listed = {x["sku"]: x["quantity"] for x in sent["lines"]}
    for line in answer["lines"]:
        assert line["received"] == listed.get(line["sku"], 0), (line, sent)
    assert answer["discrepancies"] == [
        {
            "sku": x["sku"],
            "shipped": x["quantity"],
            "received": x["received"],
            "difference": x["received"] - x["quantity"],
        }
        for x in answer["lines"]
        if x["received"] != x["quantity"]
    ]


def test_no_transfer_action_gets_a_5xx_a_wrong_one_is_a_409_and_a_refused_one_changes_nothing(
    client: TestClient, shop: Any, db: Database, tables: Tables
) -> None:
    world = set_up_world(client, shop)
    tee, mug = {"sku": "TEE-M", "quantity": 2}, {"sku": "MUG", "quantity": 3}
    fresh = st.sampled_from(
        [
            None,
            {"from": "WH-PARIS", "to": "ST-LYON", "lines": [tee]},
            {"from": "ST-LYON", "to": "ST-CLOSED", "lines": [tee, mug]},
            {"to": "ST-NICE", "lines": [mug, tee]},
        ]
    )
    actions = mostly(st.sampled_from(ACTIONS), st.sampled_from(["SHIP", "deliver", "", "ship/"]), 6)

    @FEW
    @given(
        data=st.data(),
        new=fresh,
        then_ship=st.booleans(),
        target=st.sampled_from(["the new one"] * 3 + ["any"] * 2 + ["none"]),
        action=actions,
        body=mostly(receive_bodies(), st.none(), 2),
    )
    def act(
        data: st.DataObject,
        new: dict[str, Any] | None,
        then_ship: bool,
        target: str,
        action: str,
        body: bytes | None,
    ) -> None:
        if new is not None:  # a transfer of each status keeps coming to act on
            created = client.post("/v1/transfers", json=new)
            assert created.status_code in (201, 409), created.text  # 409: the origin ran out
            if created.status_code == 201:
                world.transfers.append(created.json()["id"])
                if then_ship and new.get("from"):
                    shipped = client.post(f"/v1/transfers/{world.transfers[-1]}/ship")
                    assert shipped.status_code == 200, shipped.text
        if target == "none":
            transfer_id = data.draw(bad_ids | path_texts, label="transfer_id")
        elif target == "the new one" and new is not None:
            transfer_id = world.transfers[-1]
        else:  # by index: the list grows, and hypothesis wants the same draws each time
            any_one = st.integers(0, 999).map(lambda i: world.transfers[i % len(world.transfers)])
            transfer_id = data.draw(mostly(any_one, unknown_ids), label="transfer_id")
        segment = quote(str(transfer_id), safe="")
        was = read_transfer(client, segment) if routed(transfer_id) else None
        before = tables()
        response = client.post(f"/v1/transfers/{segment}/{action}", content=body, headers=JSON)
        sent = sent_json(body) if body is not None else None
        exists = action in ACTIONS and routed(transfer_id)
        inputs = {"body", "lines", "id"}
        after = tables()
        assert_well_answered(
            response, before, after, db, inputs=inputs, sent=sent, route_exists=exists
        )
        if exists:
            assert_action_as_the_issue_says(was, action, sent, response)
        if response.status_code == 200:
            assert_books_balance_in_transit(db)

    act()
    assert_books_balance_in_transit(db)


# --------------------------------------------------------------------------- reads


query_values = (
    st.integers(-2, 8).map(str)
    | st.sampled_from(
        [str(2**63 - 1), str(2**63), str(-(2**63) - 1), "1.5", "1e3", "", " 1", "\uff11", "\x00"]
    )
    | st.sampled_from(["open", "shipped", "received", "cancelled", "OPEN", "inbound"])
    | st.sampled_from(LOCATIONS)
    | st.text(max_size=12)
)


def query_strings(
    valid: dict[str, st.SearchStrategy[str]],
) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Query parameters: the route's own, mostly with values it takes, some repeated, and
    some it does not know."""
    known = [
        st.tuples(st.just(name), mostly(values, query_values)) for name, values in valid.items()
    ]
    unknown = st.tuples(st.sampled_from(["junk", ""]) | st.text(max_size=6), query_values)
    return st.lists(st.one_of(*known, unknown), max_size=4)


PAGE = ["after", "limit"]
#: The filters of each page, and whether an item passes one, given its value.
RETURN_FILTERS: dict[str, Callable[[dict[str, Any], str], bool]] = {
    "order_id": lambda item, value: item["order_id"] == int(value),
    "location": lambda item, value: item["location"] == value,
}
TRANSFER_FILTERS: dict[str, Callable[[dict[str, Any], str], bool]] = {
    "status": lambda item, value: item["status"] == value,
    "location": lambda item, value: value in (item["from"], item["to"]),
}


def assert_page_filtered(
    items: list[dict[str, Any]],
    nxt: Any,
    query: list[tuple[str, str]],
    filters: dict[str, Callable[[dict[str, Any], str], bool]],
) -> None:
    """Ids ascending, above `after`, at most `limit` of them, `next` the last id of a full
    page; each item passes every filter asked for."""
    params = dict(query)  # the last of repeated parameters is the one read
    ids_ = [x["id"] for x in items]
    assert ids_ == sorted(set(ids_))
    assert all(i > int(params.get("after", 0)) for i in ids_)
    limit = int(params.get("limit", 100))
    assert len(ids_) <= limit
    assert nxt == (ids_[-1] if len(ids_) == limit else None)
    for item in items:
        for name, passes in filters.items():
            assert name not in params or passes(item, params[name]), (item, params)


def get_and_check(
    client: TestClient,
    db: Database,
    tables: Tables,
    path: str,
    query: list[tuple[str, str]],
    inputs: set[str],
    *,
    route_exists: bool = True,
) -> httpx.Response:
    before = tables()
    response = client.get(path, params=query)
    after = tables()
    assert_well_answered(response, before, after, db, inputs=inputs, route_exists=route_exists)
    assert after == before, response.text  # a read changes nothing, answered or not
    return response


def test_no_read_of_returns_transfers_or_stock_in_transit_gets_a_5xx_or_changes_anything(
    client: TestClient, shop: Any, db: Database, tables: Tables
) -> None:
    world = set_up_world(client, shop)
    return_ids = []
    for order_id, location, sku in [
        (world.orders[0], "ST-LYON", "MUG"),
        (world.orders[1], "ST-NICE", "TEE-M"),
        (world.orders[0], "WH-PARIS", "TEE-M"),
    ]:
        line = {"sku": sku, "quantity": 1, "condition": "damaged", "reason": "chipped"}
        body = {"order_id": order_id, "location": location, "lines": [line]}
        returned = client.post("/v1/returns", json=body)
        assert returned.status_code == 201, returned.text
        return_ids.append(returned.json()["id"])
    none: st.SearchStrategy[list[tuple[str, str]]] = st.just([])
    numbers = st.integers(0, 8).map(str)
    page = {"after": numbers, "limit": st.integers(1, 4).map(str)}
    where = {"location": st.sampled_from(LOCATIONS)}
    return_query = {"order_id": st.sampled_from(world.orders).map(str), **where, **page}
    transfer_query = {"status": st.sampled_from(sorted(TransferStatus)), **where, **page}
    reads = st.one_of(
        st.tuples(st.just("returns"), st.none(), query_strings(return_query)),
        st.tuples(st.just("transfers"), st.none(), query_strings(transfer_query)),
        st.tuples(st.just("returns"), mostly(ids(return_ids), bad_ids | path_texts), none),
        st.tuples(st.just("transfers"), mostly(ids(world.transfers), bad_ids | path_texts), none),
        st.tuples(
            st.just("stock"),
            mostly(st.sampled_from(SKUS), path_texts),
            query_strings({"include": st.just("inbound")}),
        ),
    )

    @FEW
    @given(read=reads)
    def get(read: tuple[str, Any, list[tuple[str, str]]]) -> None:
        collection, key, query = read
        if key is None:  # a page
            filters = RETURN_FILTERS if collection == "returns" else TRANSFER_FILTERS
            inputs = set(filters) | set(PAGE)
            response = get_and_check(client, db, tables, f"/v1/{collection}", query, inputs)
            if response.status_code == 200:
                found = response.json()
                assert_page_filtered(found[collection], found["next"], query, filters)
            return
        path = f"/v1/{collection}/{quote(str(key), safe='')}"
        name = "sku" if collection == "stock" else "id"
        response = get_and_check(
            client, db, tables, path, query, {name, "include"}, route_exists=routed(key)
        )
        if response.status_code != 200:
            return
        if collection == "stock":
            assert_stock_in_transit(response.json(), dict(query).get("include"))
        elif isinstance(key, int):
            assert response.json()["id"] == key

    get()


def assert_stock_in_transit(stock: dict[str, Any], include: str | None) -> None:
    """With `include=inbound`, each position lists the shipped transfers coming its way,
    soonest first and unknown ETAs last, and they add up to its `inbound`; without it, the
    key is absent. The total counts inbound units."""
    positions = stock["positions"]
    assert stock["total"]["inbound"] == sum(p["inbound"] for p in positions)
    for p in positions:
        if include != "inbound":
            assert "inbound_transfers" not in p, p
            continue
        coming = p["inbound_transfers"]
        assert sum(x["quantity"] for x in coming) == p["inbound"], p
        etas_ = [x["eta"] for x in coming]
        known = [dt.datetime.fromisoformat(e) for e in etas_ if e is not None]
        assert known == sorted(known) and etas_[: len(known)] == [e for e in etas_ if e], p
