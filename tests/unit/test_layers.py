"""The import graph points inwards (DESIGN section 4): api/, web/ (the console), cli and the
worker use services/, services/ use domain/, and db/ stays behind the unit of work.

Read from the source with `ast`, so a forbidden import anywhere in a module, even inside a
function, fails here by name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import omnistock

PACKAGE = Path(omnistock.__file__).parent

#: What a use case may take from db/: the unit of work, its read-only twin, the database.
#: What `omnistock.db` shows the other layers: the database, its two units, and how to tell a
#: database that failed (away, disk full) from a statement that did (`outage_of`).
DB_FACADE = {
    *("Database", "ReadUnit", "UnitOfWork", "Outage", "DatabaseError"),
    *("outage_of", "commit_in_doubt"),
}


def imports(module: Path) -> list[tuple[str, set[str]]]:
    """Every import of `module`: (the module imported, the names taken from it)."""
    found = []
    for node in ast.walk(ast.parse(module.read_text(), str(module))):
        if isinstance(node, ast.Import):
            found += [(alias.name, set()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, {alias.name for alias in node.names}))
    return found


def modules(*layers: str) -> list[Path]:
    return sorted(p for layer in layers for p in (PACKAGE / layer).rglob("*.py"))


def named(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def under(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("module", modules("domain"), ids=named)
def test_the_domain_imports_nothing_but_itself_and_the_standard_library(module: Path) -> None:
    outside = [
        name
        for name, _ in imports(module)
        if (under(name, "omnistock") and not under(name, "omnistock.domain"))
        or under(name, "sqlalchemy", "fastapi", "starlette", "pydantic", "psycopg", "rich")
    ]
    assert outside == []


@pytest.mark.parametrize("module", modules("services", "demo", "events"), ids=named)
def test_use_cases_reach_the_database_only_through_the_unit_of_work(module: Path) -> None:
    wrong = []
    for name, names in imports(module):
        if under(name, "sqlalchemy", "fastapi", "starlette", "rich", "omnistock.api"):
            wrong.append(name)
        elif under(name, "omnistock.db") and (name != "omnistock.db" or names - DB_FACADE):
            wrong.append(f"{name}: {sorted(names)}")
    assert wrong == []


@pytest.mark.parametrize("module", modules("api", "web", "db"), ids=named)
def test_the_edge_and_the_database_never_import_each_other_s_inside(module: Path) -> None:
    layer = module.relative_to(PACKAGE).parts[0]
    if layer in ("api", "web"):
        wrong = [
            name
            for name, names in imports(module)
            if under(name, "omnistock.db") and (name != "omnistock.db" or names - DB_FACADE)
        ]
    else:
        wrong = [n for n, _ in imports(module) if under(n, "omnistock.api", "omnistock.services")]
    assert wrong == []
