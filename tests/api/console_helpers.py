"""What the console's tests share: signing a browser in as a person would, and a page's
text (importable like `orders_helpers`: pytest puts this folder on sys.path). The
`browser` fixture itself is in conftest.py."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient


def sign_in(browser: TestClient, key: str, *, next: str = "/items") -> httpx.Response:
    """The sign-in form filled and sent, its token and all: the answer."""
    form = browser.get("/sign-in", params={"next": next})
    token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert token is not None, form.text
    return browser.post("/sign-in", data={"key": key, "token": token[1], "next": next})


def signed_in(browser: TestClient, key: str) -> None:
    """Signed in, or the test fails."""
    answer = sign_in(browser, key)
    assert answer.status_code == 303, answer.text


def text_of(html: str) -> str:
    """A page's text, its tags dropped and its spaces folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def csrf_of(page: str) -> str:
    """The session's token, as a page's forms carry it."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "no form with the session's token on the page"
    return found[1]
