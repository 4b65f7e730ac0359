"""Webhooks, their deliveries, replays."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StringConstraints

from omnistock.api.schemas.common import TEXT_PATTERN, Body, Model, Note, Patch

Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=TEXT_PATTERN),
]
EventFilter = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=TEXT_PATTERN)]
_EVENTS = "Event types (`order.created`), families (`order.*`) or `*`"
_URL = "An http or https URL (not this server); redirects are not followed"


class WebhookIn(Body):
    url: Url = Field(description=_URL)
    events: list[EventFilter] = Field(max_length=100, description=_EVENTS)
    description: Note | None = None


class WebhookPatch(Patch):
    url: Url | None = Field(None, description=_URL)
    events: list[EventFilter] | None = Field(None, max_length=100, description=_EVENTS)
    enabled: bool | None = Field(None, description="true again clears the failures")
    description: Note | None = None


class WebhookOut(Model):
    id: int
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    delivered_through: int = Field(
        description="The seq of the last event delivered (or given up on); replay moves it back"
    )
    failures: int = Field(description="Failed tries of the next event so far")
    next_try_at: dt.datetime | None
    disabled_reason: str | None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret (`whsec_` + base64): shown this once")


class DeliveryOut(Model):
    id: int
    webhook_id: int
    seq: int | None = Field(description="The event's seq (null: a ping)")
    type: str
    at: dt.datetime = Field(description="When it was tried (or queued, or given up on)")
    outcome: str = Field(description="delivered, retrying, failed (given up) or pending")
    status_code: int | None
    error: str | None
    duration_ms: int | None
    next_try_at: dt.datetime | None


class ReplayIn(Body):
    after: int = Field(ge=0, le=2**63 - 1, description="Send again the events after this seq")
