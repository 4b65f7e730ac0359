"""Items and locations: what is sold and where stock is held."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from omnistock.domain.errors import InvalidInput


class LocationType(enum.StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"


@dataclass(frozen=True, slots=True)
class Item:
    """A sellable product variant."""

    sku: str
    name: str
    barcode: str | None = None
    price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """A place that holds stock."""

    code: str
    name: str
    type: LocationType
    lat: float
    lon: float
    ship_enabled: bool
    pickup_enabled: bool
    daily_capacity: int | None = None
    priority: int = 100
    active: bool = True


def one_line_a_sku(skus: Iterable[str]) -> None:
    """The skus of a request's lines, each on one line only (else InvalidInput naming the
    line that repeats one)."""
    seen: dict[str, int] = {}
    for index, sku in enumerate(skus):
        if sku in seen:
            raise InvalidInput(
                f"lines[{index}].sku", f"{sku!r} is already on lines[{seen[sku]}]: one line a sku"
            )
        seen[sku] = index


def lines_are_items(skus: Sequence[str], known: set[str]) -> None:
    """InvalidInput naming `lines[i].sku` for the first of `skus` not in `known`."""
    for index, sku in enumerate(skus):
        if sku not in known:
            raise InvalidInput(f"lines[{index}].sku", f"item {sku!r} does not exist")


def words(text: str) -> list[str]:
    """The words of `text` as search compares them: decomposed (NFKD), without combining
    marks (accents), case-folded, split on every character that is not a letter or a digit.
    "Tee-shirt BLEU" and "tee shirt bleu" have the same words; so have "Été" and "ete"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    # casefold may decompose again (a few ligatures): normalise once more, still markless
    bare = "".join(c for c in unicodedata.normalize("NFKD", bare) if not unicodedata.combining(c))
    found: list[str] = []
    current: list[str] = []
    for char in bare:
        if char.isalnum():
            current.append(char)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return found


def searchable(name: str) -> str:
    """What an item's `search_words` column holds: the words of its name, each after one
    space (" tee shirt bleu"), so that "word starts with w" is `LIKE '% w%'`."""
    return "".join(f" {word}" for word in words(name))


@dataclass(frozen=True, slots=True)
class Search:
    """What `q` finds among items or locations: those whose key starts with `q` exactly, or
    whose name has, for every word of `q`, a word starting with it (see `words`).

    The database does the same with `searchable` columns; `finds` is the rule itself."""

    text: str

    @property
    def words(self) -> list[str]:
        return words(self.text)

    def finds(self, key: str, name: str) -> bool:
        if key.startswith(self.text):
            return True
        wanted = self.words
        have = words(name)
        return bool(wanted) and all(any(w.startswith(x) for w in have) for x in wanted)
