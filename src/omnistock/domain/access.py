"""Who is calling, and what they may do: the roles of API keys, their scopes and their reach.

A key's role grants scopes (the names routes ask for, `<resource>:read|write`). Two roles
also have a reach: an `integration` key acts on one channel, a `store` key at some locations.
A request that names a channel or a location beyond its key's reach is refused (403) and
changes nothing; a list such a key reads shows only what lies within its reach.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from omnistock.domain.errors import Forbidden

if TYPE_CHECKING:
    from omnistock.domain.orders import Order
    from omnistock.domain.transfers import Transfer

ADMIN_SCOPES = ("*",)

_READS = (
    "catalog:read",
    "stock:read",
    "availability:read",
    "reservations:read",
    "orders:read",
    "fulfillments:read",
    "returns:read",
    "transfers:read",
    "events:read",
)


class Role(StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"
    INTEGRATION = "integration"
    STORE = "store"


#: The scopes each role grants. Keys and webhooks need `keys:*` and `webhooks:*`, which only
#: `admin` (every scope) holds.
ROLE_SCOPES: dict[Role, tuple[str, ...]] = {
    Role.ADMIN: ADMIN_SCOPES,
    Role.VIEWER: _READS,
    Role.INTEGRATION: (
        "catalog:read",
        "stock:read",
        "availability:read",
        "events:read",
        "reservations:read",
        "reservations:write",
        "orders:read",
        "orders:write",
    ),
    Role.STORE: (
        *_READS,
        "stock:write",
        "orders:write",
        "fulfillments:write",
        "returns:write",
        "transfers:write",
    ),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The owner of an API key: the scopes the key grants (`*` grants every scope), and its
    reach: the one channel it sells on, or the locations it acts at (None: no limit)."""

    id: str
    scopes: tuple[str, ...]
    role: Role | None = None
    channel: str | None = None
    locations: frozenset[str] | None = None

    def allows(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes

    @property
    def bounded(self) -> bool:
        """Whether the key has a reach to check (a resource need not be read otherwise)."""
        return self.channel is not None or self.locations is not None

    def on_channel(self, channel: str, *, field: str) -> None:
        """Refuse a request for `channel` (named by `field`) beyond the key's channel."""
        if self.channel is not None and channel != self.channel:
            raise Forbidden(
                f"{field}: this key acts on channel {self.channel!r} only, not {channel!r}",
                field=field,
            )

    def at(self, location: str | None, *, field: str) -> None:
        """Refuse a request at `location` (named by `field`) beyond the key's locations."""
        if self.locations is not None and location not in self.locations:
            raise Forbidden(
                f"{field}: this key acts at {', '.join(sorted(self.locations))} only, "
                f"not at {location!r}",
                field=field,
            )

    def reaches(self, locations: Iterable[str], *, field: str) -> None:
        """Refuse a resource (named by `field`) that touches none of the key's locations."""
        if self.locations is not None and self.locations.isdisjoint(locations):
            raise Forbidden(
                f"{field}: this key acts at {', '.join(sorted(self.locations))} only",
                field=field,
            )

    def channel_filter(self, channel: str | None) -> str | None:
        """The channel a list may show: the one asked for, within the key's reach."""
        if channel is not None:
            self.on_channel(channel, field="channel")
            return channel
        return self.channel

    def location_filter(self, location: str | None) -> Collection[str] | None:
        """The locations a list may show (None: all): the one asked for, within reach."""
        if location is not None:
            self.at(location, field="location")
            return (location,)
        return None if self.locations is None else sorted(self.locations)


def check_order(principal: Principal, order: Order, *, field: str = "id") -> None:
    """Refuse an order of another channel, or one that touches none of the key's locations
    (fulfilled, picked up or sold there)."""
    touched = {f.location for f in order.fulfilments}
    if isinstance(order.delivery.get("location"), str):
        touched.add(str(order.delivery["location"]))
    principal.on_channel(order.channel, field=field)
    principal.reaches(touched, field=field)


def check_sending(principal: Principal, transfer: Transfer, *, field: str = "id") -> None:
    """Refuse to send (ship or cancel) a transfer from beyond the key's locations: from its
    origin, or for a supplier's delivery, its destination."""
    principal.at(transfer.origin or transfer.destination, field=field)


def check_transfer(principal: Principal, transfer: Transfer, *, field: str = "id") -> None:
    """Refuse to read a transfer that neither leaves nor reaches the key's locations."""
    origin = () if transfer.origin is None else (transfer.origin,)
    principal.reaches((*origin, transfer.destination), field=field)
