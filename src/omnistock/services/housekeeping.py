"""Periodic clean-up that `serve` runs in the background."""

from __future__ import annotations

import datetime as dt

from omnistock.db import UnitOfWork
from omnistock.db import idempotency as sql


def purge_idempotency_keys(uow: UnitOfWork, *, keep_hours: int) -> int:
    """Forget idempotency keys older than `keep_hours` (at least 24); returns how many."""
    return sql.purge(uow.conn, older_than=uow.now - dt.timedelta(hours=keep_hours))
