"""`omnistock import items|locations|stock FILE` through Typer's runner, on SQLite and
PostgreSQL: a good file prints its summary and is in the database; a file with bad rows
prints them as a table (line, field, reason), exits 1 and imports nothing; a snapshot id
imported again changes nothing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from omnistock.cli import app
from omnistock.db import Database
from omnistock.demo.export import export
from omnistock.demo.plan import plan_demo
from omnistock.services import catalog, stock

runner = CliRunner()
LOCATIONS = (
    "code,name,type,lat,lon,ship_enabled,pickup_enabled\n"
    "WH-1,Central,warehouse,48.85,2.35,true,false\n"
    "ST-1,Rivoli,store,48.86,2.34,true,true\n"
)
ITEMS = '{"sku": "TEE-M", "name": "Tee", "price": "19.90"}\n{"sku": "CAP", "name": "Cap"}\n'


def imported(database_url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["import", *args, "--database", database_url])
    return result.exit_code, result.output


def test_files_of_each_kind_import_and_print_their_summary(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    (tmp_path / "locations.csv").write_text(LOCATIONS)
    (tmp_path / "items.ndjson").write_text(ITEMS)
    (tmp_path / "stock.csv").write_text("location,sku,on_hand\nST-1,TEE-M,4\nST-1,CAP,0\n")
    for kind, name in (("locations", "locations.csv"), ("items", "items.ndjson")):
        code, output = imported(database_url, kind, str(tmp_path / name))
        assert code == 0, output
        assert "2 rows, 2 created" in output
    args = ["stock", str(tmp_path / "stock.csv"), "--location", "ST-1", "--snapshot-id", "n1"]
    code, output = imported(database_url, *args)
    assert code == 0, output
    assert "2 rows, 1 created, 0 updated, 1 unchanged, 1 movements" in output
    db.run(
        lambda uow: stock.record_movement(
            uow, location="ST-1", sku="TEE-M", movement_type=stock.MovementType.SALE, quantity=1
        )
    )
    code, output = imported(database_url, *args)
    assert code == 0 and "1 movements" in output  # the first summary, answered again
    with db.reading() as reads:
        assert dict(stock.stock_of(reads, "TEE-M"))["ST-1"].on_hand == 3


def test_a_file_with_bad_rows_prints_them_exits_1_and_imports_nothing(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    bad = LOCATIONS + "XX-1,Bad,shed,48,2,true,true\nWH-1,Again,store,48,2,true,true\n"
    (tmp_path / "locations.csv").write_text(bad)
    code, output = imported(database_url, "locations", str(tmp_path / "locations.csv"))
    assert code == 1
    assert "2 bad row(s)" in output
    rows = [[cell.strip() for cell in line.split("│")[1:3]] for line in output.splitlines()]
    assert ["4", "type"] in rows and ["5", "code"] in rows
    with db.reading() as reads:
        assert reads.catalog.list_locations() == []


def test_the_demo_exported_as_files_imports_as_the_demo_plans_its_catalogue_and_stock(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    """The files `omnistock demo --export` writes are in the import's formats: imported into
    an empty database, they give the demo's locations, items and each opening position."""
    plan = plan_demo(items=60, orders=0)
    written = export(plan, tmp_path)
    assert written == {
        "items.csv": 60,
        "locations.csv": len(plan.locations),
        "stock.csv": len(plan.holdings),
    }
    for kind in ("locations", "items", "stock"):
        code, output = imported(database_url, kind, str(tmp_path / f"{kind}.csv"))
        assert code == 0, output

    with db.reading() as reads:
        assert catalog.list_locations(reads) == sorted(
            (p.location for p in plan.locations), key=lambda loc: loc.code
        )
        for planned in plan.items:
            assert catalog.get_item(reads, planned.item.sku) == planned.item
        found = {
            (code, h.sku): position
            for h in {h.sku: h for h in plan.holdings}.values()
            for code, position in stock.stock_of(reads, h.sku)
        }
    opening = {
        (h.location, h.sku): (h.received - h.sold, h.damaged)
        for h in plan.holdings
        if h.received - h.sold
    }
    assert {key: (p.on_hand, p.unsellable) for key, p in found.items() if p.on_hand} == opening


def test_demo_export_writes_the_three_files_with_the_import_headers(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--export", str(tmp_path / "files")])

    assert result.exit_code == 0, result.output
    for name in ("items.csv", "locations.csv", "stock.csv"):
        header = (tmp_path / "files" / name).read_text().splitlines()[0]
        assert header.startswith(("sku,name", "code,name", "location,sku,on_hand"))
