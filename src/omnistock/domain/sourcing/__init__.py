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

The package: `plans` (candidates, costs, shipments, the words of verdicts and strategies),
`survey` (the candidates as plain vectors), `search` (single, pair, greedy), `decision` (the
decision and its record of every candidate) and `reasons` (the sentences that explain it).
"""

from __future__ import annotations

from collections.abc import Sequence

from omnistock.domain.sourcing.decision import Considered, Decision, Explanation
from omnistock.domain.sourcing.plans import (
    AT_CAPACITY,
    CHOSEN,
    EXCLUDED,
    GREEDY,
    NO_STOCK,
    NONE,
    NOT_CHOSEN,
    PAIR,
    SINGLE,
    Candidate,
    Costs,
    Shipment,
)
from omnistock.domain.sourcing.reasons import reason
from omnistock.domain.sourcing.search import find_plan
from omnistock.domain.sourcing.survey import Survey

__all__ = [
    "AT_CAPACITY",
    "CHOSEN",
    "EXCLUDED",
    "GREEDY",
    "NONE",
    "NOT_CHOSEN",
    "NO_STOCK",
    "PAIR",
    "SINGLE",
    "Candidate",
    "Considered",
    "Costs",
    "Decision",
    "Shipment",
    "source",
]


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
    survey = Survey(lines, candidates, ship_to, costs)
    plan, strategy, searched, bounded = find_plan(survey, max_pairs)
    shipments = [s for s in survey.split(plan) if s.lines]
    shipping = {s.location for s in shipments}
    chosen = [i for i in plan if survey.codes[i] in shipping]
    return Decision(
        plan=tuple(sorted(shipments, key=lambda s: s.location)),
        backorders=survey.backorders(),
        considered=Explanation(survey, chosen, strategy),
        strategy=strategy,
        reason=reason(survey, chosen, strategy, searched, bounded, max_pairs),
        cost=survey.plan_rank(chosen)[0],
        searched=searched,
        bounded=bounded,
    )
