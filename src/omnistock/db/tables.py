"""The schema, as SQLAlchemy Core tables. Migrations in `migrations/` create exactly this."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

#: 64-bit keys, but SQLite only auto-increments a column declared exactly INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; omnistock stores UTC times only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


_CENT = Decimal("0.01")


class Cents(TypeDecorator[Decimal]):
    """Exact money on SQLite, which has no decimal type: integer cents, which sort right."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        return None if value is None else int(value.quantize(_CENT) * 100)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else (Decimal(value) / 100).quantize(_CENT)


Money = Numeric(14, 2).with_variant(Cents(), "sqlite")
#: Natural keys (skus, location codes) sort by code point on both backends, as SQLite does,
#: whatever the PostgreSQL database's locale.
Key = String(64).with_variant(String(64, collation="C"), "postgresql")

items = Table(
    "items",
    metadata,
    Column("sku", Key, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("barcode", String(64)),
    Column("price", Money),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    #: The words of the name as search compares them (domain.catalog.searchable), written
    #: with the name by every write of an item.
    Column("search_words", Text, nullable=False, server_default=text("''")),
    Index("ix_items_barcode", "barcode"),
)

locations = Table(
    "locations",
    metadata,
    Column("code", Key, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("type", String(16), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("ship_enabled", Boolean, nullable=False),
    Column("pickup_enabled", Boolean, nullable=False),
    Column("daily_capacity", Integer),
    Column("priority", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("type IN ('warehouse', 'store')", name="type"),
)

positions = Table(
    "positions",
    metadata,
    Column("sku", Key, ForeignKey("items.sku"), primary_key=True),
    Column("location", Key, ForeignKey("locations.code"), primary_key=True),
    Column("on_hand", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
    Column("unsellable", BigInteger, nullable=False),
    Column("inbound", BigInteger, nullable=False),
    # The last line of defence behind the guarded updates in omnistock.db.stock.
    CheckConstraint("unsellable >= 0 AND on_hand >= unsellable", name="physical"),
    CheckConstraint("reserved >= 0 AND inbound >= 0", name="non_negative"),
    Index("ix_positions_location", "location", "sku"),
)

movements = Table(
    "movements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("sku", Key, ForeignKey("items.sku"), nullable=False),
    Column("location", Key, ForeignKey("locations.code"), nullable=False),
    Column("type", String(32), nullable=False),
    Column("on_hand", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
    Column("unsellable", BigInteger, nullable=False),
    Column("inbound", BigInteger, nullable=False),
    Column("reason", String(200)),
    Column("reference", String(200)),
    Index("ix_movements_sku_location", "sku", "location", "id"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # Position in the feed, in commit order; NULL until sequenced (see omnistock.db.outbox).
    Column("seq", BigInteger, unique=True),
    # PostgreSQL: the writing transaction's id, which tells when it is safe to sequence.
    Column("xid", BigInteger),
    Column("type", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("data", JSON, nullable=False),
    Index(
        "ix_events_unsequenced",
        "id",
        postgresql_where=text("seq IS NULL"),
        sqlite_where=text("seq IS NULL"),
    ),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("owner", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer),
    Column("response", JSON),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_idempotency_keys_created_at", "created_at"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # A key made with `POST /v1/keys` has a role (its scopes follow from it, `scopes` is
    # empty) and, by role, the one channel or the locations it acts on. NULL role: a key
    # with exactly the stored `scopes` (the admin key `serve` generates).
    Column("role", String(16)),
    Column("channel", Key, ForeignKey("channels.code")),
    Column("locations", JSON),
    Column("last_used_at", UTCDateTime),
)

#: How far a reader outside the API (the NATS relay, ...) has read the event feed.
cursors = Table(
    "cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

#: A job that must run in one process at a time (the webhook deliverer, ...) holds its lease
#: row until `expires_at`, and renews it while it works; another process takes it over once
#: it expired.
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

channels = Table(
    "channels",
    metadata,
    Column("code", Key, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("location_types", JSON, nullable=False),
    Column("locations", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

buffer_rules = Table(
    "buffer_rules",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", Key, ForeignKey("channels.code")),
    Column("location", Key, ForeignKey("locations.code")),
    Column("location_type", String(16)),
    Column("sku", Key, ForeignKey("items.sku")),
    Column("units", BigInteger),
    Column("basis_points", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("(units IS NULL) <> (basis_points IS NULL)", name="one_amount"),
    Index("ix_buffer_rules_sku", "sku"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("channel", Key, ForeignKey("channels.code"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Index("ix_reservations_status_expires_at", "status", "expires_at"),
)

reservation_lines = Table(
    "reservation_lines",
    metadata,
    Column("reservation_id", String(36), ForeignKey("reservations.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("sku", Key, ForeignKey("items.sku"), nullable=False),
    Column("location", Key, ForeignKey("locations.code")),  # NULL: a line as asked
    Column("quantity", BigInteger, nullable=False),
    Index("ix_reservation_lines_sku", "sku"),
)

#: The available-to-sell last published per channel and item (availability.changed events).
channel_availability = Table(
    "channel_availability",
    metadata,
    Column("channel", Key, ForeignKey("channels.code"), primary_key=True),
    Column("sku", Key, ForeignKey("items.sku"), primary_key=True),
    Column("available_to_sell", BigInteger, nullable=False),
)

#: One row: a random revision, replaced by every change to locations, channels or buffer
#: rules, that tells each process whether the configuration it cached is still the stored one;
#: and how far the items' ATS have been published again since the last change.
configuration = Table(
    "configuration",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("revision", BigInteger, nullable=False),
    # The revision the last (or running) pass of republishing is for, and the last sku it
    # republished: NULL once that pass is over.
    Column("republished_revision", BigInteger),
    Column("republished_through", Key),
    CheckConstraint("id = 1", name="one_row"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", Key, ForeignKey("channels.code"), nullable=False),
    Column("external_id", String(100)),
    Column("customer", JSON, nullable=False),
    Column("delivery_method", String(16), nullable=False),
    Column("location", Key, ForeignKey("locations.code")),  # pickup and in_store
    Column("address", JSON),  # ship
    Column("currency", String(3), nullable=False),
    Column("reservation_id", String(36), ForeignKey("reservations.id")),
    Column("created_at", UTCDateTime, nullable=False),
    #: The customer's email, case-folded, for `GET /v1/orders?customer_email=`.
    Column("customer_email", String(254)),
    CheckConstraint("delivery_method IN ('ship', 'pickup', 'in_store')", name="delivery_method"),
    # The same order imported twice from a channel is the same order (NULLs never clash).
    Index("ix_orders_channel_external_id", "channel", "external_id", unique=True),
    Index("ix_orders_external_id", "external_id"),
    Index("ix_orders_customer_email", "customer_email"),
    Index("ix_orders_created_at", "created_at"),
)

#: What the customer asked for, and how much of it waits for stock or was cancelled: the
#: rest is in the order's fulfilments.
order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", BigId, ForeignKey("orders.id"), primary_key=True),
    Column("line", Integer, primary_key=True),
    Column("sku", Key, ForeignKey("items.sku"), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("backordered", BigInteger, nullable=False),
    Column("cancelled", BigInteger, nullable=False),
    CheckConstraint(
        "backordered >= 0 AND cancelled >= 0 AND backordered + cancelled <= quantity",
        name="units",
    ),
)

# The code spells fulfilment; the tables, like the API, keep the word they were created with.
fulfilments = Table(
    "fulfillments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("location", Key, ForeignKey("locations.code"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("carrier", String(100)),
    Column("tracking", String(100)),
    Column("reason", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status_at", UTCDateTime, nullable=False),
    Index("ix_fulfillments_order_id", "order_id"),
    Index("ix_fulfillments_location", "location", "status", "id"),
    Index("ix_fulfillments_status", "status", "status_at"),
)

fulfilment_lines = Table(
    "fulfillment_lines",
    metadata,
    Column("fulfillment_id", BigId, ForeignKey("fulfillments.id"), primary_key=True),
    Column("sku", Key, ForeignKey("items.sku"), primary_key=True),
    Column("quantity", BigInteger, nullable=False),
    CheckConstraint("quantity > 0", name="positive"),
    Index("ix_fulfillment_lines_sku", "sku", "fulfillment_id"),
)

#: Every sourcing decision of an order (placing it, a rejection, healing), explained.
sourcing_decisions = Table(
    "sourcing_decisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("trigger", String(32), nullable=False),
    Column("decision", JSON, nullable=False),
    Index("ix_sourcing_decisions_order_id", "order_id", "id"),
)

#: What happened to an order and why, in words, oldest first.
order_history = Table(
    "order_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("event", String(40), nullable=False),
    Column("detail", String(1000), nullable=False),
    Index("ix_order_history_order_id", "order_id", "id"),
)

#: Fulfilments each location with a daily capacity accepted per (UTC) day, counted by the
#: guarded statement that accepts one more.
fulfilment_capacity = Table(
    "fulfillment_capacity",
    metadata,
    Column("location", Key, ForeignKey("locations.code"), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("accepted", Integer, nullable=False),
)

#: Units of delivered or collected orders brought back to a location. The refund is not
#: stored: it follows from the lines (and may exceed what one money column holds).
returns = Table(
    "returns",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("location", Key, ForeignKey("locations.code"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_returns_order_id", "order_id", "id"),
    Index("ix_returns_location", "location", "id"),
)

return_lines = Table(
    "return_lines",
    metadata,
    Column("return_id", BigId, ForeignKey("returns.id"), primary_key=True),
    Column("line", Integer, primary_key=True),
    Column("sku", Key, ForeignKey("items.sku"), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("condition", String(16), nullable=False),
    Column("reason", String(200)),
    Column("unit_price", Money, nullable=False),  # the order line's, refunded per unit
    CheckConstraint("quantity > 0", name="positive"),
    CheckConstraint("condition IN ('sellable', 'damaged')", name="condition"),
)

#: Stock moving from a location (or announced by a supplier: no origin) to another.
transfers = Table(
    "transfers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("origin", Key, ForeignKey("locations.code")),  # NULL: a supplier's delivery
    Column("destination", Key, ForeignKey("locations.code"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("eta", UTCDateTime),
    Column("reference", String(200)),
    Column("reason", String(200)),  # why it carries fewer units than asked, or was cancelled
    Column("created_at", UTCDateTime, nullable=False),
    Column("shipped_at", UTCDateTime),
    Column("received_at", UTCDateTime),
    Column("cancelled_at", UTCDateTime),
    CheckConstraint("status IN ('open', 'shipped', 'received', 'cancelled')", name="status"),
    Index("ix_transfers_status", "status", "id"),
    Index("ix_transfers_origin", "origin", "status"),
    Index("ix_transfers_destination", "destination", "status"),
)

#: What a transfer carries (`quantity`: units it still carries; `requested`: as asked) and,
#: once received, what arrived.
transfer_lines = Table(
    "transfer_lines",
    metadata,
    Column("transfer_id", BigId, ForeignKey("transfers.id"), primary_key=True),
    Column("sku", Key, ForeignKey("items.sku"), primary_key=True),
    Column("requested", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("received", BigInteger),
    CheckConstraint(
        "quantity >= 0 AND quantity <= requested AND (received IS NULL OR received >= 0)",
        name="units",
    ),
    Index("ix_transfer_lines_sku", "sku", "transfer_id"),
)

#: Where events are POSTed (the Standard Webhooks way), and how far each webhook got:
#: `cursor` is the seq of the last event delivered or given up; `failures` counts the failed
#: tries of the event after it, the next of which is due at `next_try_at`.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False),
    Column("description", String(200)),
    Column("secret", String(100), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("cursor", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("next_try_at", UTCDateTime),
    Column("disabled_reason", String(200)),
)

#: Every try of a delivery (`seq` NULL: a ping), and the events given up on, as `failed`.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("webhook_id", BigId, ForeignKey("webhooks.id"), nullable=False),
    Column("seq", BigInteger),
    Column("type", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status_code", Integer),
    Column("error", String(200)),
    Column("duration_ms", Integer),
    Column("next_try_at", UTCDateTime),
    CheckConstraint("outcome IN ('delivered', 'retrying', 'failed', 'pending')", name="outcome"),
    Index("ix_webhook_deliveries_webhook_id", "webhook_id", "id"),
    Index("ix_webhook_deliveries_outcome", "outcome", "webhook_id"),
)

#: Imports made with an `Idempotency-Key` or a `snapshot_id`, and what each did: a file sent
#: again under the same key changes nothing and is answered this summary.
imports = Table(
    "imports",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("summary", JSON),
    #: SHA-256 of what was sent (the body and the options): the same key with another file is
    #: refused rather than answered the first file's summary.
    Column("fingerprint", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
)
