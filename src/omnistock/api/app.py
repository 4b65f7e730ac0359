"""The FastAPI application."""

from __future__ import annotations

import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from omnistock import __version__, logs, web, worker
from omnistock.api import docs, links, metrics, problems
from omnistock.api.deps import AppContext
from omnistock.api.metrics import Metrics, WebhookFigures
from omnistock.api.middleware import BodyGuard, RequestTelemetry
from omnistock.api.routes import (
    availability,
    catalog,
    channels,
    events,
    feeds,
    fulfilments,
    imports,
    keys,
    orders,
    reservations,
    returns,
    stock,
    transfers,
    webhooks,
)
from omnistock.api.routes.imports import IMPORTS_PREFIX
from omnistock.api.schemas.health import Health
from omnistock.config import Settings
from omnistock.db import Database
from omnistock.events.stream import DatabaseSource, EventHub


def create_app(
    settings: Settings, database: Database, *, housekeeping_thread: bool = False
) -> FastAPI:
    """The API over an already migrated database."""

    measured = Metrics() if settings.metrics else None
    if measured is not None:
        measured.at_scrape(WebhookFigures(database))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        if housekeeping_thread:
            threading.Thread(
                target=worker.run, args=(settings, database, stop), daemon=True
            ).start()
        hub = app.state.events_hub = EventHub(
            DatabaseSource(database),
            poll_seconds=settings.stream_poll_seconds,
            heartbeat_seconds=settings.stream_heartbeat_seconds,
            stopping=server_stopping(),
        )
        hub.start()
        yield
        await hub.close()
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
    secret = settings.session_secret
    web.install(app, None if secret is None else secret.get_secret_value())
    app.add_middleware(
        BodyGuard,
        max_bytes=settings.max_body_bytes,
        streamed=(IMPORTS_PREFIX,),
        max_streamed_bytes=settings.max_import_bytes,
        forms=web.FORM_PATHS,
    )
    app.add_middleware(  # added last: the outermost, around BodyGuard's refusals too
        RequestTelemetry, metrics=measured, log_requests=settings.log_format == "json"
    )
    if measured is not None:
        measured.watch_pool(database.engine)
        metrics.install(app, measured)

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def healthz() -> dict[str, str]:  # on the event loop: answers while writers queue
        return {"status": "ok"}

    routers = (
        feeds.router,  # first: /stock/snapshot and /availability/export before /{sku}
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
        keys.router,
        webhooks.router,
        imports.router,
    )
    for router in routers:
        app.include_router(router, prefix="/v1")
    # Every path template, whole, for the metrics and the logs (`RouteTemplates`).
    app.state.route_templates = [
        *(str(t) for route in app.router.routes if (t := getattr(route, "path_format", None))),
        *(f"/v1{route.path_format}" for router in routers for route in router.routes),  # type: ignore[attr-defined]
    ]
    _complete_openapi(app)
    return app


def server_stopping() -> Callable[[], bool]:
    """Whether the server running this application was asked to stop.

    uvicorn, asked to stop, waits for every open response to end before it tells the
    application (lifespan shutdown), so an endless live stream would hold it for ever. It
    offers no hook, but its signal handler is a method of its `Server`, whose `should_exit`
    turns true at the first SIGINT or SIGTERM: the live streams end when it does. Under
    another server (or in tests) the streams end at the lifespan shutdown.
    """
    handler = signal.getsignal(signal.SIGTERM)
    server = getattr(handler, "__self__", None)
    if server is None or not isinstance(getattr(server, "should_exit", None), bool):
        return lambda: False
    return lambda: bool(server.should_exit)


def _complete_openapi(app: FastAPI) -> None:
    """The OpenAPI document FastAPI builds, with what it cannot know: the problem details'
    components that every error answer refers to, and the links between routes."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()  # built once, then kept in app.openapi_schema
            spec["components"]["schemas"].update(problems.component_schemas())
            links.add_links(spec)
            _as_openapi_3_1_streams(spec)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


_STREAM_EXAMPLE = (
    'event: order.created\nid: 42\ndata: {"seq":42,"type":"order.created",'
    '"at":"2026-12-07T10:00:00Z","data":{...}}\n\n: heartbeat\n\n'
)


def _as_openapi_3_1_streams(spec: dict[str, Any]) -> None:
    """FastAPI describes a Server-Sent Events answer with `itemSchema` (OpenAPI 3.2), which
    an OpenAPI 3.1 document may not hold: say it as a string of frames instead."""
    for operations in spec["paths"].values():
        for operation in operations.values():
            for answer in operation.get("responses", {}).values():
                stream = answer.get("content", {}).get("text/event-stream")
                if stream is not None and "itemSchema" in stream:
                    del stream["itemSchema"]
                    stream["schema"] = {
                        "type": "string",
                        "description": "Server-Sent Events: per event `event` (its type), "
                        "`id` (its seq) and `data` (the event JSON); `: heartbeat` comments",
                    }
                    stream["example"] = _STREAM_EXAMPLE


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
