"""One API key of each role for the demo retailer, so that each can be tried at once."""

from __future__ import annotations

from typing import Any

from omnistock.db import UnitOfWork
from omnistock.domain.access import Role
from omnistock.domain.catalog import LocationType
from omnistock.services import access

#: The channel the demo's integration key sells on.
DEMO_INTEGRATION_CHANNEL = "marketplace-fashion"


def make_demo_keys(uow: UnitOfWork) -> list[dict[str, Any]]:
    """A new key of each role (replacing the demo's earlier ones): admin, viewer, an
    integration key for the fashion marketplace, a store key for the first store."""
    stores = sorted(
        location.code
        for location in uow.catalog.list_locations()
        if location.type is LocationType.STORE
    )
    wanted = [
        access.NewKey("demo admin", Role.ADMIN),
        access.NewKey("demo viewer", Role.VIEWER),
        access.NewKey(
            "demo marketplace connector", Role.INTEGRATION, channel=DEMO_INTEGRATION_CHANNEL
        ),
        access.NewKey(f"demo store tablet ({stores[0]})", Role.STORE, locations=stores[:1]),
    ]
    return [access.create(uow, new, key_id=f"demo-{new.role}") for new in wanted]
