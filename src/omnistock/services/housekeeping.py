"""Periodic clean-up that `serve` runs in the background."""

from __future__ import annotations

import datetime as dt

from omnistock.db import UnitOfWork


def purge_idempotency_keys(uow: UnitOfWork, *, keep_hours: int, most: int = 10_000) -> int:
    """Forget up to `most` idempotency keys older than `keep_hours` (at least 24).

    Returns how many; call again while it returns `most`. Small batches keep each
    transaction short: SQLite has one writer, and PostgreSQL's event feed waits for
    every older transaction.
    """
    return uow.idempotency.purge(older_than=uow.now - dt.timedelta(hours=keep_hours), most=most)
