"""The items a demo of a given size plans from the range, each with a shelf price and an
EAN-13 barcode from the demo's own range of them."""

from __future__ import annotations

import dataclasses
import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import product

from omnistock.demo.catalogue import Axis, Option, Style, catalogue
from omnistock.domain.catalog import Item
from omnistock.domain.errors import InvalidInput


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
