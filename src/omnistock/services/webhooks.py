"""Webhooks: subscribe a URL to events, see its deliveries, replay, ping; and the steps of
delivery the deliverer (`omnistock.events.delivery`) takes, each in its own transaction.

A new webhook starts at the newest event: it receives what is committed after it. Its
`cursor` moves past an event once the receiver took it (or the webhook was given up on);
`replay` moves it back.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.errors import InvalidInput, NotFound
from omnistock.domain.webhooks import Subscription, check_url, retry_delay, subscription

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32
_SEQUENCE_MOST = 10_000


@dataclass(frozen=True, slots=True)
class Server:
    """Where this server listens: a webhook may not point there."""

    host: str
    port: int


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes one: `whsec_` and base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def create_webhook(
    uow: UnitOfWork, *, url: str, events: list[str], description: str | None, server: Server
) -> dict[str, Any]:
    """A new webhook, enabled, starting after the newest event; its view with its secret."""
    check_url(url, server_host=server.host, server_port=server.port)
    subscription(events)
    # PostgreSQL: number every event committed before, so that the cursor starts after them.
    numbered = _SEQUENCE_MOST
    while numbered == _SEQUENCE_MOST:
        numbered = uow.events.sequence(most=_SEQUENCE_MOST)
    row = uow.webhooks.add(
        values={
            "url": url,
            "events": list(dict.fromkeys(events)),
            "description": description,
            "secret": new_secret(),
            "enabled": True,
            "created_at": uow.now,
            "updated_at": uow.now,
            "cursor": uow.webhooks.last_seq(),
            "failures": 0,
        }
    )
    return {**webhook_view(row), "secret": row["secret"]}


def get_webhook(reads: ReadUnit, webhook_id: int) -> dict[str, Any]:
    row = reads.webhooks.get(webhook_id)
    if row is None:
        raise NotFound("webhook", str(webhook_id), field="id")
    return row


def list_webhooks(reads: ReadUnit) -> list[dict[str, Any]]:
    return reads.webhooks.list_all()


def change_webhook(
    uow: UnitOfWork, webhook_id: int, *, changes: dict[str, Any], server: Server
) -> dict[str, Any]:
    """Change `url`, `events`, `enabled`, `description`; enabling again clears the failures
    (the next try is at once)."""
    get_webhook(uow, webhook_id)
    values = {k: v for k, v in changes.items() if k in {"url", "events", "enabled", "description"}}
    for name in ("url", "events", "enabled"):
        if name in values and values[name] is None:
            raise InvalidInput(name, "may not be null")
    if "url" in values:
        check_url(values["url"], server_host=server.host, server_port=server.port)
    if "events" in values:
        subscription(values["events"])
        values["events"] = list(dict.fromkeys(values["events"]))
    if values.get("enabled"):
        values.update(failures=0, next_try_at=None, disabled_reason=None)
    row = uow.webhooks.change(webhook_id, values={**values, "updated_at": uow.now})
    assert row is not None  # it existed in this transaction
    return row


def delete_webhook(uow: UnitOfWork, webhook_id: int) -> dict[str, Any]:
    """Delete the webhook and its deliveries; the webhook as it was."""
    row = get_webhook(uow, webhook_id)
    uow.webhooks.remove(webhook_id)
    return row


def replay(uow: UnitOfWork, webhook_id: int, *, after: int) -> dict[str, Any]:
    """Send the subscribed events after seq `after` again, in order (the failures start
    over; the webhook stays enabled or disabled as it is). `after` may not be beyond what
    the webhook already received (that would skip events)."""
    row = get_webhook(uow, webhook_id)
    if after > row["cursor"]:
        raise InvalidInput(
            "after", f"beyond what the webhook received (seq {row['cursor']}): it would skip events"
        )
    changed = uow.webhooks.change(
        webhook_id, values={"cursor": after, "failures": 0, "next_try_at": None}
    )
    assert changed is not None
    return changed


def ping(uow: UnitOfWork, webhook_id: int) -> dict[str, Any]:
    """Queue a `webhook.ping` for the webhook (sent even when it is disabled); the delivery."""
    get_webhook(uow, webhook_id)
    return uow.webhooks.queue_ping(webhook_id, now=uow.now)


def deliveries(
    reads: ReadUnit, webhook_id: int, *, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The webhook's tries, newest first (events given up on are listed as `failed`)."""
    get_webhook(reads, webhook_id)
    return reads.webhooks.deliveries(webhook_id, before=before, limit=limit)


def webhook_view(row: dict[str, Any]) -> dict[str, Any]:
    """A webhook as the API shows it: never its secret."""
    return {
        "id": row["id"],
        "url": row["url"],
        "events": row["events"],
        "description": row["description"],
        "enabled": row["enabled"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "delivered_through": row["cursor"],
        "failures": row["failures"],
        "next_try_at": row["next_try_at"],
        "disabled_reason": row["disabled_reason"],
    }


def delivery_stats(reads: ReadUnit) -> dict[str, Any]:
    """For the metrics: tries counted by outcome (`delivered`, `retrying`, `failed`,
    `pending`), and for each webhook the age in seconds of its oldest event not delivered
    yet (0 when it is up to date)."""
    ages: dict[int, float] = {}
    for row in reads.webhooks.list_all():
        oldest = reads.webhooks.oldest_pending_at(
            subscription=subscription(row["events"]), after=row["cursor"]
        )
        ages[row["id"]] = 0.0 if oldest is None else max(0.0, (reads.now - oldest).total_seconds())
    outcomes = {"delivered": 0, "retrying": 0, "failed": 0, "pending": 0}
    outcomes.update(reads.webhooks.count_outcomes())
    return {"deliveries": outcomes, "oldest_undelivered_seconds": ages}


# --------------------------------------------------------------------------- the deliverer's steps


def delivered(uow: UnitOfWork, webhook_id: int, *, start: int, tries: list[dict[str, Any]]) -> bool:
    """Record tries that succeeded and move the cursor from `start` past the last of them;
    False (nothing recorded) when a replay moved the cursor meanwhile."""
    last = max((t["seq"] for t in tries), default=start)
    if last > start and not uow.webhooks.advance(webhook_id, start=start, to=last):
        return False
    uow.webhooks.record(tries)
    return True


def failed(
    uow: UnitOfWork,
    hook: dict[str, Any],
    *,
    start: int,
    attempt: dict[str, Any],
    base: float,
    jitter: float,
) -> bool:
    """Record a failed try of the event after `start`: try again later, or, after the last
    try, disable the webhook and list its pending events as failed. False when a replay moved
    the cursor meanwhile."""
    failures = hook["failures"] + 1 if start == hook["cursor"] else 1
    delay = retry_delay(failures, base=base, jitter=jitter)
    if delay is None:
        reason = f"gave up on event {attempt['seq']} after {failures} tries: {_why(attempt)}"
        chosen: Subscription = subscription(hook["events"])
        if not uow.webhooks.give_up(
            hook["id"],
            start=start,
            failing=attempt["seq"],
            subscription=chosen,
            reason=reason,
            now=uow.now,
        ):
            return False
        uow.webhooks.record([{**attempt, "outcome": "failed"}])
        return True
    next_try = uow.now + dt.timedelta(seconds=delay)
    if not uow.webhooks.postpone(hook["id"], start=start, failures=failures, next_try_at=next_try):
        return False
    uow.webhooks.record([{**attempt, "outcome": "retrying", "next_try_at": next_try}])
    return True


def _why(attempt: dict[str, Any]) -> str:
    return attempt.get("error") or f"HTTP {attempt.get('status_code')}"
