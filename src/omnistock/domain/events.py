"""The names of the events in the feed (and, later, of webhooks and the stream): one
member each, so that a misspelt name cannot reach a subscriber."""

from __future__ import annotations

from enum import StrEnum


class Event(StrEnum):
    """What happened, as the feed names it: `<resource>.<change>`."""

    ITEM_CREATED = "item.created"
    ITEM_UPDATED = "item.updated"
    LOCATION_CREATED = "location.created"
    LOCATION_UPDATED = "location.updated"
    CHANNEL_CREATED = "channel.created"
    CHANNEL_UPDATED = "channel.updated"
    BUFFER_RULE_CREATED = "buffer_rule.created"
    BUFFER_RULE_DELETED = "buffer_rule.deleted"
    STOCK_CHANGED = "stock.changed"
    AVAILABILITY_CHANGED = "availability.changed"
    RESERVATION_CREATED = "reservation.created"
    RESERVATION_RELEASED = "reservation.released"
    RESERVATION_EXPIRED = "reservation.expired"
    RESERVATION_ORDERED = "reservation.ordered"
    ORDER_CREATED = "order.created"
    ORDER_CHANGED = "order.changed"
    ORDER_STATUS_CHANGED = "order.status_changed"
    ORDER_RESOURCED = "order.resourced"
    ORDER_BACKORDERED = "order.backordered"
    FULFILMENT_CHANGED = "fulfillment.changed"
    FULFILMENT_STATUS_CHANGED = "fulfillment.status_changed"
    RETURN_CREATED = "return.created"
    TRANSFER_CREATED = "transfer.created"
    TRANSFER_SHIPPED = "transfer.shipped"
    TRANSFER_RECEIVED = "transfer.received"
    TRANSFER_CHANGED = "transfer.changed"
    TRANSFER_CANCELLED = "transfer.cancelled"
    DEMO_LOADED = "demo.loaded"


#: Selects every event type.
EVERY_TYPE = "*"


def selected_types(patterns: list[str]) -> frozenset[Event]:
    """The event types a subscriber's patterns select: an exact type (`order.created`),
    every type of a resource (`order.*`), or every type (`*`).

    Raises `ValueError` naming the first pattern that selects no known type, so that a
    misspelt filter is refused rather than silently matching nothing.
    """
    chosen: set[Event] = set()
    for pattern in patterns:
        found = {event for event in Event if _selects(pattern, event)}
        if not found:
            raise ValueError(
                f"{pattern!r} is no event type: use an exact type such as 'order.created', "
                "a prefix such as 'order.*', or '*'"
            )
        chosen |= found
    return frozenset(chosen)


def _selects(pattern: str, event: Event) -> bool:
    if pattern == EVERY_TYPE:
        return True
    if pattern.endswith(".*"):
        return event.value.startswith(pattern[:-1])
    return event.value == pattern
