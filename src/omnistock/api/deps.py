"""What routes depend on: the database, the caller, the idempotency key."""

from __future__ import annotations

import asyncio
import hmac
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from omnistock.api.metrics import Metrics
from omnistock.api.schemas.common import TOKEN_PATTERN
from omnistock.config import Settings
from omnistock.db import Database, ReadUnit, UnitOfWork
from omnistock.domain.access import ADMIN_SCOPES, Principal
from omnistock.domain.errors import Forbidden, Unauthorized
from omnistock.services import access

_KEY_CACHE_SECONDS = 30.0
T = TypeVar("T")


@dataclass
class AppContext:
    """Built once at start-up; every request reads it."""

    settings: Settings
    database: Database
    metrics: Metrics | None = None  # None: OMNISTOCK_METRICS=false
    _keys: dict[str, tuple[Principal, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = field(
        default_factory=weakref.WeakKeyDictionary
    )

    def writer(self) -> anyio.CapacityLimiter | None:
        """SQLite: what lets one thread at a time write, one per event loop serving the app."""
        if not self.database.is_sqlite:
            return None
        loop = asyncio.get_running_loop()
        limiter = self._writers.get(loop)
        if limiter is None:
            limiter = self._writers[loop] = anyio.CapacityLimiter(1)
        return limiter

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
        with self.database.reading() as reads:
            principal = access.principal_for(reads, key)
        if principal is not None:
            with self._lock:
                expiry = time.monotonic() + _KEY_CACHE_SECONDS
                self._keys[access.hash_key(key)] = (principal, expiry)
        return principal


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, and the database their request runs on.

    Routes are `async` and hand their database work to `read` or `write`, which run it where
    it costs least. SQLite answers from inside this process in microseconds, but its driver
    gives up the GIL at every row it steps through: threads reading it side by side spend
    their time taking the GIL back (measured: an ATS read of 200 locations took 10.6 ms of
    CPU in the thread pool under 16 clients, 2.0 ms on the event loop). So SQLite reads run
    on the event loop and writes on one thread at a time (SQLite has one writer anyway; the
    loop keeps serving while a commit waits for the disk). PostgreSQL's waits are the
    network's: both go to the thread pool.
    """

    principal: Principal
    database: Database
    writer: anyio.CapacityLimiter | None = None

    async def read(self, fn: Callable[[ReadUnit], T], *, snapshot: bool = True) -> T:
        """`fn` reading the database: in a transaction with one consistent snapshot, or
        without `snapshot`, each statement at its own moment (see `Database.read`)."""
        return await self.blocking(_read, self.database, fn, snapshot)

    async def blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Other database work that reads: here on SQLite, in the thread pool otherwise."""
        if self.database.is_sqlite:
            return fn(*args, **kwargs)
        return await run_in_threadpool(fn, *args, **kwargs)

    async def write(self, fn: Callable[[UnitOfWork], T]) -> T:
        """`fn` in a unit of work (`Database.run`: committed, or retried and rolled back)."""
        return await anyio.to_thread.run_sync(self.database.run, fn, limiter=self.writer)


def _read(database: Database, fn: Callable[[ReadUnit], T], snapshot: bool) -> T:
    with database.reading(snapshot=snapshot) as reads:
        return fn(reads)


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
        request.state.key_id = principal.id  # for the request's log line
        if not principal.allows(name):
            raise Forbidden(f"this API key lacks the scope {name!r}")
        return Caller(principal, ctx.database, ctx.writer())

    return Depends(authorize)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=TOKEN_PATTERN,
        description="Repeat a request safely: the same key and body replay the first answer.",
    ),
]
