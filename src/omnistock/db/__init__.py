"""Persistence: tables, transactions, migrations and the set-based stock SQL."""

from omnistock.db.database import Database
from omnistock.db.uow import ReadUnit, UnitOfWork

__all__ = ["Database", "ReadUnit", "UnitOfWork"]
