"""The console's pages: signing in and out, the items and an item's stock everywhere.

Each page reads what it shows through the services (`Caller.read`, as the API's routes do),
with the signed-in key's role and reach: a store key sees the stock of its own locations. A
page answers HTML with a strict Content-Security-Policy: scripts and styles from this site
only, none inline (htmx is told not to inject its own styles).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from omnistock.api.deps import AppContext, Caller
from omnistock.db import ReadUnit
from omnistock.domain.access import Principal, Role
from omnistock.domain.errors import NotFound
from omnistock.services import access, availability, catalog, channels, listings, stock
from omnistock.web import i18n, views
from omnistock.web.session import (
    COOKIE,
    FORM_COOKIE,
    MAX_AGE,
    Session,
    Sessions,
    key_hash,
    new_form_token,
    same_token,
)

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
#: Scripts, styles and images from this site only; nothing inline, no frames, no plugins.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
#: Items a page of the list shows.
PAGE = 50


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in person: their key's principal, their session, and their language."""

    caller: Caller
    session: Session
    words: i18n.Words

    @property
    def principal(self) -> Principal:
        return self.caller.principal


def _context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.console_sessions
    return sessions


def _words(request: Request) -> i18n.Words:
    language = i18n.choose(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))
    return i18n.Words(language)


def not_found(request: Request, visitor: Visitor, reason: str) -> HTMLResponse:
    """The 404 page."""
    words = visitor.words
    return render(
        request, "refused.html", words, status=404, visitor=visitor,
        title=words("Not found"), reason=reason,
    )  # fmt: skip


def render(
    request: Request,
    template: str,
    words: i18n.Words,
    *,
    status: int = 200,
    visitor: Visitor | None = None,
    **values: Any,
) -> HTMLResponse:
    page = _env.get_template(template).render(
        _=words,
        words=words,
        language=words.language,
        visitor=visitor,
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **values,
    )
    return HTMLResponse(page, status_code=status, headers=_HEADERS)


async def _principal_of(context: AppContext, session: Session) -> Principal | None:
    """The principal of the session's key now: None once the key is revoked."""
    admin_key = context.settings.admin_key
    if admin_key is not None and hmac.compare_digest(
        session.key_hash, key_hash(admin_key.get_secret_value())
    ):
        return Principal(access.ENV_ADMIN, ("*",), Role.ADMIN)

    def look_up() -> Principal | None:
        with context.database.reading(snapshot=False) as reads:
            return access.principal_of_hash(reads, session.key_hash)

    if context.database.is_sqlite:
        return look_up()
    return await run_in_threadpool(look_up)


async def visitor_of(request: Request) -> Visitor | None:
    """The signed-in person, or None (no session, a forged or old one, a revoked key)."""
    session = _sessions(request).read(request.cookies.get(COOKIE))
    if session is None:
        return None
    principal = await _principal_of(_context(request), session)
    if principal is None or principal.role not in _CONSOLE_ROLES:
        return None
    context = _context(request)
    return Visitor(Caller(principal, context.database, context.writer()), session, _words(request))


_CONSOLE_ROLES = {Role.ADMIN, Role.VIEWER, Role.STORE}


async def allowed(request: Request, *scopes: str) -> Visitor | Response:
    """The signed-in visitor whose key holds every one of `scopes`; else the page to show
    instead (the sign-in page, or 403)."""
    visitor = await visitor_of(request)
    if visitor is None:
        return to_sign_in(request)
    if not all(visitor.principal.allows(scope) for scope in scopes):
        return refused(request, visitor)
    return visitor


def to_sign_in(request: Request) -> RedirectResponse:
    """To the sign-in page, and back here once signed in."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(f"/sign-in?next={quote(here, safe='/')}", status_code=303)
    response.delete_cookie(COOKIE)
    return response


def refused(request: Request, visitor: Visitor) -> HTMLResponse:
    """The 403 page."""
    words = visitor.words
    return render(
        request, "refused.html", words, status=403, visitor=visitor,
        title=words("Not allowed"), reason=words("This key may not open this page."),
    )  # fmt: skip


# ----------------------------------------------------------------------------- signing in


@router.get("/sign-in")
async def sign_in_form(request: Request, next: str | None = None) -> Response:
    return _sign_in_page(request, next=views.local_path(next), status=200)


def _sign_in_page(
    request: Request, *, next: str, status: int, error: str | None = None
) -> HTMLResponse:
    token = new_form_token()
    response = render(
        request, "sign_in.html", _words(request), status=status,
        token=token, next=next, error=error,
    )  # fmt: skip
    response.set_cookie(
        FORM_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/sign-in",
    )  # fmt: skip
    return response


@router.post("/sign-in")
async def sign_in(
    request: Request,
    key: Annotated[str, Form(max_length=200)] = "",
    token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/items",
) -> Response:
    words, target = _words(request), views.local_path(next)
    if not same_token(token, request.cookies.get(FORM_COOKIE)):
        error = words("The form expired: send it again.")
        return _sign_in_page(request, next=target, status=403, error=error)
    key = key.strip()
    context = _context(request)
    principal = context.env_principal(key) if key else None
    if principal is None and key:
        if context.database.is_sqlite:
            principal = context.look_up(key)
        else:
            principal = await run_in_threadpool(context.look_up, key)
    if principal is None:
        error = words("This key is not valid, or it was revoked.")
        return _sign_in_page(request, next=target, status=401, error=error)
    if principal.role not in _CONSOLE_ROLES:
        error = words("An integration key cannot sign in to the console.")
        return _sign_in_page(request, next=target, status=403, error=error)
    cookie, _ = _sessions(request).issue(key)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, cookie, max_age=MAX_AGE, httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    response.delete_cookie(FORM_COOKIE, path="/sign-in")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    visitor = await visitor_of(request)
    if visitor is not None and not same_token(csrf, visitor.session.csrf):
        return refused(request, visitor)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/language/{language}")
async def choose_language(language: str, next: str | None = None) -> Response:
    response = RedirectResponse(views.local_path(next), status_code=303)
    if language in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, language, max_age=365 * 24 * 3600, samesite="strict", httponly=True
        )
    return response


# ----------------------------------------------------------------------------- the items


@router.get("/")
async def home(request: Request) -> Response:
    """A store associate starts at their workspace, head office at the overview."""
    visitor = await visitor_of(request)
    if visitor is None:
        return to_sign_in(request)
    start = "/stores" if visitor.principal.role is Role.STORE else "/overview"
    return RedirectResponse(start, status_code=303)


@router.get("/items")
async def items(request: Request, q: str | None = None, after: str | None = None) -> Response:
    visitor = await allowed(request, "catalog:read")
    if not isinstance(visitor, Visitor):
        return visitor
    query = (q or "").strip()[:200] or None
    page = await visitor.caller.read(
        lambda reads: _found_items(reads, query, (after or None) and after[:64])
    )
    return render(
        request, "items.html", visitor.words, visitor=visitor,
        q=query or "", items=page.rows, next=page.next,
    )  # fmt: skip


def _found_items(reads: ReadUnit, q: str | None, after: str | None) -> listings.Page:
    """Items whose sku, name or barcode match `q` (a barcode is all digits)."""
    if q is not None and q.isdigit() and len(q) >= 8:
        by_barcode = listings.items(reads, barcode=q, after=after, limit=PAGE)
        if by_barcode.rows:
            return by_barcode
    return listings.items(reads, q=q, after=after, limit=PAGE)


#: Movements a page of an item's ledger shows.
LEDGER = 50


@router.get("/items/{sku}")
async def item(request: Request, sku: str, location: str | None = None, after: int = 0) -> Response:
    visitor = await allowed(request, "stock:read", "availability:read")
    if not isinstance(visitor, Visitor):
        return visitor
    principal = visitor.principal
    try:
        found = await visitor.caller.read(
            lambda reads: _item_page(reads, sku, principal, location or None, max(0, after))
        )
    except NotFound:
        words = visitor.words
        return not_found(request, visitor, f"{words('No item has the sku')} {sku!r}.")
    return render(request, "item.html", visitor.words, visitor=visitor, **found)


def _item_page(
    reads: ReadUnit, sku: str, principal: Principal, location: str | None, after: int
) -> dict[str, Any]:
    the_item = catalog.get_item(reads, sku)
    places = {place.code: place for place in catalog.list_locations(reads)}
    reach = principal.locations
    table = views.stock_table(stock.stock_of(reads, sku), places, reach)
    by_channel = []
    for channel in channels.list_channels(reads):
        figures = availability.of_item(reads, channel=channel.code, sku=sku)
        by_channel.append(
            views.channel_ats(
                channel.code, channel.name, figures.available_to_sell, figures.locations, reach
            )
        )
    return {
        "item": the_item,
        "stock": table,
        "channels": by_channel,
        "places": places,
        **_ledger(reads, sku, reach, location if location in places else None, after),
    }


def _ledger(
    reads: ReadUnit, sku: str, reach: frozenset[str] | None, location: str | None, after: int
) -> dict[str, Any]:
    """A page of the item's ledger, oldest first, at `location` if given (a known one); a
    store key reads its own locations' only."""
    if reach is not None and location is not None and location not in reach:
        location = None
    if reach is not None and location is None and len(reach) == 1:
        location = next(iter(reach))
    moves = stock.ledger(reads, sku=sku, location=location, after=after, limit=LEDGER)
    more = moves[-1].id if len(moves) == LEDGER else None
    shown = [m for m in moves if reach is None or m.location in reach]
    return {"ledger": shown, "ledger_at": location or "", "ledger_next": more}
