"""Running a change at most once per `Idempotency-Key`.

The key is claimed, the change made and its answer stored in one transaction: a retry of the
same request (same owner, key and fingerprint) gets the stored answer and changes nothing,
whether that answer was a success or a refusal; the same key with another request is refused.
A concurrent duplicate on PostgreSQL waits on the first one's claim, then replays its answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from omnistock.db import UnitOfWork
from omnistock.domain.errors import IdempotencyKeyReused, OmnistockError

#: A change: it returns the HTTP-ready status and body of its answer.
Action = Callable[[UnitOfWork], tuple[int, Any]]
#: How a refusal is answered (status and body), so that it can be stored and replayed.
Refusal = Callable[[OmnistockError], tuple[int, Any]]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any
    replayed: bool


def run_once(
    uow: UnitOfWork,
    *,
    owner: str,
    key: str,
    fingerprint: str,
    action: Action,
    refusal: Refusal,
) -> Answer:
    stored = uow.idempotency.claim(owner=owner, key=key, request_hash=fingerprint, now=uow.now)
    if stored is not None:
        if stored.request_hash != fingerprint:
            raise IdempotencyKeyReused(key)
        return Answer(stored.status_code, stored.response, replayed=True)
    try:
        with uow.savepoint():
            status, body = action(uow)
    except OmnistockError as error:  # refused: nothing changed but the answer is kept
        status, body = refusal(error)
    uow.idempotency.store(owner=owner, key=key, status_code=status, response=body)
    return Answer(status, body, replayed=False)
