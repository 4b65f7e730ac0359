"""The demo retailer as the files an import takes: its items, its locations and its opening
stock. The demo loads itself from these very files, through the import code
(`services.imports`), and `omnistock demo --export DIR` writes them for a user to see the
formats of `omnistock import` (and `POST /v1/imports/...`) filled with a real catalogue,
network and stock."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from omnistock.demo.plan import DemoPlan

ITEM_COLUMNS = ("sku", "name", "barcode", "price")
LOCATION_COLUMNS = (
    *("code", "name", "type", "lat", "lon", "ship_enabled", "pickup_enabled"),
    *("daily_capacity", "priority", "active"),
)
STOCK_COLUMNS = ("location", "sku", "on_hand", "unsellable")


def files(plan: DemoPlan) -> dict[str, bytes]:
    """items.csv, locations.csv and stock.csv, by name. The stock is each position as the
    opening count finds it: what was received less what was sold (a few store positions
    sold out, 0), the damaged units unsellable."""
    items = [(i.item.sku, i.item.name, i.item.barcode, i.item.price) for i in plan.items]
    locations = [
        tuple(getattr(p.location, column) for column in LOCATION_COLUMNS) for p in plan.locations
    ]
    stock = [(h.location, h.sku, h.received - h.sold, h.damaged or None) for h in plan.holdings]
    return {
        "items.csv": _csv(ITEM_COLUMNS, items),
        "locations.csv": _csv(LOCATION_COLUMNS, locations),
        "stock.csv": _csv(STOCK_COLUMNS, stock),
    }


def export(plan: DemoPlan, directory: Path) -> dict[str, int]:
    """Write the demo's files into `directory` (made if need be); answers how many rows
    each file has."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, data in files(plan).items():
        (directory / name).write_bytes(data)
        written[name] = data.count(b"\n") - 1  # the header is no row
    return written


def _csv(header: Sequence[str], rows: Iterable[tuple[object, ...]]) -> bytes:
    """A CSV with a header row; None is an empty cell (the field left out), booleans are
    written `true`/`false` as the import reads them."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return text.getvalue().encode()


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
