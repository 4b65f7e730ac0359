"""What routes depend on: the database, the caller, the idempotency key."""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from omnistock.config import Settings
from omnistock.db import Database
from omnistock.domain.access import ADMIN_SCOPES, Principal
from omnistock.domain.errors import Forbidden, Unauthorized
from omnistock.services import access

_KEY_CACHE_SECONDS = 30.0


@dataclass
class AppContext:
    """Built once at start-up; every request reads it."""

    settings: Settings
    database: Database
    _keys: dict[str, tuple[Principal, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def known_principal(self, key: str) -> Principal | None:
        """The caller, when it can be told without the database (the env key, or cached)."""
        env_key = self.settings.admin_key
        if env_key is not None and hmac.compare_digest(
            key.encode(), env_key.get_secret_value().encode()
        ):
            return Principal(access.ENV_ADMIN, ADMIN_SCOPES)
        cached = self._keys.get(access.hash_key(key))
        return cached[0] if cached is not None and cached[1] > time.monotonic() else None

    def look_up(self, key: str) -> Principal | None:
        """The caller of a stored key (blocking: reads the database), remembered for a while."""
        with self.database.read() as conn:
            principal = access.principal_for(conn, key)
        if principal is not None:
            with self._lock:
                expiry = time.monotonic() + _KEY_CACHE_SECONDS
                self._keys[access.hash_key(key)] = (principal, expiry)
        return principal


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, and the database their request runs on."""

    principal: Principal
    database: Database


_bearer = HTTPBearer(auto_error=False, description="An omnistock API key")


def scope(name: str) -> Any:
    """The dependency of a route that needs scope `name`: the caller, or 401/403.

    One async dependency per route, on purpose: FastAPI runs a plain `def` dependency
    through the thread pool, and each extra dependency costs time on every request.
    """

    async def authorize(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        ctx: AppContext = request.app.state.context
        if credentials is None:
            raise Unauthorized("send your API key as `Authorization: Bearer KEY`")
        key = credentials.credentials
        principal = ctx.known_principal(key) or await run_in_threadpool(ctx.look_up, key)
        if principal is None:
            raise Unauthorized("this API key is not valid")
        if not principal.allows(name):
            raise Forbidden(f"this API key lacks the scope {name!r}")
        return Caller(principal, ctx.database)

    return Depends(authorize)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Repeat a request safely: the same key and body replay the first answer.",
    ),
]
