"""Webhook delivery against a real receiver on 127.0.0.1, on SQLite and PostgreSQL.

Proves: every delivery carries the event exactly as the feed has it and a signature that the
official `standardwebhooks` library verifies; a webhook gets only what was committed after
its creation; events go out in feed order per webhook, each only after the one before it was
taken, through 500s and timeouts; a slow receiver holds up its own webhook only; replay
sends again from the seq given; after the last try the webhook is disabled and its pending
events are listed as failed; a ping arrives signed; two deliverers never deliver at once;
the metrics show the tries by outcome and how far behind each webhook is.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from omnistock.api.metrics import Metrics, WebhookFigures
from omnistock.config import Settings
from omnistock.db import Database, UnitOfWork
from omnistock.domain.events import Event
from omnistock.domain.webhooks import tries
from omnistock.events.delivery import Deliverer
from omnistock.events.feed import feed, render
from omnistock.services import webhooks
from receiver import Answer, Received, Receiver, always, receiving

SERVER = webhooks.Server("127.0.0.1", 8000)
FAST = {
    "webhook_retry_base_seconds": 0.001,
    "webhook_timeout_seconds": 0.3,
    "webhook_poll_seconds": 0.02,
    "webhook_lease_seconds": 2.0,
}


def settings(database_url: str, **overrides: Any) -> Settings:
    return Settings(database_url=database_url, **{**FAST, **overrides})


@contextlib.contextmanager
def delivering(db: Database, config: Settings) -> Iterator[Deliverer]:
    """A deliverer running in a thread until the block ends."""
    deliverer = Deliverer(config, db)
    stop = threading.Event()
    thread = threading.Thread(target=deliverer.run, args=(stop,))
    thread.start()
    try:
        yield deliverer
    finally:
        stop.set()
        thread.join(30)


def subscribe(db: Database, url: str, events: list[str] | None = None) -> dict[str, Any]:
    def create(uow: UnitOfWork) -> dict[str, Any]:
        return webhooks.create_webhook(
            uow, url=url, events=events or ["*"], description=None, server=SERVER
        )

    return db.run(create)


def happen(db: Database, count: int, event: Event = Event.ITEM_UPDATED) -> None:
    """`count` events, each committed on its own."""
    for n in range(count):
        db.run(lambda uow, n=n: uow.emit(event, {"sku": f"SKU-{n}", "n": n}))


def all_events(db: Database) -> list[dict[str, Any]]:
    found, _ = feed(db, after=0, limit=1000)
    return found


def webhook(db: Database, webhook_id: int) -> dict[str, Any]:
    with db.reading() as reads:
        return webhooks.get_webhook(reads, webhook_id)


def tries_per_seq(receiver: Receiver) -> Counter[int]:
    return Counter(r.seq for r in receiver.requests())


def assert_in_feed_order(receiver: Receiver, seqs: list[int]) -> None:
    """Each request carries the first event not taken yet: none before its predecessor."""
    taken = 0
    for request in receiver.requests():
        assert request.seq == seqs[taken], (request.seq, seqs, taken)
        if 200 <= request.answered < 300:
            taken += 1
    assert taken == len(seqs)


def test_every_event_arrives_once_signed_and_exactly_as_the_feed_shows_it(
    db: Database, database_url: str
) -> None:
    with receiving() as receiver, delivering(db, settings(database_url)):
        hook = subscribe(db, receiver.url)
        happen(db, 5)
        receiver.wait_for(lambda r: len(r.taken()) == 5)

    events = all_events(db)
    assert receiver.verified(hook["secret"]) == [
        {**e, "at": e["at"].isoformat().replace("+00:00", "Z")} for e in events
    ]
    assert [r.body for r in receiver.requests()] == [render(e) for e in events]
    assert [r.headers["webhook-id"] for r in receiver.requests()] == [str(e["seq"]) for e in events]


def test_a_new_webhook_receives_only_what_is_committed_after_it(
    db: Database, database_url: str
) -> None:
    happen(db, 3, Event.ITEM_CREATED)
    with receiving() as receiver, delivering(db, settings(database_url)):
        subscribe(db, receiver.url)
        happen(db, 2)
        receiver.wait_for(lambda r: len(r.taken()) == 2)

    assert [r.event["type"] for r in receiver.requests()] == ["item.updated"] * 2


def test_a_webhook_gets_only_the_types_and_families_it_subscribed_to(
    db: Database, database_url: str
) -> None:
    with receiving() as receiver, delivering(db, settings(database_url)):
        subscribe(db, receiver.url, ["order.*", "stock.changed"])
        for event in (Event.ITEM_UPDATED, Event.ORDER_CREATED, Event.STOCK_CHANGED):
            happen(db, 1, event)
        happen(db, 1, Event.ORDER_STATUS_CHANGED)
        receiver.wait_for(lambda r: len(r.taken()) == 3)

    types = [r.event["type"] for r in receiver.requests()]
    assert types == ["order.created", "stock.changed", "order.status_changed"]


def flaky(timeout: float) -> Answer:
    """A 500 at the first try of every third event, no answer in time at the first try of
    every fourth, 204 otherwise."""
    seen: Counter[int] = Counter()
    lock = threading.Lock()

    def answer(request: Received) -> tuple[int, float]:
        with lock:
            seen[request.seq] += 1
            first = seen[request.seq] == 1
        if first and request.seq % 4 == 0:
            return 500, timeout * 2  # answered too late: the deliverer gave up on it
        if first and request.seq % 3 == 0:
            return 500, 0.0
        return 204, 0.0

    return answer


def test_order_is_kept_per_webhook_through_500s_and_timeouts(
    db: Database, database_url: str
) -> None:
    config = settings(database_url, webhook_timeout_seconds=0.2)
    with receiving(flaky(0.2)) as receiver, delivering(db, config):
        hook = subscribe(db, receiver.url)
        happen(db, 12)
        receiver.wait_for(lambda r: len(r.taken()) == 12)

    seqs = [e["seq"] for e in all_events(db)]
    assert_in_feed_order(receiver, seqs)
    assert sum(1 for r in receiver.requests() if r.answered == 500) == 6
    assert webhook(db, hook["id"])["failures"] == 0
    with db.reading() as reads:
        listed = webhooks.deliveries(reads, hook["id"], before=None, limit=100)
    assert Counter(d["outcome"] for d in listed) == {"delivered": 12, "retrying": 6}
    timed_out = [d for d in listed if d["outcome"] == "retrying" and d["status_code"] is None]
    assert len(timed_out) == 3 and all("Timeout" in d["error"] for d in timed_out)


def test_a_slow_receiver_holds_up_its_own_webhook_and_not_the_others(
    db: Database, database_url: str
) -> None:
    config = settings(database_url, webhook_timeout_seconds=5.0)
    with (
        receiving(always(204, delay=1.5)) as slow,
        receiving() as quick,
        delivering(db, config),
    ):
        subscribe(db, slow.url)
        subscribe(db, quick.url)
        happen(db, 4)
        quick.wait_for(lambda r: len(r.taken()) == 4, seconds=1.2)
        assert len(slow.requests()) <= 1  # at most its first event, not answered yet


def test_replay_sends_the_events_after_the_seq_given_again_in_order(
    db: Database, database_url: str
) -> None:
    with receiving() as receiver, delivering(db, settings(database_url)):
        hook = subscribe(db, receiver.url)
        happen(db, 4)
        receiver.wait_for(lambda r: len(r.taken()) == 4)
        seqs = [r.seq for r in receiver.requests()]
        receiver.wait_for(lambda r: webhook(db, hook["id"])["cursor"] == seqs[-1])
        db.run(lambda uow: webhooks.replay(uow, hook["id"], after=seqs[1]))
        receiver.wait_for(lambda r: len(r.taken()) == 6)

    assert [r.seq for r in receiver.requests()] == [*seqs, seqs[2], seqs[3]]


def test_after_the_last_try_the_webhook_is_disabled_and_its_pending_events_fail(
    db: Database, database_url: str
) -> None:
    config = settings(database_url, webhook_retry_base_seconds=0.00001)
    with receiving(always(500)) as receiver, delivering(db, config):
        hook = subscribe(db, receiver.url)
        happen(db, 3)
        receiver.wait_for(lambda r: len(r.requests()) == tries(), seconds=30)
        receiver.wait_for(lambda r: not webhook(db, hook["id"])["enabled"])

    seqs = [e["seq"] for e in all_events(db)]
    assert [r.seq for r in receiver.requests()] == [seqs[0]] * tries()
    gave_up = webhook(db, hook["id"])
    assert gave_up["cursor"] == seqs[-1]
    assert "after 17 tries: HTTP 500" in gave_up["disabled_reason"]
    with db.reading() as reads:
        listed = webhooks.deliveries(reads, hook["id"], before=None, limit=100)
    failed = sorted(d["seq"] for d in listed if d["outcome"] == "failed")
    assert failed == seqs
    assert Counter(d["outcome"] for d in listed) == {"retrying": tries() - 1, "failed": 3}


def test_a_ping_arrives_signed_and_is_listed_as_delivered(db: Database, database_url: str) -> None:
    with receiving() as receiver, delivering(db, settings(database_url)):
        hook = subscribe(db, receiver.url)
        queued = db.run(lambda uow: webhooks.ping(uow, hook["id"]))
        receiver.wait_for(lambda r: len(r.taken()) == 1)

    (event,) = receiver.verified(hook["secret"])
    assert (event["type"], event["seq"], event["data"]) == (
        "webhook.ping",
        0,
        {"webhook": hook["id"]},
    )
    assert receiver.requests()[0].headers["webhook-id"] == f"ping-{queued['id']}"
    with db.reading() as reads:
        (listed,) = webhooks.deliveries(reads, hook["id"], before=None, limit=10)
    assert (listed["outcome"], listed["status_code"], listed["seq"]) == ("delivered", 204, None)


def test_two_deliverers_at_once_deliver_each_event_once(db: Database, database_url: str) -> None:
    config = settings(database_url)
    with receiving() as receiver, delivering(db, config), delivering(db, config):
        subscribe(db, receiver.url)
        happen(db, 10)
        receiver.wait_for(lambda r: len(r.taken()) == 10)

    assert set(tries_per_seq(receiver).values()) == {1}


def webhook_figures(db: Database) -> dict[tuple[str, str], float]:
    """The webhook metrics, as a scrape of /metrics shows them, parsed by prometheus_client."""
    metrics = Metrics()
    metrics.at_scrape(WebhookFigures(db))
    return {
        (sample.name, next(iter(sample.labels.values()), "")): sample.value
        for family in text_string_to_metric_families(metrics.exposition().decode())
        for sample in family.samples
        if sample.name.startswith("omnistock_webhook")
    }


def test_the_metrics_show_deliveries_by_outcome_and_how_far_behind_each_webhook_is(
    db: Database, database_url: str
) -> None:
    with receiving() as receiver:
        hook = subscribe(db, receiver.url)
        happen(db, 3)
        time.sleep(0.05)  # the oldest undelivered event is at least this old
        behind = webhook_figures(db)
        with delivering(db, settings(database_url)):
            receiver.wait_for(lambda r: len(r.taken()) == 3)
    age = ("omnistock_webhook_oldest_undelivered_seconds", str(hook["id"]))
    assert behind[age] >= 0.05
    assert behind["omnistock_webhook_deliveries", "delivered"] == 0
    caught_up = webhook_figures(db)
    assert caught_up[age] == 0
    assert caught_up["omnistock_webhook_deliveries", "delivered"] == 3
