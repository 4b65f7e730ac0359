"""Persistence: tables, transactions, migrations and the set-based stock SQL."""

from omnistock.db.database import Database, Outage, commit_in_doubt, outage_of
from omnistock.db.uow import ReadUnit, UnitOfWork

__all__ = ["Database", "Outage", "ReadUnit", "UnitOfWork", "commit_in_doubt", "outage_of"]
