"""The interactive API docs (Swagger UI at /docs), served from this package: nothing they need
loads from another host, so they work offline.

The assets are swagger-ui-dist 5.36.0 from the npm registry (Apache-2.0: its LICENSE and NOTICE
sit beside them in `static/swagger-ui/`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
SWAGGER = "/static/swagger-ui"


def install(app: FastAPI) -> None:
    """/docs and the files it loads, for an app made with `docs_url=None`."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: API",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            # no badge from swagger.io's online validator: it would be fetched from there
            swagger_ui_parameters={"validatorUrl": None},
        )
