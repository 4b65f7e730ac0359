"""The README's walk-through runs as written, and says what it does.

Every ```sh block between "## A walk through the API" and the next section is run, in order, in
one `bash` (`set -euo pipefail`) against a live `omnistock serve --demo` on a fresh SQLite
file, with only `KEY=...` and the address filled in. A `curl` function around the real one
records each call's arguments, HTTP status and answer, so the test proves that:

- no call answers an error (every status below 400), and no captured id is missing;
- each answer is what the comment above it announces (the figures the README states), and
  the states it promises for later hold at the end (order completed, units received);
- the demo is not altered behind the reader's back: its locations, channels and buffer rules
  are as they were, apart from what the walk-through creates (a store, a channel, a rule);
- pasting again creates nothing twice: the first two blocks run again leave the ledger and the
  rules as they were, every keyed create (movements, rule, return, transfers) posted again
  answers what it first did, every order the same order (200), and the order's external_id
  with another customer is a 409 `external-id-reused`.

SQLite only: the README is the subject, and the demo takes some 15 s longer to load on
PostgreSQL (where the walk-through passes too, 31 s).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import serving

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## A walk through the API"
STORE, CHANNEL, SKU = "ST-NANTES-GARE", "app", "TSH-001"
RUN_SECONDS = 60  # a bound against hangs, not a measurement

# Every call of the walk-through goes through this `curl`: its arguments (NUL-separated), the
# headers it received and its answer land in $CALLS/<n>.*, numbered in order (a file counts,
# so calls made inside $(...) are numbered too).
RECORDING_CURL = r"""
set -euo pipefail
echo 0 > "$CALLS/count"
curl() {
  local n; n=$(( $(cat "$CALLS/count") + 1 )); echo "$n" > "$CALLS/count"
  printf '%s\0' "$@" > "$CALLS/$n.args"
  command curl -D "$CALLS/$n.head" "$@" | tee "$CALLS/$n.body"
}
"""


@dataclass
class Call:
    method: str
    url: str
    status: int
    body: str
    args: list[str]

    def json(self) -> Any:
        return json.loads(self.body)

    def path(self) -> str:
        return self.url.split("/v1", 1)[1]


def walkthrough_blocks() -> list[str]:
    text = README.read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    blocks = re.findall(r"^```sh\n(.*?)^```", text[start:end], re.S | re.M)
    assert blocks, "the walk-through has no sh block"
    return blocks


def for_this_server(blocks: list[str], api: str, key: str) -> list[str]:
    """The blocks with the reader's KEY and API set to the live server's."""
    first, count = re.subn(r"^KEY=\.\.\..*$", f"KEY={key}", blocks[0], flags=re.M)
    first, found = re.subn(r"^API=\S+", f"API={api}", first, flags=re.M)
    assert (count, found) == (1, 1), "the first block sets KEY=... and API=..."
    return [first, *blocks[1:]]


def run_blocks(blocks: list[str], calls_dir: Path) -> list[Call]:
    calls_dir.mkdir()
    script = RECORDING_CURL + "\n".join(blocks)
    result = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        env={"CALLS": str(calls_dir), "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )
    assert result.returncode == 0, f"the walk-through failed:\n{result.stderr[-3000:]}"
    return recorded(calls_dir)


def recorded(calls_dir: Path) -> list[Call]:
    calls = []
    for n in range(1, int((calls_dir / "count").read_text()) + 1):
        args = (calls_dir / f"{n}.args").read_text().split("\0")[:-1]
        head = (calls_dir / f"{n}.head").read_text()
        status = int(re.findall(r"^HTTP/\S+ (\d{3})", head, re.M)[-1])
        method = args[args.index("-X") + 1] if "-X" in args else "GET"
        url = next(arg for arg in args if arg.startswith("http"))
        body = (calls_dir / f"{n}.body").read_text()
        calls.append(Call(method, url, status, body, args))
    return calls


def the_call(calls: list[Call], method: str, pattern: str, nth: int = 0) -> Call:
    """The `nth` call of `method` whose path (after /v1) matches `pattern` in full."""
    found = [c for c in calls if c.method == method and re.fullmatch(pattern, c.path())]
    assert len(found) > nth, f"no call #{nth} {method} {pattern} in the walk-through"
    return found[nth]


def demo_configuration(api: str, key: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=api, headers=headers, timeout=10) as client:
        found = {
            name: client.get(f"/{name}", params={"limit": 1000} if name == "locations" else None)
            .raise_for_status()
            .json()
            for name in ("locations", "channels", "buffer-rules")
        }
    found["locations"] = found["locations"]["locations"]  # a page (one: the demo has 34)
    return found


def position(stock: Any, location: str) -> dict[str, int]:
    rows = stock["positions"] if "positions" in stock else stock["locations"]
    return next(row for row in rows if row["location"] == location)


#: The calls the walk-through makes to show a refusal: (method, path, status).
REFUSALS = {("GET", "/fulfillments?location=ST-PARIS", 403), ("GET", "/locations", 401)}


@pytest.mark.slow
def test_every_curl_of_the_walk_through_runs_and_answers_what_the_readme_says(
    tmp_path: Path,
) -> None:
    with serving(f"sqlite:///{tmp_path / 'demo.db'}", demo=True) as server:
        api = f"{server.url}/v1"
        before = demo_configuration(api, server.admin_key)
        blocks = for_this_server(walkthrough_blocks(), api, server.admin_key)
        calls = run_blocks(blocks, tmp_path / "calls")
        failed = [
            f"{c.method} {c.path()}: {c.status} {c.body}"
            for c in calls
            if c.status >= 400 and (c.method, c.path(), c.status) not in REFUSALS
        ]
        assert not failed, "\n".join(failed)
        the_stock_block_says_what_it_does(calls)
        the_channel_and_hold_blocks_say_what_they_do(calls)
        the_order_block_says_what_it_does(calls)
        the_return_and_transfer_block_says_what_it_does(calls)
        the_keys_block_says_what_it_does(calls)
        the_walk_through_ends_where_the_readme_says(api, server.admin_key, calls)
        the_demo_is_as_it_was_apart_from_what_the_reader_made(
            before, demo_configuration(api, server.admin_key)
        )
        pasting_again_creates_nothing_twice(api, server.admin_key, blocks, calls, tmp_path)


def the_stock_block_says_what_it_does(calls: list[Call]) -> None:
    here = position(the_call(calls, "GET", f"/stock/{SKU}").json(), STORE)
    assert (here["on_hand"], here["unsellable"], here["available"]) == (9, 1, 8)
    ledger = the_call(calls, "GET", rf"/stock/{SKU}/movements\?location={STORE}").json()
    assert [m["type"] for m in ledger] == ["receipt", "sale", "count", "damage"]


def the_channel_and_hold_blocks_say_what_they_do(calls: list[Call]) -> None:
    assert the_call(calls, "PUT", f"/channels/{CHANNEL}").status == 201
    ats = the_call(calls, "GET", rf"/availability/{SKU}\?channel={CHANNEL}").json()
    sellable = {row["location"]: row["sellable"] for row in ats["locations"] if row["sellable"]}
    assert (ats["available_to_sell"], sellable) == (6, {STORE: 6})
    many = the_call(calls, "GET", rf"/availability\?channel={CHANNEL}&sku=.*").json()
    assert [row["sku"] for row in many["items"]][:1] == [SKU]
    hold = the_call(calls, "POST", "/reservations")
    assert hold.status == 201
    assert {a["location"] for a in hold.json()["allocations"]} == {STORE}
    assert the_call(calls, "DELETE", r"/reservations/.+").json()["status"] == "released"


def the_order_block_says_what_it_does(calls: list[Call]) -> None:
    placed = the_call(calls, "POST", "/orders")
    assert placed.status == 201
    assert [f["location"] for f in placed.json()["fulfillments"]] == [STORE]
    rejected = the_call(calls, "POST", r"/fulfillments/\d+/reject").json()
    assert [r["location"] for r in rejected["resourced"]] == ["WH-LYON"]
    assert rejected["backordered"] == []
    order = the_call(calls, "GET", rf"/orders/{placed.json()['id']}").json()
    works = [(f["location"], f["status"]) for f in order["fulfillments"]]
    assert works == [(STORE, "rejected"), ("WH-LYON", "allocated")]
    delivered = the_call(calls, "POST", r"/fulfillments/\d+/deliver").json()
    assert delivered["status"] == "delivered"
    pickup = the_call(calls, "POST", "/orders", nth=1)
    assert pickup.status == 201
    assert the_call(calls, "POST", r"/fulfillments/\d+/collect").json()["status"] == "collected"
    assert the_call(calls, "POST", "/orders", nth=2).status == 201
    one = the_call(calls, "POST", r"/orders/\d+/cancel").json()
    assert [(line["quantity"], line["cancelled"]) for line in one["lines"]] == [(3, 1)]
    cancelled = the_call(calls, "POST", r"/orders/\d+/cancel", nth=1).json()
    assert cancelled["status"] == "cancelled"


def the_return_and_transfer_block_says_what_it_does(calls: list[Call]) -> None:
    returned = the_call(calls, "POST", "/returns")
    assert (returned.status, returned.json()["refund_amount"]) == (201, "39.80")
    inbound = position(the_call(calls, "GET", rf"/stock/{SKU}\?include=inbound").json(), STORE)
    assert inbound["inbound"] == 5
    received = the_call(calls, "POST", r"/transfers/\d+/receive").json()
    assert received["status"] == "received"
    assert [d["difference"] for d in received["discrepancies"]] == [-1]
    announced = the_call(calls, "POST", "/transfers", nth=1).json()
    assert (announced["status"], announced["from"]) == ("shipped", None)
    shipped = the_call(calls, "GET", r"/transfers\?status=shipped").json()["transfers"]
    assert announced["id"] in {transfer["id"] for transfer in shipped}


def the_walk_through_ends_where_the_readme_says(api: str, key: str, calls: list[Call]) -> None:
    """What the comments promise of later states: the delivered order is completed, the
    repaired unit sellable again, the 4 units received on hand at the store, none inbound."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=api, headers=headers, timeout=10) as client:
        order = client.get(f"/orders/{the_call(calls, 'POST', '/orders').json()['id']}").json()
        stock = client.get(f"/stock/{SKU}").json()
    assert order["status"] == "completed"
    assert position(stock, "ST-LYON")["unsellable"] == 0
    shipped = position(the_call(calls, "GET", rf"/stock/{SKU}\?include=inbound").json(), STORE)
    received = position(stock, STORE)
    assert (received["on_hand"], received["inbound"]) == (shipped["on_hand"] + 4, 0)


def the_demo_is_as_it_was_apart_from_what_the_reader_made(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    assert [x for x in after["locations"] if x["code"] != STORE] == before["locations"]
    assert [r for r in after["buffer-rules"] if r["channel"] != CHANNEL] == before["buffer-rules"]
    channels = [c for c in after["channels"] if c["code"] != CHANNEL]
    assert [c["code"] for c in channels] == [c["code"] for c in before["channels"]]
    for now, then in zip(channels, before["channels"], strict=True):
        # a ship-enabled store of the reader's joins every default pool: nothing else moves
        assert set(now.pop("pool")) - set(then.pop("pool")) <= {STORE}
        assert now == then


def the_keys_block_says_what_it_does(calls: list[Call]) -> None:
    made = [c for c in calls if c.method == "POST" and c.path() == "/keys"]
    assert [c.status for c in made] == [201, 201, 201]
    assert {c.json()["role"] for c in made} == {"integration", "store", "viewer"}
    queue = the_call(calls, "GET", "/fulfillments").json()["fulfillments"]
    assert queue and {f["location"] for f in queue} == {STORE}
    refused = the_call(calls, "GET", r"/fulfillments\?location=ST-PARIS")
    assert (refused.status, refused.json()["field"]) == (403, "location")
    listed = the_call(calls, "GET", "/keys")
    assert listed.status == 200 and "secret" not in listed.body
    assert the_call(calls, "DELETE", "/keys/key_[0-9a-f]+").status == 204
    assert [c.status for c in calls if c.path() == "/locations"][-1] == 401


def pasting_again_creates_nothing_twice(
    api: str, key: str, blocks: list[str], calls: list[Call], tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=api, headers=headers, timeout=10) as client:
        ledger = client.get(f"/stock/{SKU}/movements").json()
        rules = client.get("/buffer-rules").json()
        run_blocks(blocks[:2], tmp_path / "again")
        assert client.get(f"/stock/{SKU}/movements").json() == ledger
        assert client.get("/buffer-rules").json() == rules
        replayed = [c for c in calls if c.method == "POST" and "-d" in c.args and keyed_or_order(c)]
        assert {c.path() for c in replayed} >= {
            *("/stock/movements", "/buffer-rules", "/orders", "/returns", "/transfers")
        }
        for call in replayed:
            again = replay(client, call)
            if call.path() == "/orders":  # the same order, as it stands now
                assert (again.status_code, again.json()["id"]) == (200, call.json()["id"])
            else:  # the first answer, replayed
                assert (again.status_code, again.json()) == (call.status, call.json())
        an_order_reused_with_another_customer_is_refused(client, calls)


def an_order_reused_with_another_customer_is_refused(
    client: httpx.Client, calls: list[Call]
) -> None:
    placed = the_call(calls, "POST", "/orders")
    body = json.loads(placed.args[placed.args.index("-d") + 1])
    body["customer"]["name"] = "Someone Else"
    refused = client.post("/orders", json=body)
    assert (refused.status_code, refused.json()["code"]) == (409, "external-id-reused")
    assert "customer" in refused.text


def keyed_or_order(call: Call) -> bool:
    """A create the README makes safe to paste twice: an Idempotency-Key or an order."""
    keyed = any(arg.startswith("Idempotency-Key:") for arg in call.args)
    return keyed or call.path() == "/orders"


def replay(client: httpx.Client, call: Call) -> httpx.Response:
    """The call again, with its headers and body, as pasting it again would send it."""
    headers = dict(
        tuple(part.strip() for part in call.args[i + 1].split(":", 1))
        for i, arg in enumerate(call.args)
        if arg == "-H"
    )
    body = call.args[call.args.index("-d") + 1]
    return client.post(call.url, headers=headers, content=body.encode())
