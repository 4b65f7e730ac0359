"""The sentences of a decision: why the plan won, and why each other candidate lost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from omnistock.domain.sourcing.plans import (
    AT_CAPACITY,
    EXCLUDED,
    GREEDY,
    NO_STOCK,
    NONE,
    PAIR,
    SINGLE,
    Candidate,
)
from omnistock.domain.sourcing.survey import Survey


def why_unusable(verdict: str, candidate: Candidate) -> str:
    """Why a candidate that may ship nothing of this order (its `verdict`) was left out."""
    if verdict == EXCLUDED:
        return f"excluded: {candidate.excluded}"
    if verdict == AT_CAPACITY:
        return "at its daily capacity, it accepts no more fulfilments today"
    return "no sellable units of this order's items"


def why_not(survey: Survey, chosen: Sequence[int], strategy: str) -> Callable[[int, int], str]:
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


def reason(
    survey: Survey,
    chosen: Sequence[int],
    strategy: str,
    searched: int,
    bounded: bool,
    max_pairs: int,
) -> str:
    """One or two sentences: why this plan won."""
    if strategy == NONE:
        return f"Nothing can be sourced ({_unusable_counts(survey)}): every line is backordered."
    backorders = survey.backorders()
    scope = "everything that can be sourced" if backorders else "the whole order"
    names = " + ".join(sorted(survey.codes[i] for i in chosen))
    cost = survey.plan_rank(chosen)[0]
    if strategy == SINGLE:
        text = _why_single(len(survey.covering), names, scope, cost)
    elif strategy == PAIR:
        text = _why_pair(names, scope, cost, searched, bounded, max_pairs)
    else:
        text = _why_greedy(len(chosen), names, scope, cost, bounded, max_pairs)
    if backorders:
        units = sum(q for _, q in backorders)
        text += f" {units} units of {len(backorders)} lines are backordered: not enough stock."
    return text


def _why_single(rivals: int, names: str, scope: str, cost: float) -> str:
    """Why one location, the best of the `rivals` covering `scope` alone, ships it."""
    why = (
        "the only location that covers it"
        if rivals == 1
        else f"the best of {rivals} locations that cover it, by cost, priority and code"
    )
    return f"{names} ships {scope} in one shipment: {why} (cost {cost:.2f})."


def _why_pair(
    names: str, scope: str, cost: float, searched: int, bounded: bool, max_pairs: int
) -> str:
    """Why a pair ships `scope`, after `searched` combinations, maybe stopped at the bound."""
    found = "the cheapest pair found" if bounded else "the cheapest pair"
    text = (
        f"No single location covers {scope}; {names} is {found} that does "
        f"(cost {cost:.2f}, {searched} combinations examined)."
    )
    if bounded:
        text += f" The pair search stopped at its bound of {max_pairs} pairs."
    return text


def _why_greedy(
    shipments: int, names: str, scope: str, cost: float, bounded: bool, max_pairs: int
) -> str:
    """Why the greedy cover ships `scope`: no single location or pair was found to."""
    nothing_smaller = (
        f"No single location covers {scope}, and the pair search stopped at its bound of "
        f"{max_pairs} pairs without finding a pair that does"
        if bounded
        else f"No single location or pair covers {scope}"
    )
    return (
        f"{nothing_smaller}; {shipments} shipments from {names}, taking each time the "
        f"location covering the most remaining units (cost {cost:.2f})."
    )


def _unusable_counts(survey: Survey) -> str:
    if not survey.codes:
        return "no candidate locations"
    counts = Counter(survey.blocked.values())
    counts[NO_STOCK] = len(survey.codes) - len(survey.blocked) - len(survey.usable)
    return ", ".join(f"{counts[v]} {v}" for v in (EXCLUDED, AT_CAPACITY, NO_STOCK) if counts[v])
