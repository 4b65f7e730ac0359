"""The decision sourcing returns: the plan, the backorders, and the record of every candidate.

A channel may have a thousand locations, and writing down why each one lost costs more than
choosing among them: the decision works out its record of every candidate (`considered`) when
it is first read, from figures the search already has.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any, overload

from omnistock.domain.sourcing.plans import CHOSEN, NO_STOCK, NOT_CHOSEN, Shipment
from omnistock.domain.sourcing.reasons import why_not, why_unusable
from omnistock.domain.sourcing.survey import Survey


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
                if isinstance(considered, Explanation)
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


class Explanation(Sequence[Considered]):
    """The record of every candidate, built when first read (see the module's docstring)."""

    __slots__ = ("_chosen", "_records", "_strategy", "_survey")

    def __init__(self, survey: Survey, chosen: Sequence[int], strategy: str) -> None:
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
        why_lost = why_not(survey, self._chosen, self._strategy)
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
                why = why_lost(i, covers)
            else:
                why = why_unusable(verdict, candidate)
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
