"""Every row a paged service lists, page after page (importable like `samples`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omnistock.db import Database

Lister = Callable[..., tuple[list[dict[str, Any]], int | None]]


def every(db: Database, lister: Lister, **filters: Any) -> list[dict[str, Any]]:
    """All that `lister(reads, after=, limit=, **filters)` answers, following its `next`."""
    found: list[dict[str, Any]] = []
    after: int | None = 0
    with db.reading() as reads:
        while after is not None:
            page, after = lister(reads, after=after, limit=500, **filters)
            found += page
    return found
