"""Signing in to the console: an API key exchanged for a signed session cookie.

The cookie holds the SHA-256 of the key (never the key) and the session's CSRF token, signed
with the server's session secret (`itsdangerous`) and stamped with the time it was issued:
after `MAX_AGE` (12 h) it is refused. It is HttpOnly (no script reads it), SameSite=Strict
(no other site's page sends it) and, over HTTPS, Secure. Every request looks the key up
again, so a revoked key ends its sessions at once.

Before a session exists, the sign-in form carries a token of its own, also kept in a
SameSite=Strict cookie (a double submit), so no other site can sign a browser in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "omnistock_session"
FORM_COOKIE = "omnistock_form"
MAX_AGE = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: whose key, and the token its forms must send back."""

    key_hash: str
    csrf: str


class Sessions:
    """Issues and reads session cookies signed with `secret`."""

    def __init__(self, secret: str) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="omnistock.console.session")

    def issue(self, key: str) -> tuple[str, Session]:
        """A new session for `key`: the cookie's value, and the session."""
        session = Session(key_hash(key), secrets.token_urlsafe(24))
        return self._signer.dumps([session.key_hash, session.csrf]), session

    def read(self, cookie: str | None) -> Session | None:
        """The session of a cookie, or None if absent, forged or older than MAX_AGE."""
        if not cookie:
            return None
        try:
            found = self._signer.loads(cookie, max_age=MAX_AGE)
        except BadSignature:  # SignatureExpired is one too
            return None
        if not (
            isinstance(found, list) and len(found) == 2 and all(isinstance(v, str) for v in found)
        ):
            return None
        return Session(found[0], found[1])


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def same_token(sent: str | None, expected: str | None) -> bool:
    """Whether a form sent the token expected (compared in constant time)."""
    return bool(sent and expected) and hmac.compare_digest(str(sent), str(expected))


def new_form_token() -> str:
    return secrets.token_urlsafe(24)
