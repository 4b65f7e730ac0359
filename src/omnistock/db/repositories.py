"""The repositories a unit of work offers services: the SQL of `omnistock.db`, by resource.

Each repository binds the functions of one SQL module to the transaction it belongs to, so a
service writes `uow.stock.reserve(...)` rather than `stock_sql.reserve(uow.conn, ...)`, and
needs no SQLAlchemy. Every resource has a read-only repository (`StockReads`, what a
`ReadUnit` offers: the API's reads) and a full one that adds the writes (`Stock`, what a
`UnitOfWork` offers). The classes are the contract: an in-memory fake implements the same
methods (tests/unit/fakes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection

from omnistock.db import (
    bulk,
    catalog,
    channels,
    configuration,
    cursors,
    feeds,
    idempotency,
    imports,
    keys,
    listings,
    outbox,
)
from omnistock.db import orders as orders_sql
from omnistock.db import reservations as holds_sql
from omnistock.db import returns as returns_sql
from omnistock.db import stock as stock_sql
from omnistock.db import transfers as transfers_sql
from omnistock.db import webhooks as webhooks_sql

if TYPE_CHECKING:
    from omnistock.db.uow import ReadUnit, UnitOfWork

P = ParamSpec("P")
R = TypeVar("R")


class Repository:
    """SQL functions of one resource, bound to one transaction."""

    def __init__(self, unit: ReadUnit) -> None:
        self.conn: Connection = unit.conn


class WriteRepository(Repository):
    """A repository whose writes may need the unit of work itself (its clock, its caches)."""

    def __init__(self, unit: UnitOfWork) -> None:
        super().__init__(unit)
        self.uow = unit


def _on_conn(
    fn: Callable[Concatenate[Connection, P], R],
) -> Callable[Concatenate[Repository, P], R]:
    """`fn(conn, ...)` as a method: the repository's connection goes first."""

    def method(self: Repository, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return fn(self.conn, *args, **kwargs)

    method.__name__, method.__doc__ = fn.__name__, fn.__doc__
    return method


def _on_uow(
    fn: Callable[Concatenate[UnitOfWork, P], R],
) -> Callable[Concatenate[WriteRepository, P], R]:
    """`fn(uow, ...)` as a method: for writes that learn keys or note a configuration change."""

    def method(self: WriteRepository, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return fn(self.uow, *args, **kwargs)

    method.__name__, method.__doc__ = fn.__name__, fn.__doc__
    return method


class CatalogReads(Repository):
    get_item = _on_conn(catalog.get_item)
    known_skus = _on_conn(catalog.known_skus)
    get_location = _on_conn(catalog.get_location)
    list_locations = _on_conn(catalog.list_locations)
    list_items = _on_conn(listings.list_items)
    locations_after = _on_conn(listings.locations_after)


class Catalog(CatalogReads, WriteRepository):
    put_item = _on_uow(catalog.put_item)
    put_location = _on_uow(catalog.put_location)
    require_item = _on_uow(catalog.require_item)
    require_line_items = _on_uow(catalog.require_line_items)
    require_location = _on_uow(catalog.require_location)


class ChannelsReads(Repository):
    get_channel = _on_conn(channels.get_channel)
    list_channels = _on_conn(channels.list_channels)
    get_rule = _on_conn(channels.get_rule)
    list_rules = _on_conn(channels.list_rules)
    published_page = _on_conn(feeds.published_page)
    out_of_stock = _on_conn(feeds.out_of_stock)


class Channels(ChannelsReads, WriteRepository):
    put_channel = _on_uow(channels.put_channel)
    add_rule = _on_uow(channels.add_rule)
    delete_rule = _on_uow(channels.delete_rule)
    lock_published = _on_conn(channels.lock_published)
    publish = _on_conn(channels.publish)
    republishing = _on_conn(configuration.republishing)
    record_republished = _on_conn(configuration.record_republished)


class StockReads(Repository):
    read_position = _on_conn(stock_sql.read_position)
    positions_of = _on_conn(stock_sql.positions_of)
    ledger = _on_conn(stock_sql.ledger)
    drifts = _on_conn(stock_sql.drifts)
    positions_page = _on_conn(feeds.positions_page)
    available_at = _on_conn(stock_sql.available_at)
    stocked_skus = _on_conn(stock_sql.stocked_skus)
    positions_at = _on_conn(listings.positions_at)
    expired_holds_at = _on_conn(listings.expired_holds_at)


class Stock(StockReads, WriteRepository):
    lock_position = _on_conn(stock_sql.lock_position)
    lock_positions = _on_conn(stock_sql.lock_positions)
    apply_deltas = _on_conn(stock_sql.apply_deltas)
    reserve = _on_conn(stock_sql.reserve)
    append_movement = _on_conn(stock_sql.append_movement)
    append_movements = _on_conn(stock_sql.append_movements)


class BulkReads(Repository):
    """What a bulk load left behind (the demo's summary)."""

    stock_totals = _on_conn(bulk.stock_totals)


class Bulk(BulkReads, WriteRepository):
    """Loading many rows at once (the demo, imports)."""

    put_items = _on_conn(bulk.put_items)
    lock_loader = _on_conn(bulk.lock_loader)
    has_movements = _on_conn(bulk.has_movements)


class Imports(WriteRepository):
    """Import files: staged in temporary tables, checked and applied set-based."""

    claim = _on_conn(imports.claim)
    record = _on_conn(imports.record)
    existing_items = _on_conn(imports.existing_items)
    open_stock_stage = _on_conn(imports.open_stock_stage)
    stage_stock = _on_conn(imports.stage_stock)
    index_stock_stage = _on_conn(imports.index_stock_stage)
    stock_stage_errors = _on_conn(imports.stock_stage_errors)
    complete_stock_stage = _on_conn(imports.complete_stock_stage)
    apply_stock = _on_conn(imports.apply_stock)
    close_stock_stage = _on_conn(imports.close_stock_stage)
    release_stock_stage = _on_conn(imports.release_stock_stage)


class HoldsReads(Repository):
    get = _on_conn(holds_sql.get)
    expired_ids = _on_conn(holds_sql.expired_ids)
    holding_at = _on_conn(holds_sql.holding_at)


class Holds(HoldsReads, WriteRepository):
    add = _on_conn(holds_sql.add)
    end = _on_conn(holds_sql.end)
    lock = _on_conn(holds_sql.lock)


class OrdersReads(Repository):
    order_of_external_id = _on_conn(orders_sql.order_of_external_id)
    get_order = _on_conn(orders_sql.get_order)
    history = _on_conn(orders_sql.history)
    list_orders = _on_conn(orders_sql.list_orders)
    get_fulfilment = _on_conn(orders_sql.get_fulfilment)
    list_fulfilments = _on_conn(orders_sql.list_fulfilments)
    open_allocations = _on_conn(orders_sql.open_allocations)
    due_pickups = _on_conn(orders_sql.due_pickups)
    decisions = _on_conn(orders_sql.decisions)
    accepted_today = _on_conn(orders_sql.accepted_today)


class Orders(OrdersReads, WriteRepository):
    add_order = _on_conn(orders_sql.add_order)
    add_lines = _on_conn(orders_sql.add_lines)
    change_line = _on_conn(orders_sql.change_line)
    add_fulfilment = _on_conn(orders_sql.add_fulfilment)
    move_status = _on_conn(orders_sql.move_status)
    take_from_fulfilment = _on_conn(orders_sql.take_from_fulfilment)
    lock_order = _on_conn(orders_sql.lock_order)
    lock_orders = _on_conn(orders_sql.lock_orders)
    add_history = _on_conn(orders_sql.add_history)
    add_decision = _on_conn(orders_sql.add_decision)
    accept_fulfilment = _on_conn(orders_sql.accept_fulfilment)


class ReturnsReads(Repository):
    returned = _on_conn(returns_sql.returned)
    get = _on_conn(returns_sql.get)
    list_returns = _on_conn(returns_sql.list_returns)


class Returns(ReturnsReads, WriteRepository):
    add = _on_conn(returns_sql.add)


class TransfersReads(Repository):
    get = _on_conn(transfers_sql.get)
    list_transfers = _on_conn(transfers_sql.list_transfers)
    inbound = _on_conn(transfers_sql.inbound)
    open_from = _on_conn(transfers_sql.open_from)


class Transfers(TransfersReads, WriteRepository):
    add = _on_conn(transfers_sql.add)
    move_status = _on_conn(transfers_sql.move_status)
    set_received = _on_conn(transfers_sql.set_received)
    shrink = _on_conn(transfers_sql.shrink)
    lock = _on_conn(transfers_sql.lock)


class EventsReads(Repository):
    read = _on_conn(outbox.read)
    read_filtered = _on_conn(outbox.read_filtered)
    sequence = _on_conn(outbox.sequence)
    last_seq = _on_conn(outbox.last_seq)
    cursor = _on_conn(cursors.get)


class Events(EventsReads, WriteRepository):
    append = _on_conn(outbox.append)
    store_cursor = _on_conn(cursors.put)


class KeysReads(Repository):
    find_by_hash = _on_conn(keys.find_by_hash)
    get = _on_conn(keys.get)
    list_all = _on_conn(keys.list_all)


class Keys(KeysReads, WriteRepository):
    create = _on_conn(keys.create)
    delete = _on_conn(keys.delete)
    replace = _on_conn(keys.replace)
    touch = _on_conn(keys.touch)


class WebhooksReads(Repository):
    get = _on_conn(webhooks_sql.get)
    list_all = _on_conn(webhooks_sql.list_all)
    last_seq = _on_conn(webhooks_sql.last_seq)
    pending = _on_conn(webhooks_sql.pending)
    oldest_pending_at = _on_conn(webhooks_sql.oldest_pending_at)
    queued_pings = _on_conn(webhooks_sql.queued_pings)
    deliveries = _on_conn(webhooks_sql.deliveries)
    count_outcomes = _on_conn(webhooks_sql.count_outcomes)


class Webhooks(WebhooksReads, WriteRepository):
    add = _on_conn(webhooks_sql.add)
    change = _on_conn(webhooks_sql.change)
    remove = _on_conn(webhooks_sql.remove)
    advance = _on_conn(webhooks_sql.advance)
    postpone = _on_conn(webhooks_sql.postpone)
    give_up = _on_conn(webhooks_sql.give_up)
    record = _on_conn(webhooks_sql.record)
    queue_ping = _on_conn(webhooks_sql.queue_ping)
    settle = _on_conn(webhooks_sql.settle)
    take_lease = _on_conn(webhooks_sql.take_lease)
    release_lease = _on_conn(webhooks_sql.release_lease)


class Idempotency(WriteRepository):
    claim = _on_conn(idempotency.claim)
    store = _on_conn(idempotency.store)
    purge = _on_conn(idempotency.purge)
