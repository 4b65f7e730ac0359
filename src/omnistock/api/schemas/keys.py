"""API keys: a role, and for two roles a reach (one channel, or some locations)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from omnistock.api.schemas.common import Body, Key, Model, Name
from omnistock.domain.access import Role


class KeyIn(Body):
    name: Name = Field(description="Who or what holds the key, e.g. 'Zalando connector'")
    role: Role = Field(
        description="admin: everything; viewer: every read; integration: sells on its "
        "`channel`; store: acts at its `locations`"
    )
    channel: Key | None = Field(
        None, description="The one channel an integration key sells on (required for it only)"
    )
    locations: list[Key] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="The locations a store key acts at (one or more; for it only)",
    )


class KeyOut(Model):
    id: str
    name: str
    role: Role | None = Field(description="null: a key of hand-given scopes")
    channel: str | None
    locations: list[str] | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None = Field(
        description="When the key was last used, to the minute (written once a minute at most)"
    )


class KeyCreated(KeyOut):
    secret: str = Field(
        description="The key to send as `Authorization: Bearer …`: shown this once, never again"
    )
