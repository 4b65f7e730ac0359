"""How much each channel may sell: pools, buffer rules, sellable units and available-to-sell.

    sellable at (channel, location, item) = max(0, available - buffer)
    available to sell (ATS) for (channel, item) = sum of sellable over the channel's pool

A buffer rule keeps units back from a channel: a number of `units`, or a `percent` of what is
available at the location (rounded up). It matches on any of channel, location, location
type and sku; where several match, the most specific wins (sku 8, location 4, location type
2, channel 1, added up), and among equally specific rules the newest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from omnistock.domain.catalog import Location, LocationType

#: Percentages are kept in basis points (hundredths of a percent) so that rounding is exact.
BASIS_POINTS = 10_000


@dataclass(frozen=True, slots=True)
class Channel:
    """Where a sale is made, and the locations it may sell from."""

    code: str
    name: str
    location_types: tuple[LocationType, ...] = ()
    locations: tuple[str, ...] = ()

    def pool(self, candidates: Iterable[Location]) -> list[Location]:
        """The active locations this channel sells from, by code.

        Listed locations and locations of the listed types; with neither listed, every
        ship-enabled location.
        """
        if not self.location_types and not self.locations:
            chosen = [loc for loc in candidates if loc.active and loc.ship_enabled]
        else:
            chosen = [
                loc
                for loc in candidates
                if loc.active and (loc.code in self.locations or loc.type in self.location_types)
            ]
        return sorted(chosen, key=lambda loc: loc.code)


@dataclass(frozen=True, slots=True)
class BufferRule:
    """Units kept back from a channel. Exactly one of `units` and `basis_points` is set."""

    id: int
    channel: str | None = None
    location: str | None = None
    location_type: LocationType | None = None
    sku: str | None = None
    units: int | None = None
    basis_points: int | None = None

    @property
    def specificity(self) -> int:
        return (
            8 * (self.sku is not None)
            + 4 * (self.location is not None)
            + 2 * (self.location_type is not None)
            + 1 * (self.channel is not None)
        )

    def matches(self, *, channel: str, location: Location, sku: str) -> bool:
        return (
            (self.channel is None or self.channel == channel)
            and (self.location is None or self.location == location.code)
            and (self.location_type is None or self.location_type == location.type)
            and (self.sku is None or self.sku == sku)
        )

    def units_kept(self, available: int) -> int:
        """The buffer at a location where `available` units are available."""
        if self.units is not None:
            return self.units
        assert self.basis_points is not None
        return -(-max(available, 0) * self.basis_points // BASIS_POINTS)  # rounded up


def winning_rule(
    rules: Iterable[BufferRule], *, channel: str, location: Location, sku: str
) -> BufferRule | None:
    """The rule that applies: the most specific match, the newest among equals."""
    matching = [r for r in rules if r.matches(channel=channel, location=location, sku=sku)]
    return max(matching, key=lambda r: (r.specificity, r.id), default=None)


@dataclass(frozen=True, slots=True)
class LocationAvailability:
    location: str
    available: int
    buffer: int
    sellable: int


def sellable(available: int, buffer: int) -> int:
    return max(0, available - buffer)


def availability(
    *,
    channel: str,
    sku: str,
    pool: Sequence[Location],
    available: dict[str, int],
    rules: Iterable[BufferRule],
) -> tuple[int, list[LocationAvailability]]:
    """ATS of `sku` on `channel`, and the breakdown per location of its pool.

    `available` maps location codes to available units; a location without a position has 0.
    """
    rules = list(rules)
    breakdown = []
    for location in pool:
        units = available.get(location.code, 0)
        rule = winning_rule(rules, channel=channel, location=location, sku=sku)
        buffer = rule.units_kept(units) if rule else 0
        breakdown.append(
            LocationAvailability(location.code, units, buffer, sellable(units, buffer))
        )
    return sum(entry.sellable for entry in breakdown), breakdown
