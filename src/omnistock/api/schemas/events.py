"""The event feed, a page at a time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from omnistock.api.schemas.common import Model


class EventOut(Model):
    seq: int
    type: str
    at: dt.datetime
    data: dict[str, Any]


class EventPage(Model):
    events: list[EventOut]
    next: int = Field(description="The seq to pass as `after` next time")
