"""Persistence: tables, transactions, migrations and the set-based stock SQL."""

from sqlalchemy.exc import DBAPIError as DatabaseError

from omnistock.db.database import Database, Outage, commit_in_doubt, outage_of
from omnistock.db.uow import ReadUnit, UnitOfWork

#: What the database's driver raised (an outage among them: see `outage_of`), for the loops
#: outside a request (periodic jobs, delivery) that log it and try again.
__all__ = [
    "Database",
    "DatabaseError",
    "Outage",
    "ReadUnit",
    "UnitOfWork",
    "commit_in_doubt",
    "outage_of",
]
