"""API keys with chosen scopes, for tests of what a key may see and do (DESIGN invariant 6).

Importable from every test module (pytest puts this folder on sys.path with its conftest).
"""

from __future__ import annotations

from omnistock.db import Database, keys
from omnistock.services import access


def key_with(db: Database, *scopes: str) -> dict[str, str]:
    """The Authorization header of a new stored key granting exactly `scopes`."""
    key = "osk_test_" + "_".join(scope.replace(":", "-") for scope in scopes)
    db.run(
        lambda uow: keys.replace(
            uow.conn,
            key_id=key,
            name=f"a key for {', '.join(scopes)}",
            key_hash=access.hash_key(key),
            scopes=list(scopes),
            now=uow.now,
        )
    )
    return {"Authorization": f"Bearer {key}"}
