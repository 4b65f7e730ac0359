"""The health check's answer."""

from __future__ import annotations

from omnistock.api.schemas.common import Model


class Health(Model):
    status: str
