"""GET /v1/items: items in sku order, a page at a time, found by `q` (a sku prefix, or every
word starting a word of the name, whatever the case, accents and punctuation) and by
`barcode`; the words are kept by every write of an item (PUT, PATCH, the bulk load imports
use). What the database finds is what the pure rule (`domain.catalog.Search`) says.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnistock.domain.catalog import Item, Search

NAMES = {
    "A-1": "tee shirt BLEU",
    "A-2": "Tee-shirt rouge",
    "B-1": "Été en lin",
    "B-2": "Straße écrue, ½ manche",
    "TEE-9": "Mug",
    "Z-1": "Shirtless bleuet",
}


@pytest.fixture
def catalogue(shop) -> dict[str, str]:
    for sku, name in NAMES.items():
        shop.item(sku, name=name, barcode=f"BC-{sku}")
    return NAMES


def skus(client, **params) -> list[str]:
    response = client.get("/v1/items", params=params)
    assert response.status_code == 200, response.text
    return [item["sku"] for item in response.json()["items"]]


SEARCHES = [
    ("Tee-shirt bleu", ["A-1"]),
    ("tee shirt", ["A-1", "A-2"]),
    ("TEE", ["A-1", "A-2", "TEE-9"]),  # two names, and a sku prefix
    ("ete", ["B-1"]),
    ("ÉTÉ LIN", ["B-1"]),
    ("strasse ecru", ["B-2"]),
    ("shi ble", ["A-1", "Z-1"]),  # each word starts a word: "bleu" and "bleuet"
    ("hirt", []),  # inside a word is not the start of one
    ("A-", ["A-1", "A-2"]),
    ("a-", []),  # a sku prefix keeps its case; "a" starts no word
    ("lin en", ["B-1"]),
]


@pytest.mark.usefixtures("catalogue")
def test_a_search_ignores_case_accents_and_punctuation_and_matches_sku_prefixes(client) -> None:
    answers = {q: skus(client, q=q) for q, _ in SEARCHES}

    assert answers == dict(SEARCHES)


def test_items_come_with_their_fields_and_a_null_next_at_the_end(client, catalogue) -> None:
    answer = client.get("/v1/items", params={"q": "mug"}).json()

    assert answer == {
        "items": [{"sku": "TEE-9", "name": "Mug", "barcode": "BC-TEE-9", "price": "39.90"}],
        "next": None,
    }


def test_a_barcode_finds_its_item_and_narrows_a_search(client, catalogue) -> None:
    assert skus(client, barcode="BC-B-1") == ["B-1"]
    assert skus(client, barcode="BC-B-1", q="tee") == []
    assert skus(client, barcode="BC-A-2", q="tee") == ["A-2"]
    assert skus(client, barcode="nothing") == []


def test_pages_follow_next_through_every_item_once_in_sku_order(client, catalogue) -> None:
    seen, after = [], None
    while True:
        params = {"limit": 4} | ({} if after is None else {"after": after})
        page = client.get("/v1/items", params=params).json()
        seen += [item["sku"] for item in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert seen == sorted(NAMES)
    assert skus(client, q="tee", limit=1, after="A-1") == ["A-2"]


def test_every_write_of_an_item_keeps_its_words(client, shop, db) -> None:
    shop.item("W-1", name="Pull marine")
    assert skus(client, q="marine") == ["W-1"]

    client.patch("/v1/items/W-1", json={"name": "Chemise écrue"})
    assert skus(client, q="marine") == []
    assert skus(client, q="ecrue") == ["W-1"]

    client.put("/v1/items/W-1", json={"name": "Robe d'été"})
    assert skus(client, q="ecrue") == []
    assert skus(client, q="d ete") == ["W-1"]

    now = dt.datetime.now(dt.UTC)
    batch = [Item("W-1", "Veste lin"), Item("W-2", "Veste laine")]
    db.run(lambda uow: uow.bulk.put_items(batch, now=now))
    assert skus(client, q="robe") == []
    assert skus(client, q="veste l") == ["W-1", "W-2"]


BAD = [
    ({"limit": 0}, "limit"),
    ({"limit": 1001}, "limit"),
    ({"limit": "many"}, "limit"),
    ({"after": "not a sku"}, "after"),
    ({"q": ""}, "q"),
    ({"q": "a\x00b"}, "q"),
    ({"q": "x" * 201}, "q"),
    ({"barcode": ""}, "barcode"),
]


def test_a_bad_parameter_is_a_422_naming_it(client, problem) -> None:
    for params, field in BAD:
        problem(client.get("/v1/items", params=params), 422, field=field)


WORDS = ["tee", "shirt", "bleu", "ete", "lin", "a", "b", "z", "1", "9", "straße", "ecru"]
queries = st.lists(
    st.sampled_from(WORDS) | st.text("aeéÉtTsShirlnuß-1A", min_size=1, max_size=4),
    min_size=1,
    max_size=3,
).map(lambda words: " ".join(words))


@pytest.mark.usefixtures("catalogue")
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=queries | st.sampled_from(["A-", "TEE-", "B", "Z-1"]))
def test_the_database_finds_what_the_rule_says(client, q) -> None:
    # the catalogue is read only: one for every example
    expected = [sku for sku, name in sorted(NAMES.items()) if Search(q.strip()).finds(sku, name)]

    assert skus(client, q=q) == expected
