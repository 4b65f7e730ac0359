"""The periodic jobs: release expired holds, expire uncollected pickups, publish the ATS a
configuration change moved, forget old idempotency keys; and webhook delivery.

`run` is one loop over the jobs, until its stop event is set. `omnistock serve` runs it in a
thread of each server process; `omnistock worker` runs it alone, in a process of its own.
Every job calls the services, in short transactions, so several loops may run at once.

`deliver` is the webhook deliverer's loop (`omnistock.events.delivery`): `serve` runs it in
a thread of each server process too, `omnistock deliver` alone; one of them at a time
delivers (the others wait for its lease to expire).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from omnistock.config import Settings
from omnistock.db import Database, DatabaseError, UnitOfWork, outage_of
from omnistock.services import availability as availability_service
from omnistock.services import fulfilment as fulfilment_service
from omnistock.services import housekeeping
from omnistock.services import reservations as reservations_service

log = logging.getLogger("omnistock")
_SWEEP_SECONDS = 1.0
_SWEEP_BATCH = 500
_PICKUP_BATCH = 100
#: Items per republishing transaction (about 50 ms with 4 channels) and transactions a round.
_REPUBLISH_BATCH = 200
_REPUBLISH_BATCHES = 10
_PURGE_SECONDS = 3600.0
_PURGE_BATCH = 10_000


def run(settings: Settings, database: Database, stop: threading.Event) -> None:
    """Release expired holds, expire uncollected pickups and publish the ATS a configuration
    change moved, every second; forget old idempotency keys every hour. Until `stop` is set."""
    next_purge = 0.0
    while not stop.is_set():
        try:
            _sweep_holds(database, stop)
            _expire_pickups(database, stop)
            _republish(database, stop)
            if time.monotonic() >= next_purge:
                _purge_keys(settings, database, stop)
                next_purge = time.monotonic() + _PURGE_SECONDS
        except DatabaseError as error:  # keep the loop alive; the next round tries again
            if outage_of(error) is None:
                log.exception("housekeeping failed")
            else:
                log.warning("housekeeping waits for the database: %s", error.orig)
        except Exception:
            log.exception("housekeeping failed")
        stop.wait(_SWEEP_SECONDS)


def deliver(settings: Settings, database: Database, stop: threading.Event) -> None:
    """Deliver webhooks until `stop` is set, whenever this process holds the lease."""
    from omnistock.events.delivery import Deliverer

    Deliverer(settings, database).run(stop)


def _sweep_holds(database: Database, stop: threading.Event) -> None:
    def sweep(uow: UnitOfWork) -> int:
        return reservations_service.release_expired(uow, most=_SWEEP_BATCH)

    released = _drain(database, stop, sweep, _SWEEP_BATCH)
    if released:
        log.info("released %d expired holds", released)


def _expire_pickups(database: Database, stop: threading.Event) -> None:
    def expire(uow: UnitOfWork) -> int:
        return fulfilment_service.expire_pickups(uow, most=_PICKUP_BATCH)

    expired = _drain(database, stop, expire, _PICKUP_BATCH)
    if expired:
        log.info("expired %d uncollected pickups", expired)


def _republish(database: Database, stop: threading.Event) -> None:
    """Publish the items' ATS again after a change of configuration, a few batches a round."""
    for _ in range(_REPUBLISH_BATCHES):
        covered = database.run(
            lambda uow: availability_service.republish(uow, most=_REPUBLISH_BATCH)
        )
        if covered < _REPUBLISH_BATCH or stop.is_set():
            return


def _purge_keys(settings: Settings, database: Database, stop: threading.Event) -> None:
    def purge(uow: UnitOfWork) -> int:
        keep = settings.idempotency_ttl_hours
        return housekeeping.purge_idempotency_keys(uow, keep_hours=keep, most=_PURGE_BATCH)

    purged = _drain(database, stop, purge, _PURGE_BATCH)
    if purged:
        log.info("forgot %d idempotency keys", purged)


def _drain(
    database: Database, stop: threading.Event, job: Callable[[UnitOfWork], int], batch: int
) -> int:
    """Run `job` (a batch at most) in a transaction after another, until one comes back short
    or the worker stops; answers how many it handled in all."""
    handled, last = 0, batch
    while last == batch and not stop.is_set():
        last = database.run(job)
        handled += last
    return handled
