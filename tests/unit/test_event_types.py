"""Choosing event types by name: exact types, `prefix.*` and `*` select known types only, and
a pattern that selects none is refused by name (the stream's `types`)."""

from __future__ import annotations

import pytest

from omnistock.domain.events import Event, selected_types


def test_an_exact_type_selects_that_type_only() -> None:
    assert selected_types(["order.created"]) == {Event.ORDER_CREATED}


def test_a_prefix_selects_every_type_of_that_resource_and_no_other() -> None:
    chosen = selected_types(["transfer.*"])

    assert chosen == {e for e in Event if e.value.startswith("transfer.")}
    assert len(chosen) == 5


def test_a_star_selects_every_type_and_patterns_add_up() -> None:
    assert selected_types(["*"]) == set(Event)
    assert selected_types(["order.*", "return.created"]) == {
        e for e in Event if e.value.startswith("order.")
    } | {Event.RETURN_CREATED}


@pytest.mark.parametrize(
    "pattern", ["order.nope", "orders.*", "order", "order.", "*.created", "", "ORDER.CREATED"]
)
def test_a_pattern_that_selects_no_known_type_is_refused_by_name(pattern: str) -> None:
    with pytest.raises(ValueError, match=repr(pattern).replace(".", r"\.").replace("*", r"\*")):
        selected_types(["stock.changed", pattern])
