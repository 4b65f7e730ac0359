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
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    pool_size: int = Field(20, ge=1, le=500)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    idempotency_ttl_hours: int = Field(24, ge=24)
    shipment_cost: float = Field(5.0, ge=0, description="Sourcing: estimated cost of a shipment")
    cost_per_km: float = Field(
        0.02, ge=0, description="Sourcing: estimated cost per km from the location to the customer"
    )
    pickup_expiry_days: int = Field(
        7, ge=1, le=365, description="Days a pickup order waits, ready, before it expires"
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
