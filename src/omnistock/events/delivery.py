"""Delivering webhooks: each subscribed event POSTed, signed the Standard Webhooks way.

One deliverer runs at a time, whatever the number of processes: the one that holds the
`webhooks` lease row (renewed while it runs, taken over by another process once it expired).
Each round it numbers the feed's new events (PostgreSQL), then gives every webhook with work
to a thread of its pool, one thread per webhook at a time: a slow or dead receiver holds up
its own webhook only, never the others, and never the API (which does not wait for it).

Per webhook, events go out in feed order, one at a time. The cursor moves past an event only
after its receiver answered 2xx, in a transaction after the answer (a batch of answers at a
time): a deliverer killed before that transaction sends those events again (at least once),
and nothing is ever skipped. A failed try (not 2xx in time, or no answer) stops the webhook's
batch; the same event is tried again after the backoff (`omnistock.domain.webhooks`), and the
events after it wait for it.

The body is the event exactly as `GET /v1/events` shows it (the same JSON bytes); the
headers `webhook-id` (the event's seq), `webhook-timestamp` and `webhook-signature`. A ping
has webhook-id `ping-<delivery id>` and seq 0 (no event has it). Redirects are not followed
(a 3xx is a failed try), at most `_READ_CAP` bytes of an answer are read.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import urllib3
from standardwebhooks import Webhook
from urllib3.exceptions import HTTPError as TransportError

from omnistock.config import Settings
from omnistock.db import Database, DatabaseError, outage_of
from omnistock.domain.errors import InvalidInput
from omnistock.domain.webhooks import PING, check_url, subscription
from omnistock.events.feed import render
from omnistock.services import webhooks as service

log = logging.getLogger("omnistock.webhooks")
LEASE = "webhooks"
_BATCH = 200
_SEQUENCE_MOST = 1000
_READ_CAP = 64 * 1024


def signed_headers(secret: str, message_id: str, body: bytes, now: dt.datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": "omnistock-webhooks",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }


class Deliverer:
    """The delivery loop: `run(stop)` until `stop` is set."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self.holder = f"deliverer-{uuid.uuid4().hex[:12]}"
        self.holding = threading.Event()
        self._lease_until = 0.0
        self._pools: dict[int, urllib3.PoolManager] = {}

    def run(self, stop: threading.Event) -> None:
        pool = ThreadPoolExecutor(self.settings.webhook_concurrency, "webhook")
        busy: dict[int, Future[None]] = {}
        try:
            while not stop.is_set():
                self._round(pool, busy, stop)
                stop.wait(self.settings.webhook_poll_seconds)
        finally:
            self.holding.clear()
            pool.shutdown(wait=True, cancel_futures=True)
            for connections in self._pools.values():
                connections.clear()
            self._release()

    def _round(
        self, pool: ThreadPoolExecutor, busy: dict[int, Future[None]], stop: threading.Event
    ) -> None:
        try:
            if not self._hold_lease():
                return
            if self.database.numbers_events_late:
                self.database.run(lambda uow: uow.events.sequence(most=_SEQUENCE_MOST))
            with self.database.reading() as reads:
                hooks = service.list_webhooks(reads)
            for hook in hooks:
                if hook["id"] not in busy or busy[hook["id"]].done():
                    busy[hook["id"]] = pool.submit(self._serve, hook["id"], stop)
        except DatabaseError as error:  # the next round tries again
            self.holding.clear()
            if outage_of(error) is None:
                log.exception("webhook delivery failed")
            else:
                log.warning("webhook delivery waits for the database: %s", error.orig)

    def _hold_lease(self) -> bool:
        """Take or renew the lease when a third of it has gone by; whether this process holds it."""
        ttl = self.settings.webhook_lease_seconds
        if self.holding.is_set() and time.monotonic() < self._lease_until - 2 * ttl / 3:
            return True

        def take(uow: Any) -> bool:
            until = uow.now + dt.timedelta(seconds=ttl)
            held: bool = uow.webhooks.take_lease(
                name=LEASE, holder=self.holder, now=uow.now, until=until
            )
            return held

        if self.database.run(take):
            self._lease_until = time.monotonic() + ttl
            self.holding.set()
        else:
            self.holding.clear()
        return self.holding.is_set()

    def _release(self) -> None:
        try:
            self.database.run(
                lambda uow: uow.webhooks.release_lease(name=LEASE, holder=self.holder)
            )
        except DatabaseError as error:
            log.warning("could not release the webhook lease: %s", error.orig)

    # ------------------------------------------------------------------ one webhook

    def _serve(self, webhook_id: int, stop: threading.Event) -> None:
        """The webhook's work, read afresh: what an earlier job did has committed."""
        try:
            with self.database.reading() as reads:
                hook = reads.webhooks.get(webhook_id)
            if hook is None:  # deleted
                return
            self._send_pings(hook)
            now = dt.datetime.now(dt.UTC)
            if hook["enabled"] and (hook["next_try_at"] is None or hook["next_try_at"] <= now):
                while self._send_events(hook, stop) == _BATCH:  # more may wait: no pause
                    with self.database.reading() as reads:
                        hook = reads.webhooks.get(webhook_id)
                    if hook is None or not hook["enabled"]:
                        return
        except DatabaseError as error:
            log.warning("webhook %s: the database failed: %s", webhook_id, error.orig)
        except Exception:
            log.exception("webhook %s: delivery failed", webhook_id)

    def _send_pings(self, hook: dict[str, Any]) -> None:
        with self.database.reading() as reads:
            pings = reads.webhooks.queued_pings(hook["id"])
        for queued in pings:
            now = dt.datetime.now(dt.UTC)
            event = {"seq": 0, "type": PING, "at": now, "data": {"webhook": hook["id"]}}
            attempt = self._post(hook, f"ping-{queued['id']}", event)
            outcome = "delivered" if _succeeded(attempt) else "failed"
            self._settle(queued["id"], {**attempt, "outcome": outcome})

    def _settle(self, delivery_id: int, values: dict[str, Any]) -> None:
        self.database.run(lambda uow: uow.webhooks.settle(delivery_id, values=values))

    def _send_events(self, hook: dict[str, Any], stop: threading.Event) -> int:
        """Send the webhook's next batch, in order, until one fails; answers how many were
        delivered."""
        start = hook["cursor"]
        with self.database.reading() as reads:
            batch = reads.webhooks.pending(
                subscription=subscription(hook["events"]), after=start, limit=_BATCH
            )
        succeeded: list[dict[str, Any]] = []
        for event in batch:
            if stop.is_set() or not self.holding.is_set():
                break
            attempt = self._post(hook, str(event["seq"]), event)
            if not _succeeded(attempt):
                self._record_failure(hook, start, succeeded, attempt)
                return 0
            succeeded.append({**attempt, "outcome": "delivered"})
        if succeeded:
            self.database.run(
                lambda uow: service.delivered(uow, hook["id"], start=start, tries=succeeded)
            )
        return len(succeeded)

    def _record_failure(
        self,
        hook: dict[str, Any],
        start: int,
        succeeded: list[dict[str, Any]],
        attempt: dict[str, Any],
    ) -> None:
        jitter = random.uniform(-1.0, 1.0)
        base = self.settings.webhook_retry_base_seconds
        moved = max((t["seq"] for t in succeeded), default=start)

        def record(uow: Any) -> None:
            if service.delivered(uow, hook["id"], start=start, tries=succeeded):
                service.failed(uow, hook, start=moved, attempt=attempt, base=base, jitter=jitter)

        self.database.run(record)
        log.info("webhook %s: event %s failed: %s", hook["id"], attempt["seq"], attempt)

    def _post(self, hook: dict[str, Any], message_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """One try: POST the event; a `webhook_deliveries` row without its outcome."""
        now = dt.datetime.now(dt.UTC)
        attempt: dict[str, Any] = {
            "webhook_id": hook["id"],
            "seq": event["seq"] or None,
            "type": event["type"],
            "at": now,
            "status_code": None,
            "error": None,
        }
        began = time.monotonic()
        try:
            check_url(hook["url"], server_host=self.settings.host, server_port=self.settings.port)
            body = render(event)
            headers = signed_headers(hook["secret"], message_id, body, now)
            attempt["status_code"] = self._exchange(hook, body, headers, began)
        except InvalidInput as refused:
            attempt["error"] = f"not sent: {refused.message}"
        except (TransportError, OSError) as error:
            name = "Timeout" if isinstance(error, TooSlow) else type(error).__name__
            attempt["error"] = f"{name}: {error}"[:200]
        attempt["duration_ms"] = int((time.monotonic() - began) * 1000)
        return attempt

    def _exchange(
        self, hook: dict[str, Any], body: bytes, headers: dict[str, str], began: float
    ) -> int:
        """The receiver's status, its answer read within the timeout (`TooSlow` otherwise)."""
        timeout = self.settings.webhook_timeout_seconds
        answer = self._pool(hook["id"]).request(
            "POST",
            hook["url"],
            body=body,
            headers=headers,
            redirect=False,
            preload_content=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
        read, whole = 0, True
        try:
            for chunk in answer.stream(8192):
                read += len(chunk)
                if read >= _READ_CAP or time.monotonic() - began > timeout:
                    whole = False
                    break
            if time.monotonic() - began > timeout:
                raise TooSlow(f"no full answer within {timeout:g} s")
            return answer.status
        finally:
            if not whole:
                answer.close()  # the rest is never read: the connection cannot be reused
            answer.release_conn()

    def _pool(self, webhook_id: int) -> urllib3.PoolManager:
        """The webhook's connections (kept alive between deliveries); never retried, never
        redirected, no proxy from the environment."""
        pool = self._pools.get(webhook_id)
        if pool is None:
            pool = self._pools[webhook_id] = urllib3.PoolManager(maxsize=1, retries=False)
        return pool


class TooSlow(TransportError):
    """The receiver's answer did not come whole within the timeout (a Timeout, for users)."""


def _succeeded(attempt: dict[str, Any]) -> bool:
    code = attempt["status_code"]
    return code is not None and 200 <= code < 300 and attempt["error"] is None
