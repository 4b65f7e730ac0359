"""The console: pages for people, served by `omnistock serve` at / beside the API at /v1.

Server-rendered Jinja2 templates, htmx for partial updates, every asset served from this
package (`static/`, each with its licence): nothing loads from another host, and nothing
needs building. The pages call the services, as the API's routes do; a person signs in with
an API key, exchanged for a signed session cookie (`session`).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from omnistock.web import order_pages, overview, pages, returns_desk, workspace
from omnistock.web.session import Sessions

STATIC = Path(__file__).parent / "static"
#: Where the console's forms post to (their bodies are forms, not JSON).
FORM_PATHS = ("/sign-in", "/sign-out", "/stores/", "/returns/")


def install(app: FastAPI, secret: str | None) -> None:
    """The console's pages and assets on `app`; sessions signed with `secret` (a random one,
    good for this process only, when None)."""
    app.state.console_sessions = Sessions(secret or secrets.token_urlsafe(32))
    app.mount("/assets", StaticFiles(directory=STATIC), name="console-assets")
    app.include_router(pages.router)
    app.include_router(overview.router)
    app.include_router(order_pages.router)
    app.include_router(workspace.router)
    app.include_router(returns_desk.router)
