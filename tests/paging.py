"""Every row a paged service lists, page after page (importable like `samples`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from omnistock.db import Database

T = TypeVar("T")


def every(
    db: Database, lister: Callable[..., tuple[list[T], int | None]], **filters: Any
) -> list[T]:
    """All that `lister(reads, after=, limit=, **filters)` answers, following its `next`."""
    found: list[T] = []
    after: int | None = 0
    with db.reading() as reads:
        while after is not None:
            page, after = lister(reads, after=after, limit=500, **filters)
            found += page
    return found
