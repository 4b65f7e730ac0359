"""Stories dealt like cards, so that a short run tells each of them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Deck(Generic[T]):
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
