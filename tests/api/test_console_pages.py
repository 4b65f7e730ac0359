"""The console's first pages (issue 15): signing in with a key for a signed session cookie,
the items and an item's stock everywhere, in English and French, under a strict CSP.

Through the app in a TestClient, on SQLite and PostgreSQL, as a browser would send forms.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from console_helpers import sign_in, text_of
from fastapi.testclient import TestClient

from conftest import ADMIN_KEY, Shop
from omnistock.domain.orders import FulfilmentStatus, OrderStatus
from omnistock.domain.returns import Condition
from omnistock.domain.sourcing import plans
from omnistock.web import i18n, pages, workspace
from omnistock.web.session import COOKIE, MAX_AGE

TEMPLATES = Path(pages.__file__).parent / "templates"


def make_key(shop: Shop, **fields: object) -> str:
    answer = shop.client.post("/v1/keys", json={"name": "a console key", **fields})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["secret"])


@pytest.fixture
def stocked(shop: Shop) -> Shop:
    """Two locations holding one item, and a web channel selling from both with a buffer of 2
    units in stores."""
    shop.item("TEE-M", name="Tee, size M", price="19.90")
    shop.location("WH-1")
    shop.location("ST-LYON", name="Lyon store", type="store", pickup_enabled=True)
    shop.move("receipt", 1234, sku="TEE-M", location="WH-1")
    shop.move("receipt", 5, sku="TEE-M", location="ST-LYON")
    put = shop.client.put("/v1/channels/web", json={"name": "Web shop"})
    assert put.status_code in (200, 201), put.text
    rule = {"channel": "web", "location_type": "store", "units": 2}
    assert shop.client.post("/v1/buffer-rules", json=rule).status_code == 201
    return shop


def test_a_page_asks_to_sign_in_first_and_comes_back_to_where_it_was_asked(
    browser: TestClient,
) -> None:
    answer = browser.get("/items/TEE-M")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/items/TEE-M"

    signed = sign_in(browser, ADMIN_KEY, next="/items/TEE-M")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/items/TEE-M"


def test_the_session_cookie_is_signed_http_only_strict_for_12_hours_and_holds_no_key(
    browser: TestClient,
) -> None:
    signed = sign_in(browser, ADMIN_KEY)
    cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", f"max-age={MAX_AGE}"} <= flags
    assert MAX_AGE == 12 * 3600
    assert ADMIN_KEY not in cookie
    assert browser.get("/items").status_code == 200

    forged = cookie.split(";")[0].split("=", 1)[1][:-2] + "xx"
    browser.cookies.set(COOKIE, forged)
    assert browser.get("/items").status_code == 303  # a tampered cookie is no session


def test_a_wrong_key_an_integration_key_or_a_form_from_elsewhere_signs_no_one_in(
    browser: TestClient, shop: Shop
) -> None:
    shop.client.put("/v1/channels/web", json={"name": "Web shop"})
    integration = make_key(shop, role="integration", channel="web")

    wrong = sign_in(browser, "osk_not_a_key")
    assert wrong.status_code == 401
    assert "not valid" in wrong.text
    refused = sign_in(browser, integration)
    assert refused.status_code == 403
    assert "integration key cannot sign in" in refused.text
    browser.cookies.clear()
    forged = browser.post("/sign-in", data={"key": ADMIN_KEY, "token": "made-up", "next": "/"})
    assert forged.status_code == 403  # no token cookie of this site: a cross-site form
    assert COOKIE not in browser.cookies
    assert browser.get("/items").status_code == 303


def test_a_sign_in_never_sends_the_browser_to_another_site(browser: TestClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        signed = sign_in(browser, ADMIN_KEY, next=target)
        assert signed.headers["location"] == "/items", target


def test_the_item_page_shows_stock_everywhere_and_each_channel_s_arithmetic(
    browser: TestClient, stocked: Shop
) -> None:
    sign_in(browser, ADMIN_KEY)

    page = browser.get("/items/TEE-M", headers={"Accept-Language": "en"})

    assert page.status_code == 200
    shown = text_of(page.text)
    assert "Tee, size M" in shown
    assert "Lyon store ST-LYON · store 5 0 0 0 5" in shown
    assert "WH-1 · warehouse 1,234 0 0 0 1,234" in shown
    assert "Total 1,239 0 0 0 1,239" in shown
    assert "Web shop web 1,237" in shown  # 1,234 + (5 - 2)
    assert "ST-LYON 5 \N{MINUS SIGN} 2 = 3" in shown
    assert "WH-1 1,234 \N{MINUS SIGN} 0 = 1,234" in shown


def test_a_store_key_sees_the_stock_of_its_own_locations_only(
    browser: TestClient, stocked: Shop
) -> None:
    store = make_key(stocked, role="store", locations=["ST-LYON"])
    sign_in(browser, store)

    shown = text_of(browser.get("/items/TEE-M").text)

    assert "Stock at your locations" in shown
    assert "ST-LYON" in shown
    assert "WH-1" not in shown


def test_the_pages_speak_french_to_a_french_browser_and_the_switch_wins(
    browser: TestClient, stocked: Shop
) -> None:
    sign_in(browser, ADMIN_KEY)

    french = browser.get("/items/TEE-M", headers={"Accept-Language": "fr-FR"}).text
    switched = browser.get("/language/en", params={"next": "/items/TEE-M"})
    english = text_of(browser.get("/items/TEE-M", headers={"Accept-Language": "fr-FR"}).text)

    assert "Stock dans chaque lieu" in text_of(french)
    assert "1\u202f234" in french or "1\u00a0234" in french  # a French thousands separator
    assert "19,90" in french
    assert switched.headers["location"] == "/items/TEE-M"
    assert "Stock at every location" in english
    assert "1,234" in english


def test_an_item_named_like_a_script_is_shown_as_text(browser: TestClient, shop: Shop) -> None:
    name = "<script>alert(1)</script>"
    shop.item("XSS-1", name=name)
    sign_in(browser, ADMIN_KEY)

    for page in (browser.get("/items", params={"q": "XSS"}), browser.get("/items/XSS-1")):
        assert page.status_code == 200
        assert name not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_every_page_has_a_strict_policy_and_no_inline_script_or_style(
    browser: TestClient, stocked: Shop
) -> None:
    pages_seen = [browser.get("/sign-in")]
    sign_in(browser, ADMIN_KEY)
    pages_seen += [
        browser.get("/items"),
        browser.get("/items/TEE-M"),
        browser.get("/stores"),
        browser.get("/stores/ST-LYON"),
        browser.get("/stores/ST-LYON/pick-list"),
        browser.get("/returns", params={"q": "nobody@example.com"}),
        browser.get("/orders"),
        browser.get("/overview"),
        browser.get("/items/NOPE"),
    ]
    assert [page.status_code for page in pages_seen[:-1]] == [200] * (len(pages_seen) - 1)
    for page in pages_seen:
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy
        assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", page.text) == []
        assert re.findall(r"\sstyle=|\son[a-z]+=", page.text) == []
        assert "http://" not in page.text and "https://" not in page.text  # nothing remote
    assert pages_seen[-1].status_code == 404


def test_a_revoked_key_ends_its_sessions_at_their_next_page(
    browser: TestClient, shop: Shop
) -> None:
    viewer = make_key(shop, role="viewer")
    sign_in(browser, viewer)
    assert browser.get("/items").status_code == 200
    key_id = next(k["id"] for k in shop.client.get("/v1/keys").json() if k["role"] == "viewer")

    assert shop.client.delete(f"/v1/keys/{key_id}").status_code in (200, 204)

    assert browser.get("/items").status_code == 303


def test_signing_out_takes_the_session_token_and_ends_the_session(browser: TestClient) -> None:
    sign_in(browser, ADMIN_KEY)
    page = browser.get("/items")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None

    forged = browser.post("/sign-out", data={"csrf": "not-the-token"})
    assert forged.status_code == 403
    assert browser.get("/items").status_code == 200  # still signed in

    out = browser.post("/sign-out", data={"csrf": csrf[1]})
    assert out.status_code == 303
    assert browser.get("/items").status_code == 303


def test_the_items_are_found_by_sku_name_words_or_barcode(browser: TestClient, shop: Shop) -> None:
    shop.item("TEE-M", name="Tee-shirt bleu", barcode="4006381333931")
    shop.item("CAP-1", name="Casquette", barcode="5901234123457")
    sign_in(browser, ADMIN_KEY)

    def found(q: str) -> list[str]:
        page = browser.get("/items", params={"q": q})
        return re.findall(r'href="/items/([A-Z0-9-]+)"', page.text)

    assert found("TEE") == ["TEE-M"]
    assert found("tee shirt BLEU") == ["TEE-M"]
    assert found("4006381333931") == ["TEE-M"]
    assert found("") == ["CAP-1", "TEE-M"]
    assert "No item matches." in browser.get("/items", params={"q": "zzz"}).text


def test_the_api_still_takes_json_only_where_the_console_takes_forms(client: TestClient) -> None:
    answer = client.put("/v1/items/X", content=b"name=x",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert answer.status_code == 415
    answer = client.post("/sign-in", content=b'{"key": "x"}',
                         headers={"Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 415


def test_the_assets_are_served_from_the_package_with_their_licence(browser: TestClient) -> None:
    script = browser.get("/assets/htmx.min.js")
    assert script.status_code == 200 and b"htmx" in script.content
    assert browser.get("/assets/console.css").status_code == 200
    assert browser.get("/assets/htmx.LICENSE").status_code == 200


def test_every_phrase_of_the_pages_has_its_french() -> None:
    phrases = set()
    for template in TEMPLATES.glob("*.html"):
        phrases |= set(re.findall(r"""_\(\s*["']([^"']+)["']\s*\)""", template.read_text()))
    for module in Path(pages.__file__).parent.glob("*.py"):
        source = module.read_text()
        phrases |= set(re.findall(r"""(?:words|_Refusal)\(\s*["']([^"']+)["']\s*\)""", source))
    phrases |= {*workspace.QUEUES, *workspace.METHODS.values(), *workspace.ACTIONS}
    phrases |= {*OrderStatus, *FulfilmentStatus, *Condition}  # shown by their value
    phrases |= {plans.CHOSEN, plans.NOT_CHOSEN, plans.AT_CAPACITY, plans.EXCLUDED, plans.NO_STOCK}
    assert phrases, "no phrase found: the pattern is wrong"
    assert sorted(p for p in phrases if p not in i18n.FRENCH) == []


def test_the_item_page_shows_its_ledger_filtered_by_location_and_kept_to_the_reach(
    browser: TestClient, stocked: Shop
) -> None:
    stocked.move("sale", 2, sku="TEE-M", location="ST-LYON")
    sign_in(browser, ADMIN_KEY)

    everywhere = text_of(browser.get("/items/TEE-M").text).split("Ledger")[1]
    at_lyon = text_of(browser.get("/items/TEE-M", params={"location": "ST-LYON"}).text)
    at_lyon = at_lyon.split("Ledger")[1]
    unknown = browser.get("/items/TEE-M", params={"location": "NOWHERE"})

    assert "WH-1 receipt +1234" in everywhere and "ST-LYON sale -2" in everywhere
    assert "ST-LYON receipt +5" in at_lyon and "WH-1" not in at_lyon.split("Show")[1]
    assert unknown.status_code == 200  # no such place: the filter is ignored
    assert "ST-LYON sale -2" in text_of(unknown.text)
    browser.cookies.clear()
    store = make_key(stocked, role="store", locations=["ST-LYON"])
    sign_in(browser, store)
    mine = text_of(browser.get("/items/TEE-M", params={"location": "WH-1"}).text)
    assert "receipt +5" in mine and "+1234" not in mine  # its own store's, whatever it asks
