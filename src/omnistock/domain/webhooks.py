"""Webhooks' rules: which events a webhook subscribes to, when a failed delivery is tried
again, and which URLs a webhook may point at. Pure: no I/O.

- A filter is an event type (`order.created`), a family (`order.*`: every type that starts
  with `order.`) or `*` (every event). A type or a family that no event has is refused.
- A failed delivery is tried again after about 5 s, 30 s, 2 min, 10 min, 1 h, then every 6 h
  until 3 days have passed: then the webhook is given up on (disabled). The delays are
  multiples of a base (5 s in production, a few milliseconds in tests), each with up to 20 %
  of jitter either way, so that webhooks that failed together do not retry in step.
- A webhook's URL is `http` or `https` with a host, and never the server itself: the same
  port on the host the server listens on, where any loopback name (`localhost`, `127.x.x.x`,
  `::1`) counts as that host when the server listens on a loopback or an unspecified
  (`0.0.0.0`, `::`) address. Names are not resolved: a DNS name that points back at the
  server is not caught here (the server's own routes would refuse the unsigned call anyway).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from omnistock.domain.errors import InvalidInput
from omnistock.domain.events import EVERY_TYPE, selected_types

PING = "webhook.ping"
#: Retry delays after the 1st, 2nd... failed try, in units of the base (5 s): 5 s, 30 s, 2 min,
#: 10 min, 1 h; then every 6 h (`_LATER`) until the tries span 3 days (`_SPAN`).
_FIRST_DELAYS = (1, 6, 24, 120, 720)
_LATER = 4320
_SPAN = 51840
JITTER = 0.2
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSPECIFIED = {"0.0.0.0", "::", ""}


@dataclass(frozen=True, slots=True)
class Subscription:
    """What a webhook's filters select: every type, or these (the filters' patterns matched
    against the event types of this release, by `omnistock.domain.events.selected_types`,
    the stream's rule too)."""

    everything: bool
    types: frozenset[str]

    def matches(self, event_type: str) -> bool:
        return self.everything or event_type in self.types


def subscription(filters: Sequence[str], *, field: str = "events") -> Subscription:
    """The filters as a subscription; an empty list, or a filter that selects no type, is
    refused (InvalidInput naming `events[i]`)."""
    if not filters:
        raise InvalidInput(field, "give an event type, a family such as 'order.*', or '*'")
    types: set[str] = set()
    for index, pattern in enumerate(filters):
        try:
            types |= selected_types([pattern])
        except ValueError as error:
            raise InvalidInput(f"{field}[{index}]", str(error)) from None
    return Subscription(EVERY_TYPE in filters, frozenset(types))


def retry_delay(failures: int, *, base: float, jitter: float = 0.0) -> float | None:
    """Seconds to wait after the `failures`-th failed try in a row (1 for the first), or None
    when it was the last try. `jitter`, in [-1, 1], moves the delay by up to 20 %."""
    if failures < 1:
        raise ValueError("failures counts from 1")
    units = _units_until(failures)
    if units is None:
        return None
    return units * base * (1 + JITTER * max(-1.0, min(1.0, jitter)))


def _units_until(failures: int) -> int | None:
    """The delay after this failure, in base units, while the tries stay within 3 days."""
    delays = [*_FIRST_DELAYS[: failures - 1]]
    delays += [_LATER] * max(0, failures - 1 - len(_FIRST_DELAYS))
    nxt = _FIRST_DELAYS[failures - 1] if failures <= len(_FIRST_DELAYS) else _LATER
    return None if sum(delays) + nxt > _SPAN else nxt


def tries(*, base: float = 1.0) -> int:
    """How many tries an event gets before its webhook is given up on (the first included)."""
    failures = 1
    while retry_delay(failures, base=base) is not None:
        failures += 1
    return failures


def check_url(url: str, *, server_host: str, server_port: int, field: str = "url") -> str:
    """`url` when a webhook may point at it (see the module's rules); InvalidInput otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidInput(field, f"not a valid URL: {error}") from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise InvalidInput(field, "must be an http or https URL")
    if not parts.hostname:
        raise InvalidInput(field, "must name a host")
    if parts.username or parts.password:
        raise InvalidInput(field, "must not carry a user or a password")
    port = port or _DEFAULT_PORTS[parts.scheme]
    if port == server_port and _same_host(parts.hostname, server_host):
        raise InvalidInput(field, "points at this server itself: deliveries would loop back")
    return url


def _same_host(host: str, server_host: str) -> bool:
    host, server_host = host.lower().strip("[]"), server_host.lower().strip("[]")
    if host == server_host:
        return True
    if server_host in _UNSPECIFIED or _is_loopback(server_host):
        return _is_loopback(host) or host in _UNSPECIFIED
    return False


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
