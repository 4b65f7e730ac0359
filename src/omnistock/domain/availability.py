"""How much each channel may sell: pools, buffer rules, sellable units and available-to-sell.

    sellable at (channel, location, item) = max(0, available - buffer)
    available to sell (ATS) for (channel, item) = sum of sellable over the channel's pool

A buffer rule keeps units back from a channel: a number of `units`, or a `percent` of what is
available at the location (rounded up). It matches on any of channel, location, location
type and sku; where several match, the most specific wins (sku 8, location 4, location type
2, channel 1, added up), and among equally specific rules the newest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from omnistock.domain.catalog import Location, LocationType
from omnistock.domain.reservations import preferred

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
    return _newest_most_specific(
        r for r in rules if r.matches(channel=channel, location=location, sku=sku)
    )


def _newest_most_specific(rules: Iterable[BufferRule]) -> BufferRule | None:
    return max(rules, key=lambda r: (r.specificity, r.id), default=None)


class LocationAvailability(NamedTuple):
    """What a channel may sell at one location (a tuple: a pool may have thousands)."""

    location: str
    available: int
    buffer: int
    sellable: int


def kept(rule: BufferRule | None, available: int) -> int:
    """The buffer `rule` keeps back where `available` units are available (none without)."""
    return rule.units_kept(available) if rule else 0


def sellable(available: int, buffer: int) -> int:
    return max(0, available - buffer)


class Rulebook:
    """Locations, channels and the rules without a sku, resolved once for many questions.

    Each channel's pool is worked out once, and at every location the winning rule
    among those without a sku. A rule naming the sku always outranks those (specificity 8 or
    more against 7 at most), so the rule at (channel, location, sku) is the winner among the
    sku's own rules and that one: what `winning_rule` would pick among all of them.
    `revision` says which stored configuration this is.
    """

    def __init__(
        self,
        revision: int,
        *,
        locations: Iterable[Location],
        channels: Iterable[Channel],
        rules: Iterable[BufferRule],
    ) -> None:
        self.revision = revision
        self.locations = {loc.code: loc for loc in locations}
        self.channels = {channel.code: channel for channel in channels}
        self.pools = {code: c.pool(self.locations.values()) for code, c in self.channels.items()}
        self._pool_at = {code: {loc.code: loc for loc in pool} for code, pool in self.pools.items()}
        #: The order a hold draws from each pool when the customer's place is not known.
        self.hold_order = {code: preferred(pool, None) for code, pool in self.pools.items()}
        self._general: dict[tuple[str, str], BufferRule | None] = {}
        by_location: dict[str | None, list[BufferRule]] = {}
        for rule in (r for r in rules if r.sku is None):
            by_location.setdefault(rule.location, []).append(rule)
        # At every location, not only the pool's: a click & collect order draws on its pickup
        # store under the channel's buffers there, whether or not the channel ships from it.
        for code in self.channels:
            for loc in self.locations.values():
                candidates = by_location.get(loc.code, []) + by_location.get(None, [])
                self._general[code, loc.code] = winning_rule(
                    candidates, channel=code, location=loc, sku=""
                )

    def in_pool(self, channel: str, location: str) -> bool:
        return location in self._pool_at[channel]

    def resolver(
        self, channel: str, sku: str, sku_rules: Iterable[BufferRule]
    ) -> Callable[[Location], BufferRule | None]:
        """The rule for `sku` at any location on `channel`, given the rules naming
        skus (others' are ignored), each found in a few steps.

        Of the sku's own rules, one naming the location (12 or more) beats every other, and
        among the rest those of the location's type or of any type are the same wherever
        the type is the same.
        """
        general = self._general
        own = [r for r in sku_rules if r.sku == sku and r.channel in (None, channel)]
        if not own:
            return lambda location: general[channel, location.code]
        at_location: dict[str, list[BufferRule]] = {}
        for rule in own:
            if rule.location is not None:
                at_location.setdefault(rule.location, []).append(rule)
        of_type = {
            type_: _newest_most_specific(
                r for r in own if r.location is None and r.location_type in (None, type_)
            )
            for type_ in LocationType
        }

        def rule_at(location: Location) -> BufferRule | None:
            here = at_location.get(location.code)
            if here:
                named = [r for r in here if r.location_type in (None, location.type)]
                if named:
                    return _newest_most_specific(named)
            return of_type[location.type] or general[channel, location.code]

        return rule_at

    def breakdown(
        self,
        channel: str,
        sku: str,
        available: dict[str, int],
        sku_rules: Sequence[BufferRule],
        *,
        only: str | None = None,
    ) -> tuple[int, list[LocationAvailability]]:
        """ATS of `sku` on `channel`, and the breakdown at every location of its pool (only
        at `only` when given). `available` maps location codes to available units; a
        location without a position has 0."""
        entries = []
        rule_at = self.resolver(channel, sku, sku_rules)
        for location in self.pools[channel]:
            if only is not None and location.code != only:
                continue
            units = available.get(location.code, 0)
            buffer = kept(rule_at(location), units)
            entries.append(
                LocationAvailability(location.code, units, buffer, sellable(units, buffer))
            )
        return sum(entry.sellable for entry in entries), entries

    def sellable_at(
        self, channel: str, location: str, sku: str, units: int, sku_rules: Sequence[BufferRule]
    ) -> int:
        """What `channel` may sell of `sku` at `location`, a place of its pool, where `units`
        are available: the same figure as that location's entry in `breakdown`."""
        rule = self.resolver(channel, sku, sku_rules)(self._pool_at[channel][location])
        return sellable(units, kept(rule, units))

    def available_to_sell(
        self, channel: str, sku: str, available: dict[str, int], sku_rules: Sequence[BufferRule]
    ) -> int:
        """ATS of `sku` on `channel`: the same sum as `breakdown`, over the stocked locations
        only (a location with nothing available sells nothing, whatever its buffer)."""
        total = 0
        pool = self._pool_at[channel]
        rule_at = self.resolver(channel, sku, sku_rules)
        for code, units in available.items():  # the hot loop of publishing: no tuple a location
            location = pool.get(code)
            if units > 0 and location is not None:
                rule = rule_at(location)
                total += sellable(units, kept(rule, units))
        return total

    def sellable(
        self,
        channel: str,
        available: Mapping[str, Mapping[str, int]],
        sku_rules: Mapping[str, Sequence[BufferRule]],
        *,
        at: Mapping[str, Location] | None = None,
    ) -> dict[tuple[str, str], tuple[int, BufferRule | None]]:
        """What `channel` may sell of each sku (`available` maps skus to units by location)
        at each location of `at`, or of its pool, where it may sell any: the units and the
        buffer rule that says so, by (location, sku). The one reckoning of holds and orders.

        A plain loop building a dict: sourcing calls it on every order, for every stocked
        (location, sku) of the pool (10,000 for 10 lines over 1,000 locations).
        """
        places = self._pool_at[channel] if at is None else at
        found: dict[tuple[str, str], tuple[int, BufferRule | None]] = {}
        for sku, units_at in available.items():
            rule_at = self.resolver(channel, sku, sku_rules[sku])
            for code, units in units_at.items():
                if units > 0 and (location := places.get(code)) is not None:
                    rule = rule_at(location)
                    left = sellable(units, kept(rule, units))
                    if left:
                        found[code, sku] = (left, rule)
        return found
