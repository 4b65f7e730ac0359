"""The console in a real browser (issue 15): `omnistock serve --demo` on SQLite and on
PostgreSQL, and chromium signing in, searching as it types and reading an item's page.

Playwright for Python drives Debian's `chromium` (Playwright's own browser download is out
of reach of these machines). Without chromium or Playwright the tests skip with that
reason, except under CI, where they must run (`.ci/run` installs both). (No conftest.py
here: the other folders' tests import theirs by the name `conftest`.)

Every page is checked as a person would meet it: on both databases it loads with no console
error and no failed request (so the Content-Security-Policy lets everything the page needs
through); on SQLite, axe-core finds no serious or critical accessibility violation and a
screenshot at the head office's width (1280 px) and a store tablet's (768 px) is written to
`tests/e2e/artifacts/`.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from clusters import create_database, drop_database, running_in_ci
from servers import ADMIN_KEY, serving

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).parent / "artifacts"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"

WIDTHS = {"office": 1280, "tablet": 768}


def chromium_path() -> str | None:
    return os.environ.get("OMNISTOCK_TEST_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless chromium for a module's tests (Playwright's `Browser`); a module's, not
    the session's, so that Playwright's own event loop never outlives the browser tests."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        executable = None
    if executable is None:
        reason = "no chromium (apt-get install chromium) or no Playwright (pip install playwright)"
        if running_in_ci():
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """What went wrong in a page while it was watched."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}")
                if m.type == "error" else None)  # fmt: skip
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", self._failed)
        page.on("response", lambda r: self.errors.append(f"{r.status}: {r.url}")
                if r.status >= 400 and "/items/NOPE" not in r.url else None)  # fmt: skip

    def _failed(self, request: Any) -> None:
        if request.failure != "net::ERR_ABORTED":  # not one a navigation cancelled
            self.errors.append(f"failed: {request.url} ({request.failure})")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """`omnistock serve --demo` on a fresh database of each backend, shared by this module's
    tests (loading the demo is the slow part)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('console')}/omnistock.db"
        with serving(url, admin_key=ADMIN_KEY, demo=True) as server:
            server.backend = "sqlite"
            yield server
        return
    admin = request.getfixturevalue("pg_server_url")
    name = f"console_{uuid.uuid4().hex[:12]}"
    url = create_database(admin, name)
    try:
        with serving(url, admin_key=ADMIN_KEY, demo=True) as server:
            server.backend = "postgresql"
            yield server
    finally:
        drop_database(admin, name)


def accessibility_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands."""
    found = page.evaluate(
        AXE.read_text() + "\n;axe.run(document, {resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, "
        "nodes: v.nodes.map(n => n.target.join(' '))})))"
    )
    return [json.dumps(v) for v in found if v["impact"] in ("serious", "critical")]


def check(page: Any, watched: Watched, name: str, backend: str) -> None:
    """The page as it stands: no error so far; and on SQLite, nothing axe calls serious and
    a screenshot at each width (the database changes the figures on a page, not its markup:
    its accessibility and its look are checked once, which keeps the suite in its time)."""
    assert watched.errors == [], f"{name}: {watched.errors}"
    if backend != "sqlite":
        return
    assert accessibility_violations(page) == [], name
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS["office"], "height": 900})


def signed_in(page: Any, url: str, key: str, *, next: str) -> None:
    """The sign-in form filled with `key` and sent; on to `next` (or where it leads)."""
    page.goto(f"{url}/sign-in?next={next}")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next}**")


def store_key(url: str, location: str) -> str:
    answer = httpx.post(
        f"{url}/v1/keys",
        json={"name": "Lyon tablet", "role": "store", "locations": [location]},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["secret"])


def test_head_office_signs_in_finds_an_item_as_it_types_and_reads_its_stock(
    served: Any, chromium: Any
) -> None:
    backend = served.backend
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    watched = Watched()
    watched.watch(page)

    page.goto(f"{served.url}/items")
    assert page.url.endswith("/sign-in?next=/items")
    check(page, watched, "sign-in", backend)
    page.fill("#key", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url("**/items")
    check(page, watched, "items", backend)

    loads = []
    page.on("load", lambda _: loads.append(1))
    page.fill("#q", "leather belt grey")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results a')].length > 0 && "
        "[...document.querySelectorAll('#results a')].every(a => a.href.includes('ACC-BLT-GRY'))"
    )
    assert loads == []  # the list changed in place: htmx, no page load
    assert "q=leather" in page.url  # and the address says what was searched
    check(page, watched, "items-searched", backend)

    page.click("#results a >> nth=0")
    page.wait_for_selector("table.stock")
    assert page.locator("h1").inner_text().startswith("Leather belt")
    assert page.locator("section.channel").count() == 4  # the demo's four channels
    check(page, watched, "item", backend)

    page.goto(f"{served.url}/")
    page.wait_for_url("**/overview")
    assert "orders today" in page.locator(".figures").inner_text()
    check(page, watched, "overview", backend)

    page.goto(f"{served.url}/orders?q=demo-0003")
    check(page, watched, "orders", backend)
    page.click("a:has-text('demo-0003')")
    page.wait_for_selector("table.sourcing")
    assert page.locator("table.sourcing tr.chosen").count() >= 1  # where it went, and why
    check(page, watched, "order", backend)

    page.goto(f"{served.url}/items/NOPE")
    assert page.locator("h1").inner_text() == "Not found"
    context.close()


def test_a_store_associate_sees_the_item_at_their_store_only_and_in_french(
    served: Any, chromium: Any
) -> None:
    key = store_key(served.url, "ST-LYON")
    context = chromium.new_context(locale="fr-FR")
    page = context.new_page()
    watched = Watched()
    watched.watch(page)

    signed_in(page, served.url, key, next="/items")
    page.goto(f"{served.url}/items?q=ACC-BLT")
    page.click("#results a >> nth=0")
    page.wait_for_selector("h2")

    assert page.locator("h2 >> nth=0").inner_text() == "Stock dans vos lieux"
    rows = page.locator("table.stock tbody tr")
    codes = {rows.nth(i).locator("th small").inner_text().split(" ")[0]
             for i in range(rows.count())}  # fmt: skip
    assert codes <= {"ST-LYON"}
    assert watched.errors == []
    context.close()


def api(url: str, method: str, path: str, **kwargs: Any) -> Any:
    answer = httpx.request(
        method, f"{url}{path}", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10,
        **kwargs,
    )  # fmt: skip
    assert answer.status_code < 300, answer.text
    return answer.json()


def test_a_store_associate_hands_a_click_and_collect_order_over_through_its_queues(
    served: Any, chromium: Any
) -> None:
    held = api(served.url, "GET", "/v1/stock", params={"location": "ST-LYON", "limit": 200})
    sku = next(p["sku"] for p in held["positions"] if p["available"] >= 1)
    order = api(served.url, "POST", "/v1/orders", json={
        "channel": "store", "external_id": f"E2E-CC-{served.backend}",
        "customer": {"name": "Camille Martin", "email": "camille.martin@example.fr"},
        "delivery": {"method": "pickup", "location": "ST-LYON"},
        "lines": [{"sku": sku, "quantity": 1, "unit_price": "10.00"}],
    })  # fmt: skip
    (work,) = order["fulfillments"]
    assert work["location"] == "ST-LYON"
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    watched = Watched()
    watched.watch(page)

    signed_in(page, served.url, store_key(served.url, "ST-LYON"), next="/stores")
    page.wait_for_url("**/stores/ST-LYON")
    check(page, watched, "store", served.backend)
    card = f"#f-{work['id']}"
    page.click(f"{card} button:has-text('pick')")
    page.wait_for_url("**/stores/ST-LYON?done=pick")
    page.click(f"{card} button:has-text('ready')")
    page.wait_for_url("**/stores/ST-LYON?done=ready")
    page.fill(f"{card} input[name=reference]", order["external_id"])
    page.click(f"{card} button:has-text('collect')")
    page.wait_for_url("**/stores/ST-LYON?done=collect")

    assert page.locator(card).count() == 0
    assert api(served.url, "GET", f"/v1/orders/{order['id']}")["status"] == "completed"
    assert watched.errors == []
    context.close()


def test_the_returns_desk_takes_back_a_web_order_in_a_store_and_the_item_shows_it(
    served: Any, chromium: Any
) -> None:
    sku = "ACC-BLT-GRY-100"
    order = api(served.url, "POST", "/v1/orders", json={
        "channel": "web", "external_id": f"E2E-RET-{served.backend}",
        "customer": {"name": "Camille Martin", "email": "camille.martin@example.fr"},
        "delivery": {"method": "ship", "address": {
            "line1": "12 cours Emile Zola", "city": "Villeurbanne", "postcode": "69100",
            "country": "FR", "lat": 45.7719, "lon": 4.8902}},
        "lines": [{"sku": sku, "quantity": 1, "unit_price": "36.90"}],
    })  # fmt: skip
    for work in order["fulfillments"]:
        for action in ("pick", "pack", "ship", "deliver"):
            api(served.url, "POST", f"/v1/fulfillments/{work['id']}/{action}", json={})
    before = next(
        (p["on_hand"] for p in api(served.url, "GET", f"/v1/stock/{sku}")["positions"]
         if p["location"] == "ST-LYON"), 0,
    )  # fmt: skip
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    watched = Watched()
    watched.watch(page)

    signed_in(page, served.url, store_key(served.url, "ST-LYON"), next="/returns")
    page.fill("#q", order["external_id"])
    page.press("#q", "Enter")
    page.click(f"a:has-text('{order['external_id']}')")
    page.fill(f"input[name='quantity:{sku}']", "1")
    page.click("button[value=preview]")
    assert "Refund: 36.90 EUR" in page.locator(".refund").inner_text()
    check(page, watched, "returns", served.backend)
    page.click("button[value=confirm]")
    page.wait_for_selector("text=Taken back")
    page.click(f"a:has-text('{sku}')")
    page.wait_for_selector("table.stock")

    lyon = page.locator("table.stock tbody tr", has_text="ST-LYON")
    assert lyon.locator("td >> nth=0").inner_text() == str(before + 1)
    assert watched.errors == []
    context.close()
