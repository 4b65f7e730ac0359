"""The FastAPI application."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from omnistock import __version__, logs, worker
from omnistock.api import docs, links, metrics, problems
from omnistock.api.deps import AppContext
from omnistock.api.metrics import Metrics
from omnistock.api.middleware import BodyGuard, RequestTelemetry
from omnistock.api.routes import (
    availability,
    catalog,
    channels,
    events,
    fulfilments,
    orders,
    reservations,
    returns,
    stock,
    transfers,
)
from omnistock.api.schemas.health import Health
from omnistock.config import Settings
from omnistock.db import Database


def create_app(
    settings: Settings, database: Database, *, housekeeping_thread: bool = False
) -> FastAPI:
    """The API over an already migrated database."""

    measured = Metrics() if settings.metrics else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        if housekeeping_thread:
            threading.Thread(
                target=worker.run, args=(settings, database, stop), daemon=True
            ).start()
        yield
        stop.set()
        if measured is not None:
            measured.close()

    app = FastAPI(
        title="omnistock",
        version=__version__,
        summary="Omnichannel order management with one unified, real-time stock",
        lifespan=lifespan,
        docs_url=None,  # served by `docs`, from this package rather than a CDN
        redoc_url=None,
    )
    app.state.context = AppContext(settings=settings, database=database, metrics=measured)
    problems.install(app)
    docs.install(app)
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)
    app.add_middleware(  # added last: the outermost, around BodyGuard's refusals too
        RequestTelemetry, metrics=measured, log_requests=settings.log_format == "json"
    )
    if measured is not None:
        measured.watch_pool(database.engine)
        metrics.install(app, measured)

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def healthz() -> dict[str, str]:  # on the event loop: answers while writers queue
        return {"status": "ok"}

    for router in (
        catalog.router,
        stock.router,
        channels.router,
        availability.router,
        reservations.router,
        orders.router,
        fulfilments.router,
        returns.router,
        transfers.router,
        events.router,
    ):
        app.include_router(router, prefix="/v1")
    _complete_openapi(app)
    return app


def _complete_openapi(app: FastAPI) -> None:
    """The OpenAPI document FastAPI builds, with what it cannot know: the problem details'
    components that every error answer refers to, and the links between routes."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()  # built once, then kept in app.openapi_schema
            spec["components"]["schemas"].update(problems.component_schemas())
            links.add_links(spec)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn workers: settings from OMNISTOCK_* (set by `omnistock serve`)."""
    settings = Settings()
    logs.configure(settings.log_format)
    database = Database(
        settings.database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=settings.pool_size,
        policy=settings.order_policy(),
    )
    return create_app(settings, database, housekeeping_thread=True)
