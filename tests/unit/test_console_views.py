"""The console's view-models (no database, no browser): what a page shows of the stock, of
a channel's figure, and where a redirect may go."""

from __future__ import annotations

import pytest

from omnistock.domain.availability import LocationAvailability
from omnistock.domain.catalog import Location, LocationType
from omnistock.domain.stock import Position
from omnistock.web import i18n, views

PLACES = {
    "ST-A": Location("ST-A", "A store", LocationType.STORE, 45.0, 5.0, True, True),
    "WH-Z": Location("WH-Z", "Z warehouse", LocationType.WAREHOUSE, 45.0, 5.0, True, False),
}


def test_the_stock_table_puts_warehouses_first_sums_every_figure_and_keeps_to_the_reach() -> None:
    positions = [("ST-A", Position(5, 1, 1, 2)), ("WH-Z", Position(10, 3, 0, 0))]

    table = views.stock_table(positions, PLACES, None)
    mine = views.stock_table(positions, PLACES, {"ST-A"})
    nothing = views.stock_table([], PLACES, None)

    assert [line.location for line in table.lines] == ["WH-Z", "ST-A"]
    assert table.lines[1].available == 3 and table.lines[1].type == "store"
    assert table.total is not None
    assert (table.total.on_hand, table.total.reserved, table.total.available) == (15, 4, 10)
    assert [line.location for line in mine.lines] == ["ST-A"]
    assert mine.total is not None and mine.total.on_hand == 5
    assert nothing.lines == [] and nothing.total is None


def test_a_channel_shows_the_locations_with_stock_within_reach() -> None:
    breakdown = [
        LocationAvailability("WH-Z", 10, 2, 8),
        LocationAvailability("ST-A", 1, 2, 0),
        LocationAvailability("ST-B", 0, 2, 0),
    ]

    shown = views.channel_ats("web", "Web shop", 8, breakdown, None)
    mine = views.channel_ats("web", "Web shop", 8, breakdown, {"ST-A"})

    assert [e.location for e in shown.locations] == ["ST-A", "WH-Z"]  # none at ST-B
    assert shown.available_to_sell == 8
    assert [e.location for e in mine.locations] == ["ST-A"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/items/TEE?x=1", "/items/TEE?x=1"),
        (None, "/items"),
        ("", "/items"),
        ("items", "/items"),
        ("//evil.example", "/items"),
        ("/\\\\evil.example", "/items"),
        ("https://evil.example", "/items"),
    ],
)
def test_a_redirect_stays_on_this_site(target: str | None, expected: str) -> None:
    assert views.local_path(target) == expected


@pytest.mark.parametrize(
    ("minutes", "english", "french"),
    [(0, "0 min", "0 min"), (59, "59 min", "59 min"), (65, "1 h 05", "1 h 05"),
     (26 * 60 + 3, "1 d 2 h", "1 j 2 h")],
)  # fmt: skip
def test_an_age_reads_in_minutes_hours_or_days(minutes: int, english: str, french: str) -> None:
    assert i18n.Words("en").age(minutes) == english
    assert i18n.Words("fr").age(minutes) == french
