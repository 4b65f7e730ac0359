"""The demo retailer as the files an import takes: its items, its locations and its opening
stock, so a user sees the formats of `omnistock import` (and `POST /v1/imports/...`) filled
with a real catalogue, network and stock."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from omnistock.demo.plan import DemoPlan

ITEM_COLUMNS = ("sku", "name", "barcode", "price")
LOCATION_COLUMNS = (
    *("code", "name", "type", "lat", "lon", "ship_enabled", "pickup_enabled"),
    *("daily_capacity", "priority", "active"),
)
STOCK_COLUMNS = ("location", "sku", "on_hand", "unsellable")


def export(plan: DemoPlan, directory: Path) -> dict[str, int]:
    """Write items.csv, locations.csv and stock.csv into `directory` (made if need be);
    answers how many rows each file has. The stock is each position as the opening stock
    leaves it: what was received less what was sold, the damaged units unsellable."""
    directory.mkdir(parents=True, exist_ok=True)
    items = [(i.item.sku, i.item.name, i.item.barcode, i.item.price) for i in plan.items]
    locations = [
        tuple(getattr(p.location, column) for column in LOCATION_COLUMNS) for p in plan.locations
    ]
    stock = [(h.location, h.sku, h.received - h.sold, h.damaged or None) for h in plan.holdings]
    return {
        "items.csv": _write(directory / "items.csv", ITEM_COLUMNS, items),
        "locations.csv": _write(directory / "locations.csv", LOCATION_COLUMNS, locations),
        "stock.csv": _write(directory / "stock.csv", STOCK_COLUMNS, stock),
    }


def _write(path: Path, header: Sequence[str], rows: Iterable[tuple[object, ...]]) -> int:
    """A CSV with a header row; None is an empty cell (the field left out), booleans are
    written `true`/`false` as the import reads them."""
    written = 0
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(value) for value in row])
            written += 1
    return written


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
