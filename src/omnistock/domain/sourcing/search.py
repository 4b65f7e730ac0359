"""The search for a plan: one location, else the best pair, else a greedy cover.

Every function here works on the indices of a `Survey`'s candidates and returns indices; the
shipments and the explanation are made from them afterwards.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence

from omnistock.domain.sourcing.plans import GREEDY, NONE, PAIR, SINGLE
from omnistock.domain.sourcing.survey import Survey

#: How plans of as many shipments compare (`Survey.plan_rank`).
_Rank = tuple[float, list[int], list[str]]


def find_plan(survey: Survey, max_pairs: int) -> tuple[list[int], str, int, bool]:
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


def _capped_columns(survey: Survey, order: Sequence[int]) -> list[list[int]]:
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
    survey: Survey,
    order: Sequence[int],
    columns: Sequence[Sequence[int]],
    gains: Sequence[int],
    max_pairs: int,
) -> tuple[tuple[int, int] | None, int, bool]:
    """The best pair covering everything coverable, the pairs examined, and whether the search
    stopped at `max_pairs`.

    `order` lists the usable candidates best first, `columns` what each could give of each
    line and `gains` of all lines. Each is taken in turn as the better half of a pair, unless
    no partner after it could give the units it lacks. For a given half, pairs rank no
    better as its partner comes later in `order`, so the first partner that covers is its
    best, and the search moves on as soon as a pair cannot beat the best found; it stops
    when the next two in `order` cannot.
    """
    pairs = _PairSearch(survey, order, columns, max_pairs)
    needed = sum(survey.target)
    most_after = list(itertools.accumulate(reversed(gains), max))[-2::-1]
    for p, i in enumerate(order[:-1]):
        if pairs.beaten(i, order[p + 1]):
            break
        if gains[p] + most_after[p] < needed:
            continue
        if not pairs.find_partner(p, i):
            return pairs.best, pairs.examined, True
    return pairs.best, pairs.examined, False


class _PairSearch:
    """Where the pair search stands: the best pair found, its rank, the pairs examined.

    A half's partners are narrowed with one bit mask per line (bit p for the p-th of
    `order`) before any pair is examined: those with all the units of a line where the half
    has none, and some units of a line where it has too few.
    """

    def __init__(
        self,
        survey: Survey,
        order: Sequence[int],
        columns: Sequence[Sequence[int]],
        max_pairs: int,
    ) -> None:
        self.survey, self.order, self.max_pairs = survey, order, max_pairs
        self.lines = [k for k, t in enumerate(survey.target) if t > 0]
        self.some, self.full = _line_masks(columns, survey.target, self.lines)
        self.everyone = (1 << len(order)) - 1
        self.best: tuple[int, int] | None = None
        self.best_rank: _Rank | None = None
        self.examined = 0

    def beaten(self, a: int, b: int) -> bool:
        """Whether the pair (a, b) ranks no better than the best found."""
        best_rank = self.best_rank
        if best_rank is None:
            return False
        total = self.survey.cost[a] + self.survey.cost[b]
        return total > best_rank[0] or (
            total == best_rank[0] and self.survey.plan_rank((a, b)) >= best_rank
        )

    def find_partner(self, p: int, i: int) -> bool:
        """Try `i`, the p-th of `order`, with its partners best first, until one covers with it
        (the new best) or cannot beat the best. Whether the search may go on: False when it
        reached `max_pairs`."""
        units, target, order = self.survey.units, self.survey.target, self.order
        mine = units[i]
        short = [k for k in self.lines if mine[k] < target[k]]
        partners = self._partners(p, mine, short)
        while partners:
            low = partners & -partners
            partners ^= low
            j = order[low.bit_length() - 1]
            if self.beaten(i, j):
                break
            if self.examined == self.max_pairs:
                return False
            self.examined += 1
            theirs = units[j]
            if all(mine[k] + theirs[k] >= target[k] for k in short):
                self.best, self.best_rank = (i, j), self.survey.plan_rank((i, j))
                break
        return True

    def _partners(self, p: int, mine: Sequence[int], short: Sequence[int]) -> int:
        """The bit mask of the candidates after the p-th of `order` that may give the units
        of the `short` lines it lacks, selling `mine`."""
        partners = self.everyone & ~((1 << (p + 1)) - 1)
        for k in short:
            partners &= self.full[k] if mine[k] == 0 else self.some[k]
        return partners


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
    survey: Survey, order: Sequence[int], columns: Sequence[Sequence[int]], gains: Sequence[int]
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
