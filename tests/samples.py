"""A small catalogue the database tests share: one item in two variants, a store, a warehouse.

Importable from every test module (pytest puts this folder on sys.path with its conftest).
"""

from __future__ import annotations

from decimal import Decimal

from omnistock.domain.catalog import Item, Location, LocationType

TEE = Item(sku="TEE-M", name="T-shirt, size M", barcode="4006381333931", price=Decimal("19.90"))
CAP = Item(sku="CAP-1", name="Cap")
STORE = Location(
    code="PAR-01",
    name="Paris Rivoli",
    type=LocationType.STORE,
    lat=48.8606,
    lon=2.3376,
    ship_enabled=True,
    pickup_enabled=True,
    daily_capacity=40,
    priority=10,
)
WAREHOUSE = Location(
    code="WH-LYON",
    name="Lyon warehouse",
    type=LocationType.WAREHOUSE,
    lat=45.764,
    lon=4.8357,
    ship_enabled=True,
    pickup_enabled=False,
)

#: A customer and her address, as an order's body carries them.
CUSTOMER = {"name": "Camille Martin", "email": "camille.martin@example.fr"}
#: 4.3 km from the Lyon warehouse, 4.8 km from the Lyon store, 392 km from Paris.
VILLEURBANNE = {
    "line1": "12 cours Emile Zola",
    "city": "Villeurbanne",
    "postcode": "69100",
    "country": "FR",
    "lat": 45.7719,
    "lon": 4.8902,
}
