"""What routes depend on: the database, the caller, the idempotency key."""

from __future__ import annotations

import asyncio
import hmac
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from omnistock.api.metrics import Metrics
from omnistock.api.schemas.common import TOKEN_PATTERN
from omnistock.config import Settings
from omnistock.db import Database, ReadUnit, UnitOfWork
from omnistock.domain.access import ADMIN_SCOPES, Principal, Role
from omnistock.domain.errors import Forbidden, Unauthorized
from omnistock.services import access

_TOUCH_SECONDS = access.LAST_USED_EVERY.total_seconds()
T = TypeVar("T")


@dataclass
class AppContext:
    """Built once at start-up; every request reads it."""

    settings: Settings
    database: Database
    _touched: dict[str, float] = field(default_factory=dict)
    metrics: Metrics | None = None  # None: OMNISTOCK_METRICS=false
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

    def env_principal(self, key: str) -> Principal | None:
        """The caller of the environment's admin key, told without the database."""
        env_key = self.settings.admin_key
        if env_key is not None and hmac.compare_digest(
            key.encode(), env_key.get_secret_value().encode()
        ):
            return Principal(access.ENV_ADMIN, ADMIN_SCOPES, Role.ADMIN)
        return None

    def look_up(self, key: str) -> Principal | None:
        """The caller of a stored key (blocking: one indexed read). Never cached, so that a
        key revoked by any process is refused from its very next request on."""
        with self.database.reading(snapshot=False) as reads:
            return access.principal_for(reads, key)

    def due_for_touch(self, key_id: str) -> bool:
        """Whether this process should record the key's use now (once a minute at most)."""
        now = time.monotonic()
        with self._lock:
            if self._touched.get(key_id, -_TOUCH_SECONDS) > now - _TOUCH_SECONDS:
                return False
            self._touched[key_id] = now
            return True


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

    The scope shows in the route's OpenAPI `security` requirement. One async dependency per
    route, on purpose: FastAPI runs a plain `def` dependency
    through the thread pool, and each extra dependency costs time on every request.
    """

    async def authorize(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(_bearer, scopes=[name]),
    ) -> Caller:
        ctx: AppContext = request.app.state.context
        if credentials is None:
            raise Unauthorized("send your API key as `Authorization: Bearer KEY`")
        principal = ctx.env_principal(credentials.credentials)
        if principal is None:
            principal = await _stored_principal(ctx, credentials.credentials)
        request.state.key_id = principal.id  # for the request's log line
        if not principal.allows(name):
            raise Forbidden(f"this API key lacks the scope {name!r}")
        return Caller(principal, ctx.database, ctx.writer())

    return Depends(authorize)


async def _stored_principal(ctx: AppContext, key: str) -> Principal:
    """The caller of a stored key (401 if none), whose use is recorded once a minute."""
    if ctx.database.is_sqlite:  # an indexed read answers in microseconds: no thread hop
        principal = ctx.look_up(key)
    else:
        principal = await run_in_threadpool(ctx.look_up, key)
    if principal is None:
        raise Unauthorized("this API key is not valid")
    if ctx.due_for_touch(principal.id):
        await anyio.to_thread.run_sync(
            ctx.database.run, partial(access.used, key_id=principal.id), limiter=ctx.writer()
        )
    return principal


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
