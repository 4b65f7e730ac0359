"""Settings, from the environment (`OMNISTOCK_*`) or from the command line's flags."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from omnistock.domain.orders import OrderPolicy
from omnistock.domain.sourcing import Costs


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMNISTOCK_", extra="ignore")

    database_url: str = Field(
        "sqlite:///./omnistock.db",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    admin_key: SecretStr | None = Field(
        None, description="Bearer key with every scope; generated and printed by serve if unset"
    )
    session_secret: SecretStr | None = Field(
        None,
        description="Signs the console's session cookies; serve makes a random one if unset "
        "(sessions then end when it restarts)",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    pool_size: int = Field(20, ge=1, le=500)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    max_import_bytes: int = Field(
        2 * 1024**3,
        ge=1024,
        description="Largest body of a streamed import (POST /v1/imports/...), in bytes",
    )
    idempotency_ttl_hours: int = Field(24, ge=24)
    shipment_cost: float = Field(5.0, ge=0, description="Sourcing: estimated cost of a shipment")
    cost_per_km: float = Field(
        0.02, ge=0, description="Sourcing: estimated cost per km from the location to the customer"
    )
    pickup_expiry_days: int = Field(
        7, ge=1, le=365, description="Days a pickup order waits, ready, before it expires"
    )
    stream_heartbeat_seconds: float = Field(
        15.0,
        gt=0,
        le=15,
        description="Live stream: a comment line after this many seconds without an event",
    )
    stream_poll_seconds: float = Field(
        0.25,
        gt=0,
        le=1,
        description="Live stream: how often each server process reads the event feed",
    )
    deliver_webhooks: bool = Field(
        True, description="serve starts a webhook deliverer process beside its workers"
    )
    webhook_retry_base_seconds: float = Field(
        5.0, ge=0, le=3600, description="Webhooks: the first retry delay; later ones are multiples"
    )
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, le=60, description="Webhooks: a receiver answers within this or is retried"
    )
    webhook_poll_seconds: float = Field(
        0.5, gt=0, le=60, description="Webhooks: how often the deliverer looks for new events"
    )
    webhook_lease_seconds: float = Field(
        10.0, gt=0, le=600, description="Webhooks: a deliverer silent this long is taken over"
    )
    webhook_concurrency: int = Field(
        8, ge=1, le=256, description="Webhooks: how many receivers are called at once"
    )
    metrics: bool = Field(True, description="Serve GET /metrics (Prometheus text format)")
    log_format: Literal["text", "json"] = Field(
        "text", description="json: one JSON line per request (and per log record)"
    )

    def order_policy(self) -> OrderPolicy:
        costs = Costs(per_shipment=self.shipment_cost, per_km=self.cost_per_km)
        return OrderPolicy(costs=costs, pickup_expiry_days=self.pickup_expiry_days)

    @field_validator("admin_key", mode="before")
    @classmethod
    def _empty_key_is_no_key(cls, value: object) -> object:
        return None if value == "" else value
