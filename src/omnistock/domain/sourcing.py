"""Sourcing: which locations fulfil an order, and why.

An order's lines are served from the channel's candidate locations in as few shipments as
possible, because every extra parcel costs the retailer a fixed fee and the customer a
second delivery. The search goes:

1. **single** - the locations that cover everything coverable on their own;
2. **pair** - two locations together, the cheapest pairs first, stopping as soon as no
   remaining pair can beat the best found (and after `max_pairs` combinations in any case);
3. **greedy** - for larger orders, repeatedly the location covering the most remaining units.

Among plans with as many shipments, the lowest estimated cost wins (a fixed part per shipment
plus a part per km to the customer), then the better location priorities (lower first), then
the location codes, so the same order over the same stock is always sourced the same way.
Within a plan, each line takes its units from the cheapest location of the plan first.

What no usable candidate can sell is backordered. The function is pure: the service layer
builds the candidates from the database and applies the plan with guarded SQL, which alone
decides whether the units are still there when the plan is applied.

A channel may have a thousand locations, and writing down why each one lost costs more than
choosing among them: the decision works out its record of every candidate (`considered`) when
it is first read, from figures the search already has.
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, overload

from omnistock.domain.catalog import Location
from omnistock.domain.geography import distance_to

CHOSEN, NOT_CHOSEN = "chosen", "not chosen"
AT_CAPACITY, EXCLUDED, NO_STOCK = "at capacity", "excluded", "no stock"
SINGLE, PAIR, GREEDY, NONE = "single", "pair", "greedy", "none"


@dataclass(frozen=True, slots=True)
class Costs:
    """Estimated cost of a shipment: a fixed part plus a part per km to the customer."""

    per_shipment: float = 5.0
    per_km: float = 0.02


@dataclass(frozen=True, slots=True)
class Candidate:
    """A location that might serve the order, with what the channel may still sell there.

    `sellable` maps skus to units (a missing sku has none; a negative number counts as
    none). `capacity_left` counts the fulfilments the location may still accept today
    (None: no limit); a plan asks at most one of each location. `excluded` says why it may
    not serve this order at all, for instance because it already rejected these lines.
    """

    location: Location
    sellable: Mapping[str, int]
    capacity_left: int | None = None
    excluded: str | None = None


@dataclass(frozen=True, slots=True)
class Shipment:
    """The lines one location ships, in the order's line order, every quantity above zero."""

    location: str
    lines: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Considered:
    """What the decision records of one candidate, so that anyone can see why it won or lost.

    `sellable` lists the order's skus only (0 where none); `covers` is the number of the
    order's units it could serve alone; `verdict` is one of "chosen", "not chosen",
    "at capacity", "excluded" and "no stock".
    """

    location: str
    distance_km: float | None
    cost: float
    priority: int
    sellable: dict[str, int]
    covers: int
    verdict: str
    why: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The plan (shipments by location code), the backorders and the explanation.

    `considered` holds every candidate passed in: the chosen ones first, then by cost, then
    by code. `source` gives a sequence that builds these records when first read; any
    sequence of them will do. `searched` counts the combinations examined; `bounded` says
    the pair search stopped at its bound, so a cheaper pair may exist beyond it.
    """

    plan: tuple[Shipment, ...]
    backorders: tuple[tuple[str, int], ...]
    considered: Sequence[Considered]
    strategy: str
    reason: str
    cost: float
    searched: int
    bounded: bool

    def as_dict(self) -> dict[str, Any]:
        """The decision in plain JSON types, as the API shows and the database stores it."""
        considered = self.considered
        return {
            "plan": [
                {"location": s.location, "lines": _lines_as_dicts(s.lines)} for s in self.plan
            ],
            "backorders": _lines_as_dicts(self.backorders),
            "considered": (
                considered.as_dicts()
                if isinstance(considered, _Explanation)
                else [_considered_as_dict(c) for c in considered]
            ),
            "strategy": self.strategy,
            "reason": self.reason,
            "cost": self.cost,
            "searched": self.searched,
            "bounded": self.bounded,
        }


_CONSIDERED_FIELDS = tuple(f.name for f in fields(Considered))


def _considered_as_dict(c: Considered) -> dict[str, Any]:
    return {name: getattr(c, name) for name in _CONSIDERED_FIELDS} | {"sellable": dict(c.sellable)}


def _lines_as_dicts(lines: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": quantity} for sku, quantity in lines]


def source(
    lines: Sequence[tuple[str, int]],
    candidates: Sequence[Candidate],
    *,
    ship_to: tuple[float, float] | None = None,
    costs: Costs = Costs(),
    max_pairs: int = 20_000,
) -> Decision:
    """Decide which candidates ship which lines: fewest shipments, then cheapest.

    `lines` name each sku once with a quantity above zero; `ship_to` is the customer's
    (lat, lon), without which every location is at distance 0 and only the number of
    shipments, priorities and codes tell them apart.
    """
    survey = _Survey(lines, candidates, ship_to, costs)
    plan, strategy, searched, bounded = _search(survey, max_pairs)
    shipments = [s for s in survey.split(plan) if s.lines]
    shipping = {s.location for s in shipments}
    chosen = [i for i in plan if survey.codes[i] in shipping]
    return Decision(
        plan=tuple(sorted(shipments, key=lambda s: s.location)),
        backorders=survey.backorders(),
        considered=_Explanation(survey, chosen, strategy),
        strategy=strategy,
        reason=_reason(survey, chosen, strategy, searched, bounded, max_pairs),
        cost=survey.plan_rank(chosen)[0],
        searched=searched,
        bounded=bounded,
    )


class _Survey:
    """The candidates reduced to plain vectors, so the search allocates nothing per pair.

    Candidate `i` sells `units[i][k]` of line `k` (`columns[k][i]`). `usable` lists those
    that may ship something (`blocked` those that may not, whatever their stock), `covering`
    those that cover alone everything coverable (`target`, per line). The distance to the
    customer, the slow part of a cost, is worked out only for the candidates the search
    compares (`price`), and for the others when the decision is read.
    """

    def __init__(
        self,
        lines: Sequence[tuple[str, int]],
        candidates: Sequence[Candidate],
        ship_to: tuple[float, float] | None,
        costs: Costs,
    ) -> None:
        self.skus = [sku for sku, _ in lines]
        self.wanted = [quantity for _, quantity in lines]
        self.codes = [c.location.code for c in candidates]
        if len(set(self.skus)) != len(self.skus) or any(q <= 0 for q in self.wanted):
            raise ValueError("sourcing needs each sku once, with a quantity above zero")
        if len(set(self.codes)) != len(self.codes):
            raise ValueError("sourcing needs each candidate location once")
        self.candidates, self.ship_to, self.costs = candidates, ship_to, costs
        self.distance: list[float | None] = [None] * len(candidates)
        self.cost = [costs.per_shipment] * len(candidates)
        self._priced = bytearray(len(candidates)) if ship_to is not None else None
        self._km: Callable[[float, float], float] | None = None
        # Read line by line: one pass per sku over bound `get`s is the cheapest way Python
        # has to read a thousand mappings.
        getters = [c.sellable.get for c in candidates]
        columns = [[get(sku, 0) for get in getters] for sku in self.skus]
        columns = [c if not c or min(c) >= 0 else [max(0, u) for u in c] for c in columns]
        self.columns = columns
        self.units: list[tuple[int, ...]] = (
            list(zip(*columns, strict=True)) if columns else [()] * len(candidates)
        )
        self.blocked = _blocked(candidates)
        may_ship = list(map(any, self.units))  # units are never negative: any stock at all
        for i in self.blocked:
            may_ship[i] = False
        self.usable = list(itertools.compress(range(len(candidates)), may_ship))
        totals = [sum(itertools.compress(column, may_ship)) for column in columns]
        self.target = list(map(min, self.wanted, totals))
        self.covering = self.usable
        for column, target in zip(columns, self.target, strict=True):
            self.covering = [i for i in self.covering if column[i] >= target]

    def price(self, indices: Iterable[int]) -> None:
        """Work out the distance and cost of shipping from these candidates, once each."""
        priced, ship_to = self._priced, self.ship_to
        if priced is None or ship_to is None:
            return
        per_shipment, per_km = self.costs.per_shipment, self.costs.per_km
        if self._km is None:
            self._km = distance_to(ship_to)
        km_from = self._km
        for i in indices:
            if not priced[i]:
                location = self.candidates[i].location
                km = km_from(location.lat, location.lon)
                self.distance[i], self.cost[i], priced[i] = km, per_shipment + per_km * km, 1

    def rank(self, i: int) -> tuple[float, int, str]:
        """How single locations compare: cost, then priority, then code (priced first)."""
        return (self.cost[i], self.candidates[i].location.priority, self.codes[i])

    def ranked(self, indices: Sequence[int]) -> list[int]:
        """These candidates best first, as `rank` orders them (priced first). Costs rarely
        tie when the customer's place is known, and then the cost alone orders them."""
        by_cost = sorted(indices, key=self.cost.__getitem__)
        if len(set(map(self.cost.__getitem__, by_cost))) == len(by_cost):
            return by_cost
        return sorted(by_cost, key=self.rank)

    def plan_rank(self, plan: Sequence[int]) -> tuple[float, list[int], list[str]]:
        """How plans of as many shipments compare: cost, then priorities, then codes."""
        return (
            sum(sorted(self.cost[i] for i in plan), 0.0),
            sorted(self.candidates[i].location.priority for i in plan),
            sorted(self.codes[i] for i in plan),
        )

    def covers_alone(self) -> list[int]:
        """Per candidate, the units of the order it could serve on its own."""
        capped = [
            [u if u < w else w for u in column]
            for column, w in zip(self.columns, self.wanted, strict=True)
        ]
        return list(map(sum, zip(*capped, strict=True))) if capped else [0] * len(self.codes)

    def covers_target(self, plan: Sequence[int]) -> bool:
        given = [sum(line) for line in zip(*(self.units[i] for i in plan), strict=True)]
        return bool(given) and all(map(operator.ge, given, self.target))

    def split(self, plan: Sequence[int]) -> list[Shipment]:
        """The plan's shipments: each line takes its units from the cheapest location first."""
        remaining = list(self.target)
        lines: dict[int, tuple[tuple[str, int], ...]] = {}
        for i in sorted(plan, key=self.rank):
            taken = list(map(min, self.units[i], remaining))
            remaining = list(map(operator.sub, remaining, taken))
            lines[i] = tuple((sku, q) for sku, q in zip(self.skus, taken, strict=True) if q > 0)
        return [Shipment(self.codes[i], lines[i]) for i in plan]

    def backorders(self) -> tuple[tuple[str, int], ...]:
        return tuple(
            (sku, wanted - target)
            for sku, wanted, target in zip(self.skus, self.wanted, self.target, strict=True)
            if wanted > target
        )


def _blocked(candidates: Sequence[Candidate]) -> dict[int, str]:
    """The candidates that may not ship this order whatever their stock, and why."""
    blocked: dict[int, str] = {}
    excluded = list(map(operator.attrgetter("excluded"), candidates))
    if excluded.count(None) != len(candidates):
        blocked.update((i, EXCLUDED) for i, why in enumerate(excluded) if why is not None)
    capacity = list(map(operator.attrgetter("capacity_left"), candidates))
    if capacity.count(None) != len(candidates):
        full = (i for i, left in enumerate(capacity) if left is not None and left <= 0)
        blocked.update((i, AT_CAPACITY) for i in full if i not in blocked)
    return blocked


def _search(survey: _Survey, max_pairs: int) -> tuple[list[int], str, int, bool]:
    """The plan (candidate indices), its strategy, the combinations examined, and whether the
    pair search hit its bound."""
    if not survey.usable:
        return [], NONE, 0, False
    if survey.covering:
        survey.price(survey.covering)
        return [min(survey.covering, key=survey.rank)], SINGLE, len(survey.usable), False
    survey.price(survey.usable)
    order = survey.ranked(survey.usable)
    columns = _capped_columns(survey, order)
    gains = list(map(sum, zip(*columns, strict=True)))  # the units each could give
    pair, examined, bounded = _best_pair(survey, order, columns, gains, max_pairs)
    searched = len(order) + examined
    if pair is not None:
        return list(pair), PAIR, searched, bounded
    return _greedy(survey, order, columns, gains), GREEDY, searched, bounded


def _capped_columns(survey: _Survey, order: Sequence[int]) -> list[list[int]]:
    """Per line, what each candidate of `order` could give of it: no more than coverable."""
    columns = []
    pick = operator.itemgetter(*order) if len(order) > 1 else lambda c: (c[order[0]],)
    for column, target in zip(survey.columns, survey.target, strict=True):
        ordered = list(pick(column))
        if max(ordered) > target:
            ordered = [u if u < target else target for u in ordered]
        columns.append(ordered)
    return columns


def _best_pair(
    survey: _Survey,
    order: Sequence[int],
    columns: Sequence[Sequence[int]],
    gains: Sequence[int],
    max_pairs: int,
) -> tuple[tuple[int, int] | None, int, bool]:
    """The best pair covering everything coverable, the pairs examined, and whether the search
    stopped at `max_pairs`.

    `order` lists the usable candidates best first, `columns` what each could give of each
    line and `gains` of all lines. Each is taken in turn as the better half of a pair, unless
    no partner after it could give the units it lacks. Its partners are narrowed with one bit
    mask per line before any pair is examined: those with all the units of a line where it
    has none, and some units of a line where it has too few. For a given half, pairs rank no
    better as its partner comes later in `order`, so the first partner that covers is its
    best, and the search moves on as soon as a pair cannot beat the best found; it stops
    when the next two in `order` cannot.
    """
    units, cost, target = survey.units, survey.cost, survey.target
    lines = [k for k, t in enumerate(target) if t > 0]
    some, full = _line_masks(columns, target, lines)
    best: tuple[int, int] | None = None
    best_rank: tuple[float, list[int], list[str]] | None = None

    def beaten(a: int, b: int) -> bool:
        """Whether the pair (a, b) ranks no better than the best found."""
        if best_rank is None:
            return False
        total = cost[a] + cost[b]
        return total > best_rank[0] or (
            total == best_rank[0] and survey.plan_rank((a, b)) >= best_rank
        )

    examined, everyone, needed = 0, (1 << len(order)) - 1, sum(target)
    most_after = list(itertools.accumulate(reversed(gains), max))[-2::-1]
    for p, i in enumerate(order[:-1]):
        if beaten(i, order[p + 1]):
            break
        if gains[p] + most_after[p] < needed:
            continue
        mine = units[i]
        short = [k for k in lines if mine[k] < target[k]]
        partners = everyone & ~((1 << (p + 1)) - 1)
        for k in short:
            partners &= full[k] if mine[k] == 0 else some[k]
        while partners:
            low = partners & -partners
            partners ^= low
            j = order[low.bit_length() - 1]
            if beaten(i, j):
                break
            if examined == max_pairs:
                return best, examined, True
            examined += 1
            theirs = units[j]
            if all(mine[k] + theirs[k] >= target[k] for k in short):
                best, best_rank = (i, j), survey.plan_rank((i, j))
                break
    return best, examined, False


def _line_masks(
    columns: Sequence[Sequence[int]], target: Sequence[int], lines: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Per line, bit masks over the candidates of `columns` (bit p for the p-th): those with
    some units of the line, and those with all its coverable units.

    The columns are capped at the target, so below 256 units a column is a byte string that
    `bytes.translate` turns into the mask's binary digits without a Python loop.
    """
    some, full = [0] * len(target), [0] * len(target)
    for k in lines:
        wanted, backwards = target[k], columns[k][::-1]  # bit 0, the best, comes last
        if wanted < 256:
            column = bytes(backwards)
            some[k] = int(column.translate(_SOME_DIGITS), 2)
            full[k] = int(column.translate(b"0" * wanted + b"1" * (256 - wanted)), 2)
        else:
            some[k] = int("".join(["1" if u else "0" for u in backwards]), 2)
            full[k] = int("".join(["1" if u >= wanted else "0" for u in backwards]), 2)
    return some, full


#: `bytes.translate` table: "0" for 0 units, "1" for any other number.
_SOME_DIGITS = b"0" + b"1" * 255


def _greedy(
    survey: _Survey, order: Sequence[int], columns: Sequence[Sequence[int]], gains: Sequence[int]
) -> list[int]:
    """A cover by repeatedly taking the location covering the most remaining units (ties: the
    better ranked), less any location the others made redundant.

    `columns` and `gains` say what each location of `order` could give of each line and of
    all (capped at what is coverable). Taking a location lowers what remains of its lines, so
    only those columns are capped again and the difference taken off every gain.
    """
    remaining, columns, gains = list(survey.target), [list(c) for c in columns], list(gains)
    chosen: list[int] = []
    while any(remaining):
        p = gains.index(max(gains))  # the first of the best: the better ranked on a tie
        chosen.append(order[p])
        for k, column in enumerate(columns):
            if column[p]:
                left = remaining[k] = remaining[k] - column[p]
                capped = [u if u < left else left for u in column] if left else [0] * len(column)
                gains = list(map(operator.sub, gains, map(operator.sub, column, capped)))
                columns[k] = capped
        gains[p] = -1  # taken
    for i in sorted(chosen, key=survey.rank, reverse=True):
        others = [j for j in chosen if j != i]
        if survey.covers_target(others):
            chosen = others
    return chosen


class _Explanation(Sequence[Considered]):
    """The record of every candidate, built when first read (see the module's docstring)."""

    __slots__ = ("_chosen", "_records", "_strategy", "_survey")

    def __init__(self, survey: _Survey, chosen: Sequence[int], strategy: str) -> None:
        self._survey, self._chosen, self._strategy = survey, chosen, strategy
        self._records: tuple[Considered, ...] | None = None

    def records(self) -> tuple[Considered, ...]:
        if self._records is None:
            self._records = tuple(Considered(*row) for row in self._rows())
        return self._records

    def as_dicts(self) -> list[dict[str, Any]]:
        if self._records is not None:
            return [_considered_as_dict(c) for c in self._records]
        return [dict(zip(_CONSIDERED_FIELDS, row, strict=True)) for row in self._rows()]

    def _rows(self) -> Iterator[tuple[Any, ...]]:
        """The fields of each candidate's record: the chosen first, then by cost, then code."""
        survey, chosen, usable = self._survey, set(self._chosen), set(self._survey.usable)
        survey.price(range(len(survey.codes)))
        codes, costs, distances, units = survey.codes, survey.cost, survey.distance, survey.units
        skus, wanted, blocked = survey.skus, survey.wanted, survey.blocked
        shipped = {s.location: sum(q for _, q in s.lines) for s in survey.split(self._chosen)}
        asked = sum(wanted)
        why_not = _why_not(survey, self._chosen, self._strategy)
        keys = zip([i not in chosen for i in range(len(codes))], costs, codes, strict=True)
        covers_alone = survey.covers_alone()
        for *_, i in sorted((*key, i) for i, key in enumerate(keys)):
            code, distance, cost, candidate = codes[i], distances[i], costs[i], survey.candidates[i]
            covers = covers_alone[i]
            verdict = blocked.get(i) or (
                (CHOSEN if i in chosen else NOT_CHOSEN) if i in usable else NO_STOCK
            )
            if verdict == CHOSEN:
                why = f"ships {shipped[code]} of the order's {asked} units"
            elif verdict == NOT_CHOSEN:
                why = why_not(i, covers)
            else:
                why = _why_unusable(verdict, candidate)
            yield (
                code,
                distance,
                cost,
                candidate.location.priority,
                dict(zip(skus, units[i], strict=True)),
                covers,
                verdict,
                f"cost {cost:.2f}: {why}"
                if distance is None
                else f"{distance:.1f} km, cost {cost:.2f}: {why}",
            )

    @overload
    def __getitem__(self, index: int) -> Considered: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Considered, ...]: ...
    def __getitem__(self, index: int | slice) -> Considered | tuple[Considered, ...]:
        return self.records()[index]

    def __len__(self) -> int:
        return len(self._survey.codes)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self.records() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.records())


def _why_unusable(verdict: str, candidate: Candidate) -> str:
    if verdict == EXCLUDED:
        return f"excluded: {candidate.excluded}"
    if verdict == AT_CAPACITY:
        return "at its daily capacity, it accepts no more fulfilments today"
    return "no sellable units of this order's items"


def _why_not(survey: _Survey, chosen: Sequence[int], strategy: str) -> Callable[[int, int], str]:
    """How to say why a usable candidate `i`, covering `covers` units alone, lost to the plan."""
    winners = " + ".join(sorted(survey.codes[j] for j in chosen))
    asked = sum(survey.wanted)
    covering = set(survey.covering)
    beaten = {
        PAIR: f"no pair with it beat {winners}",
        GREEDY: f"the greedy cover {winners} did not need it",
        SINGLE: f"{winners} ships everything in one shipment",
    }.get(strategy, "nothing was shipped")

    def why(i: int, covers: int) -> str:
        if i not in covering:
            return f"covers {covers} of the order's {asked} units; {beaten}"
        winner = chosen[0]
        if survey.cost[winner] < survey.cost[i]:
            return f"covers everything too, but a single shipment from {winners} was cheaper"
        if survey.rank(winner)[1] < survey.rank(i)[1]:
            return f"covers everything at the same cost, but {winners} has a better priority"
        return f"covers everything at the same cost and priority; {winners} comes first by code"

    return why


def _reason(
    survey: _Survey,
    chosen: Sequence[int],
    strategy: str,
    searched: int,
    bounded: bool,
    max_pairs: int,
) -> str:
    """One or two sentences: why this plan won."""
    backorders = survey.backorders()
    scope = "everything that can be sourced" if backorders else "the whole order"
    names = " + ".join(sorted(survey.codes[i] for i in chosen))
    cost = survey.plan_rank(chosen)[0]
    if strategy == NONE:
        return f"Nothing can be sourced ({_unusable_counts(survey)}): every line is backordered."
    if strategy == SINGLE:
        rivals = len(survey.covering)
        why = (
            "the only location that covers it"
            if rivals == 1
            else f"the best of {rivals} locations that cover it, by cost, priority and code"
        )
        text = f"{names} ships {scope} in one shipment: {why} (cost {cost:.2f})."
    elif strategy == PAIR:
        found = "the cheapest pair found" if bounded else "the cheapest pair"
        text = (
            f"No single location covers {scope}; {names} is {found} that does "
            f"(cost {cost:.2f}, {searched} combinations examined)."
        )
        if bounded:
            text += f" The pair search stopped at its bound of {max_pairs} pairs."
    else:
        nothing_smaller = (
            f"No single location covers {scope}, and the pair search stopped at its bound of "
            f"{max_pairs} pairs without finding a pair that does"
            if bounded
            else f"No single location or pair covers {scope}"
        )
        text = (
            f"{nothing_smaller}; {len(chosen)} shipments from {names}, taking each time the "
            f"location covering the most remaining units (cost {cost:.2f})."
        )
    if backorders:
        units = sum(q for _, q in backorders)
        text += f" {units} units of {len(backorders)} lines are backordered: not enough stock."
    return text


def _unusable_counts(survey: _Survey) -> str:
    if not survey.codes:
        return "no candidate locations"
    counts = Counter(survey.blocked.values())
    counts[NO_STOCK] = len(survey.codes) - len(survey.blocked) - len(survey.usable)
    return ", ".join(f"{counts[v]} {v}" for v in (EXCLUDED, AT_CAPACITY, NO_STOCK) if counts[v])
