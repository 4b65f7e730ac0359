"""Which locations ship an order, and why (omnistock.domain.sourcing), without a DB."""

from __future__ import annotations

import itertools
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnistock.domain.catalog import Location, LocationType
from omnistock.domain.geography import distance_km, distance_to
from omnistock.domain.sourcing import Candidate, Considered, Costs, Decision, Shipment, source

WAREHOUSE, STORE = LocationType.WAREHOUSE, LocationType.STORE

#: (lat, lon) of the cities the networks below are built in.
PARIS = (48.8566, 2.3522)
LYON = (45.7640, 4.8357)
MARSEILLE = (43.2965, 5.3698)
LILLE = (50.6292, 3.0573)
VERDICTS = {"chosen", "not chosen", "at capacity", "excluded", "no stock"}


def at(
    code: str,
    where: tuple[float, float],
    *,
    priority: int = 100,
    capacity_left: int | None = None,
    excluded: str | None = None,
    **sellable: int,
) -> Candidate:
    """A candidate location `code` at `where`, selling the given units (TEE_M=2 for TEE-M)."""
    location = Location(
        code=code,
        name=f"Location {code}",
        type=WAREHOUSE if code.startswith("WH") else STORE,
        lat=where[0],
        lon=where[1],
        ship_enabled=True,
        pickup_enabled=not code.startswith("WH"),
        priority=priority,
    )
    units = {sku.replace("_", "-"): n for sku, n in sellable.items()}
    return Candidate(location, units, capacity_left=capacity_left, excluded=excluded)


def shipped(decision: Decision) -> dict[str, dict[str, int]]:
    """The plan as {location: {sku: quantity}}."""
    return {s.location: dict(s.lines) for s in decision.plan}


def record(decision: Decision, code: str) -> Considered:
    (found,) = [c for c in decision.considered if c.location == code]
    return found


# --------------------------------------------------------------------------- one shipment


def test_the_nearest_location_with_everything_ships_the_whole_order() -> None:
    decision = source(
        [("TEE-M", 2), ("CAP-1", 1)],
        [at("WH-LYON", LYON, TEE_M=5, CAP_1=5), at("WH-PARIS", PARIS, TEE_M=5, CAP_1=5)],
        ship_to=PARIS,
    )

    assert decision.strategy == "single"
    assert decision.plan == (Shipment("WH-PARIS", (("TEE-M", 2), ("CAP-1", 1))),)
    assert decision.backorders == ()
    assert record(decision, "WH-LYON").verdict == "not chosen"
    assert "cheaper" in record(decision, "WH-LYON").why


def test_a_full_shipment_from_farther_beats_a_split() -> None:
    decision = source(
        [("TEE-M", 1), ("CAP-1", 1)],
        [
            at("ST-PARIS-1", PARIS, TEE_M=3),
            at("ST-PARIS-2", PARIS, CAP_1=3),
            at("WH-MARSEILLE", MARSEILLE, TEE_M=1, CAP_1=1),
        ],
        ship_to=PARIS,
    )

    assert decision.strategy == "single"
    assert shipped(decision) == {"WH-MARSEILLE": {"TEE-M": 1, "CAP-1": 1}}
    assert decision.cost > 2 * Costs().per_shipment  # dearer than the split it beat


def test_the_cost_of_a_shipment_is_the_fixed_part_plus_the_part_per_km() -> None:
    costs = Costs(per_shipment=4.0, per_km=0.5)
    decision = source([("TEE-M", 1)], [at("WH-LYON", LYON, TEE_M=1)], ship_to=PARIS, costs=costs)

    km = distance_km(LYON, PARIS)
    assert record(decision, "WH-LYON").distance_km == pytest.approx(km)
    assert record(decision, "WH-LYON").cost == pytest.approx(4.0 + 0.5 * km)
    assert decision.cost == pytest.approx(4.0 + 0.5 * km)


# --------------------------------------------------------------------------- several shipments


def test_the_order_is_split_over_the_cheapest_pair_when_no_location_has_everything() -> None:
    decision = source(
        [("TEE-M", 1), ("CAP-1", 1)],
        [
            at("ST-PARIS", PARIS, TEE_M=2),
            at("ST-LILLE", LILLE, CAP_1=2),
            at("WH-MARSEILLE", MARSEILLE, CAP_1=9),
            at("ST-LYON", LYON, TEE_M=1),
        ],
        ship_to=PARIS,
    )

    assert decision.strategy == "pair"
    assert shipped(decision) == {"ST-LILLE": {"CAP-1": 1}, "ST-PARIS": {"TEE-M": 1}}
    assert [s.location for s in decision.plan] == ["ST-LILLE", "ST-PARIS"]  # by code
    assert decision.searched > 0
    assert not decision.bounded
    assert decision.cost == pytest.approx(
        record(decision, "ST-PARIS").cost + record(decision, "ST-LILLE").cost
    )


def test_within_a_pair_each_line_takes_what_it_can_from_the_cheaper_location() -> None:
    decision = source(
        [("TEE-M", 3), ("CAP-1", 1), ("SOCK-9", 1)],
        [at("ST-PARIS", PARIS, TEE_M=2, SOCK_9=1), at("ST-LILLE", LILLE, TEE_M=5, CAP_1=1)],
        ship_to=PARIS,
    )

    assert shipped(decision) == {
        "ST-PARIS": {"TEE-M": 2, "SOCK-9": 1},
        "ST-LILLE": {"TEE-M": 1, "CAP-1": 1},
    }
    assert decision.plan[0].lines == (("TEE-M", 1), ("CAP-1", 1))  # the order's line order


def test_a_line_of_hundreds_of_units_is_split_like_a_small_one() -> None:
    decision = source(
        [("TEE-M", 300), ("CAP-1", 1)],
        [
            at("WH-PARIS", PARIS, TEE_M=200, CAP_1=1),
            at("WH-LILLE", LILLE, TEE_M=150),
            at("WH-LYON", LYON, TEE_M=299, CAP_1=5),
        ],
        ship_to=PARIS,
    )

    assert decision.strategy == "pair"
    assert shipped(decision) == {"WH-PARIS": {"TEE-M": 200, "CAP-1": 1}, "WH-LILLE": {"TEE-M": 100}}


def test_an_order_no_pair_can_cover_is_covered_greedily_in_three_or_more_shipments() -> None:
    decision = source(
        [("A", 1), ("B", 1), ("C", 1), ("D", 2)],
        [
            at("ST-PARIS", PARIS, A=1),
            at("ST-LYON", LYON, B=1, D=1),
            at("ST-MARSEILLE", MARSEILLE, C=1, D=1),
            at("ST-LILLE", LILLE, A=1, D=1),
        ],
        ship_to=PARIS,
    )

    assert decision.strategy == "greedy"
    assert sum(sum(dict(s.lines).values()) for s in decision.plan) == 5
    assert {s.location for s in decision.plan} >= {"ST-LYON", "ST-MARSEILLE"}
    assert len(decision.plan) == 3
    assert decision.backorders == ()
    assert "3 shipments" in decision.reason


def test_the_greedy_cover_takes_first_the_location_covering_the_most_units() -> None:
    decision = source(
        [("A", 1), ("B", 1), ("C", 1), ("D", 1), ("E", 1)],
        [
            at("ST-PARIS", PARIS, A=1),
            at("ST-LILLE", LILLE, B=1),
            at("ST-LYON", LYON, C=1),
            at("WH-MARSEILLE", MARSEILLE, A=1, B=1, C=1),  # far, but three lines at once
            at("ST-LYON-2", LYON, D=1),
            at("ST-LILLE-2", LILLE, E=1),
        ],
        ship_to=PARIS,
    )

    assert decision.strategy == "greedy"
    assert shipped(decision) == {
        "WH-MARSEILLE": {"A": 1, "B": 1, "C": 1},
        "ST-LYON-2": {"D": 1},
        "ST-LILLE-2": {"E": 1},
    }


def test_a_location_the_rest_of_the_greedy_cover_made_redundant_does_not_ship() -> None:
    skus = "ABCDEFGHI"
    decision = source(
        [(sku, 1) for sku in skus],
        [
            at("WH-PARIS", PARIS, **dict.fromkeys("ABCDEF", 1)),  # the most units: taken first
            at("ST-LYON", LYON, A=1, B=1, G=1),
            at("ST-LILLE", LILLE, C=1, D=1, H=1),
            at("ST-MARSEILLE", MARSEILLE, E=1, F=1, I=1),
        ],
        ship_to=PARIS,
    )

    assert decision.strategy == "greedy"
    assert sorted(shipped(decision)) == ["ST-LILLE", "ST-LYON", "ST-MARSEILLE"]
    assert record(decision, "WH-PARIS").verdict == "not chosen"


def test_the_pair_search_stops_at_its_bound_and_says_so() -> None:
    lines = [("TEE-M", 1), ("CAP-1", 1)]
    network = [at(f"ST-{n:02}", PARIS, TEE_M=1) for n in range(10)] + [
        at(f"ST-L{n:02}", LILLE, CAP_1=1) for n in range(10)
    ]

    unbounded = source(lines, network, ship_to=PARIS)
    bounded = source(lines, network, ship_to=PARIS, max_pairs=0)

    assert (unbounded.strategy, unbounded.bounded) == ("pair", False)
    assert (bounded.strategy, bounded.bounded) == ("greedy", True)
    assert len(bounded.plan) == 2
    assert "bound of 0 pairs" in bounded.reason


@pytest.mark.parametrize("ship_to", [PARIS, None], ids=["nearest first", "all at distance 0"])
def test_the_pair_search_examines_few_pairs_when_the_best_one_covers(ship_to) -> None:
    network = [at(f"ST-{n:03}", PARIS, TEE_M=1) for n in range(200)] + [
        at(f"ST-L{n:03}", LILLE, CAP_1=1) for n in range(200)
    ]

    decision = source([("TEE-M", 1), ("CAP-1", 1)], network, ship_to=ship_to)

    assert shipped(decision) == {"ST-000": {"TEE-M": 1}, "ST-L000": {"CAP-1": 1}}
    assert decision.searched <= len(network) + 1
    assert not decision.bounded


# --------------------------------------------------------------------------- who may ship


def test_a_location_at_capacity_is_skipped_and_recorded() -> None:
    decision = source(
        [("TEE-M", 1)],
        [
            at("WH-PARIS", PARIS, capacity_left=0, TEE_M=5),
            at("WH-LYON", LYON, capacity_left=1, TEE_M=5),
        ],
        ship_to=PARIS,
    )

    assert shipped(decision) == {"WH-LYON": {"TEE-M": 1}}
    assert record(decision, "WH-PARIS").verdict == "at capacity"
    assert "capacity" in record(decision, "WH-PARIS").why


def test_a_location_without_a_capacity_limit_may_ship() -> None:
    decision = source([("TEE-M", 1)], [at("WH-PARIS", PARIS, capacity_left=None, TEE_M=1)])

    assert shipped(decision) == {"WH-PARIS": {"TEE-M": 1}}


def test_an_excluded_location_is_skipped_and_recorded_with_its_reason() -> None:
    decision = source(
        [("TEE-M", 1)],
        [
            at("ST-PARIS", PARIS, excluded="rejected this order's lines", TEE_M=5),
            at("WH-LYON", LYON, TEE_M=5),
        ],
        ship_to=PARIS,
    )

    assert shipped(decision) == {"WH-LYON": {"TEE-M": 1}}
    assert record(decision, "ST-PARIS").verdict == "excluded"
    assert "rejected this order's lines" in record(decision, "ST-PARIS").why


def test_a_location_without_any_of_the_items_is_recorded_as_having_no_stock() -> None:
    decision = source(
        [("TEE-M", 1)],
        [at("ST-PARIS", PARIS, CAP_1=5), at("WH-LYON", LYON, TEE_M=5)],
        ship_to=PARIS,
    )

    assert record(decision, "ST-PARIS").verdict == "no stock"
    assert record(decision, "ST-PARIS").sellable == {"TEE-M": 0}


def test_a_negative_number_of_sellable_units_counts_as_none() -> None:
    decision = source(
        [("TEE-M", 2), ("CAP-1", 1)],
        [at("ST-PARIS", PARIS, TEE_M=-3, CAP_1=1), at("WH-LYON", LYON, TEE_M=1)],
        ship_to=PARIS,
    )

    assert shipped(decision) == {"ST-PARIS": {"CAP-1": 1}, "WH-LYON": {"TEE-M": 1}}
    assert decision.backorders == (("TEE-M", 1),)
    assert record(decision, "ST-PARIS").sellable == {"TEE-M": 0, "CAP-1": 1}


# --------------------------------------------------------------------------- ties


def test_the_better_priority_breaks_a_cost_tie() -> None:
    decision = source(
        [("TEE-M", 1)],
        [at("ST-A", PARIS, priority=20, TEE_M=1), at("ST-B", PARIS, priority=10, TEE_M=1)],
        ship_to=LYON,
    )

    assert shipped(decision) == {"ST-B": {"TEE-M": 1}}
    assert "priority" in record(decision, "ST-A").why


def test_the_better_priorities_break_a_cost_tie_between_pairs() -> None:
    decision = source(
        [("TEE-M", 1), ("CAP-1", 1)],
        [
            at("ST-A", PARIS, priority=50, TEE_M=1),
            at("ST-B", PARIS, priority=10, TEE_M=1),
            at("ST-C", PARIS, priority=50, CAP_1=1),
        ],
        ship_to=LYON,
    )

    assert shipped(decision) == {"ST-B": {"TEE-M": 1}, "ST-C": {"CAP-1": 1}}


def test_the_location_code_breaks_a_full_tie_whatever_the_order_of_the_candidates() -> None:
    network = [at(code, PARIS, TEE_M=1) for code in ("ST-C", "ST-A", "ST-B")]

    for ordering in itertools.permutations(network):
        decision = source([("TEE-M", 1)], list(ordering), ship_to=LYON)
        assert shipped(decision) == {"ST-A": {"TEE-M": 1}}
        assert "first by code" in record(decision, "ST-B").why


# --------------------------------------------------------------------------- backorders


def test_what_no_location_can_sell_is_backordered_and_the_rest_shipped() -> None:
    decision = source(
        [("TEE-M", 5), ("CAP-1", 1)],
        [at("ST-PARIS", PARIS, TEE_M=3, CAP_1=1), at("ST-LYON", LYON, CAP_1=4)],
        ship_to=PARIS,
    )

    assert decision.strategy == "single"
    assert shipped(decision) == {"ST-PARIS": {"TEE-M": 3, "CAP-1": 1}}
    assert decision.backorders == (("TEE-M", 2),)
    assert "backordered" in decision.reason


def test_a_short_line_gathers_every_unit_it_can_before_backordering_the_rest() -> None:
    decision = source(
        [("TEE-M", 5)],
        [at("ST-PARIS", PARIS, TEE_M=3), at("ST-LYON", LYON, TEE_M=1)],
        ship_to=PARIS,
    )

    assert decision.strategy == "pair"
    assert shipped(decision) == {"ST-PARIS": {"TEE-M": 3}, "ST-LYON": {"TEE-M": 1}}
    assert decision.backorders == (("TEE-M", 1),)


def test_when_nothing_can_be_sourced_everything_is_backordered() -> None:
    lines = [("TEE-M", 2), ("CAP-1", 1)]
    decision = source(
        lines,
        [
            at("ST-PARIS", PARIS, excluded="rejected this order's lines", TEE_M=5),
            at("WH-LYON", LYON, capacity_left=0, CAP_1=5),
            at("ST-LILLE", LILLE, SOCK_9=5),
        ],
        ship_to=PARIS,
    )

    assert decision.strategy == "none"
    assert decision.plan == ()
    assert decision.backorders == tuple(lines)
    assert decision.cost == 0.0
    assert {c.location: c.verdict for c in decision.considered} == {
        "ST-PARIS": "excluded",
        "WH-LYON": "at capacity",
        "ST-LILLE": "no stock",
    }
    assert "backordered" in decision.reason


def test_an_order_without_candidates_is_backordered() -> None:
    decision = source([("TEE-M", 1)], [], ship_to=PARIS)

    assert (decision.strategy, decision.plan, decision.backorders) == ("none", (), (("TEE-M", 1),))
    assert decision.considered == ()


# --------------------------------------------------------------------------- no ship-to


def test_without_a_ship_to_every_location_is_at_distance_zero() -> None:
    decision = source(
        [("TEE-M", 1)],
        [at("WH-MARSEILLE", MARSEILLE, priority=1, TEE_M=1), at("ST-PARIS", PARIS, TEE_M=1)],
    )

    assert shipped(decision) == {"WH-MARSEILLE": {"TEE-M": 1}}  # priority, not nearness
    for considered in decision.considered:
        assert considered.distance_km is None
        assert considered.cost == Costs().per_shipment
    assert decision.cost == Costs().per_shipment


# --------------------------------------------------------------------------- explanation


def test_the_decision_explains_why_every_candidate_won_or_lost() -> None:
    network = [
        at("ST-PARIS", PARIS, TEE_M=1),
        at("ST-LILLE", LILLE, CAP_1=1),
        at("WH-LYON", LYON, excluded="rejected this order's lines", TEE_M=1, CAP_1=1),
        at("WH-MARSEILLE", MARSEILLE, capacity_left=0, TEE_M=1, CAP_1=1),
        at("ST-LYON", LYON, TEE_M=1),
        at("ST-NICE", (43.7102, 7.2620), SOCK_9=1),
    ]
    decision = source([("TEE-M", 1), ("CAP-1", 1)], network, ship_to=PARIS)

    assert "ST-LILLE" in decision.reason and "ST-PARIS" in decision.reason
    assert sorted(c.location for c in decision.considered) == sorted(
        c.location.code for c in network
    )
    assert [c.location for c in decision.considered[:2]] == ["ST-PARIS", "ST-LILLE"]
    rest = decision.considered[2:]
    assert [(c.cost, c.location) for c in rest] == sorted((c.cost, c.location) for c in rest)
    for considered in decision.considered:
        assert considered.verdict in VERDICTS
        assert considered.why
        assert set(considered.sellable) == {"TEE-M", "CAP-1"}
    assert record(decision, "ST-PARIS").verdict == "chosen"
    assert record(decision, "ST-LYON").verdict == "not chosen"
    assert record(decision, "ST-LYON").covers == 1
    assert record(decision, "WH-MARSEILLE").covers == 2


def test_the_decision_is_plain_json() -> None:
    decision = source(
        [("TEE-M", 3), ("CAP-1", 1), ("SOCK-9", 1)],
        [at("ST-PARIS", PARIS, TEE_M=2, SOCK_9=1), at("ST-LILLE", LILLE, TEE_M=5, CAP_1=1)],
        ship_to=PARIS,
    )
    as_dict = decision.as_dict()

    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["strategy"] == "pair"
    assert as_dict["plan"][0] == {
        "location": "ST-LILLE",
        "lines": [{"sku": "TEE-M", "quantity": 1}, {"sku": "CAP-1", "quantity": 1}],
    }
    assert [c["location"] for c in as_dict["considered"]] == [
        c.location for c in decision.considered
    ]
    assert as_dict["considered"][0] == {
        "location": "ST-PARIS",
        "distance_km": decision.considered[0].distance_km,
        "cost": decision.considered[0].cost,
        "priority": 100,
        "sellable": {"TEE-M": 2, "CAP-1": 0, "SOCK-9": 1},
        "covers": 3,
        "verdict": "chosen",
        "why": decision.considered[0].why,
    }


def test_the_same_order_over_the_same_stock_is_always_sourced_the_same_way() -> None:
    network = [at(f"ST-{n}", PARIS, TEE_M=n % 2, CAP_1=(n + 1) % 2) for n in range(8)]
    lines = [("TEE-M", 1), ("CAP-1", 1)]
    first = source(lines, network, ship_to=LYON)

    for seed in range(5):
        shuffled = list(network)
        random.Random(seed).shuffle(shuffled)
        again = source(lines, shuffled, ship_to=LYON)
        assert again.as_dict() == first.as_dict()
        assert again == first


@pytest.mark.parametrize(
    "lines",
    [[("TEE-M", 1), ("TEE-M", 1)], [("TEE-M", 0)], [("TEE-M", -1)]],
    ids=["sku twice", "zero", "negative"],
)
def test_lines_must_name_each_sku_once_with_a_positive_quantity(lines) -> None:
    with pytest.raises(ValueError):
        source(lines, [at("ST-PARIS", PARIS, TEE_M=5)])


# --------------------------------------------------------------------------- properties

SKUS = ("A", "B", "C", "D", "E")
FRANCE = st.tuples(st.floats(42.5, 51.0), st.floats(-4.5, 8.0))


@st.composite
def orders(draw):
    """An order, a network of candidates and maybe a customer's place."""
    skus = draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=5, unique=True))
    lines = [(sku, draw(st.integers(1, 5))) for sku in skus]
    network = []
    for n in range(draw(st.integers(0, 8))):
        network.append(
            at(
                f"L{n}",
                draw(FRANCE),
                priority=draw(st.sampled_from([1, 50, 100])),
                capacity_left=draw(st.sampled_from([None, None, 0, 1, 3])),
                excluded=draw(st.sampled_from([None, None, None, "rejected"])),
                **draw(st.dictionaries(st.sampled_from(SKUS), st.integers(-1, 6), min_size=1)),
            )
        )
    ship_to = draw(st.one_of(st.none(), FRANCE))
    return lines, network, ship_to


def usable(candidate: Candidate, lines) -> bool:
    return (
        candidate.excluded is None
        and (candidate.capacity_left is None or candidate.capacity_left > 0)
        and any(candidate.sellable.get(sku, 0) > 0 for sku, _ in lines)
    )


def covered(decision: Decision, lines) -> dict[str, int]:
    """Per sku, what the plan ships."""
    totals = dict.fromkeys((sku for sku, _ in lines), 0)
    for shipment in decision.plan:
        for sku, quantity in shipment.lines:
            totals[sku] += quantity
    return totals


BOUNDS = st.sampled_from([0, 1, 3, 20_000])  # max_pairs: the invariants hold whatever it is


@settings(max_examples=100)
@given(order=orders(), max_pairs=BOUNDS)
def test_a_plan_never_ships_more_than_is_sellable_nor_from_a_location_that_may_not_ship(
    order, max_pairs
) -> None:
    lines, network, ship_to = order
    decision = source(lines, network, ship_to=ship_to, max_pairs=max_pairs)
    by_code = {c.location.code: c for c in network}

    assert len({s.location for s in decision.plan}) == len(decision.plan)
    for shipment in decision.plan:
        candidate = by_code[shipment.location]
        assert usable(candidate, lines)
        assert shipment.lines, "a shipment without lines"
        for sku, quantity in shipment.lines:
            assert 0 < quantity <= candidate.sellable.get(sku, 0)


@settings(max_examples=100)
@given(order=orders(), max_pairs=BOUNDS)
def test_a_plan_and_its_backorders_add_up_to_the_lines_asked(order, max_pairs) -> None:
    lines, network, ship_to = order
    decision = source(lines, network, ship_to=ship_to, max_pairs=max_pairs)
    backordered = dict(decision.backorders)
    shipped_units = covered(decision, lines)

    for sku, quantity in lines:
        assert shipped_units[sku] + backordered.get(sku, 0) == quantity
        coverable = sum(max(0, c.sellable.get(sku, 0)) for c in network if usable(c, lines))
        assert shipped_units[sku] == min(quantity, coverable)
    assert [sku for sku, _ in decision.backorders] == [
        sku for sku, _ in lines if sku in backordered
    ]


@settings(max_examples=100)
@given(order=orders())
def test_every_candidate_is_recorded_once_with_its_verdict(order) -> None:
    lines, network, ship_to = order
    decision = source(lines, network, ship_to=ship_to)
    verdicts = {c.location: c.verdict for c in decision.considered}

    assert len(decision.considered) == len(network) == len(verdicts)
    assert {code for code, v in verdicts.items() if v == "chosen"} == {
        s.location for s in decision.plan
    }
    for candidate in network:
        verdict = verdicts[candidate.location.code]
        assert verdict in VERDICTS
        assert (verdict in {"chosen", "not chosen"}) == usable(candidate, lines)
    assert decision.cost == pytest.approx(
        sum(c.cost for c in decision.considered if c.verdict == "chosen")
    )
    assert json.loads(json.dumps(decision.as_dict())) == decision.as_dict()


@settings(max_examples=100)
@given(order=orders())
def test_one_location_with_everything_means_one_shipment_from_the_cheapest_such(order) -> None:
    lines, network, ship_to = order
    decision = source(lines, network, ship_to=ship_to)
    target = {sku: q - dict(decision.backorders).get(sku, 0) for sku, q in lines}
    covering = [
        c
        for c in decision.considered
        if c.verdict in {"chosen", "not chosen"}
        and all(c.sellable[sku] >= q for sku, q in target.items())
    ]
    if any(usable(c, lines) and all(c.sellable.get(s, 0) >= q for s, q in lines) for c in network):
        assert len(decision.plan) == 1
    if covering:
        assert decision.strategy == "single"
        (chosen,) = [c for c in decision.considered if c.verdict == "chosen"]
        assert all(chosen.cost <= c.cost for c in covering)


@settings(max_examples=100)
@given(order=orders())
def test_no_plan_with_fewer_or_as_many_but_cheaper_shipments_was_missed(order) -> None:
    lines, network, ship_to = order
    decision = source(lines, network, ship_to=ship_to)
    target = {sku: q - dict(decision.backorders).get(sku, 0) for sku, q in lines}
    usable_records = [c for c in decision.considered if c.verdict in {"chosen", "not chosen"}]

    def covers(plan) -> bool:
        return all(sum(c.sellable[sku] for c in plan) >= q for sku, q in target.items())

    for size in (1, 2):
        better = [
            plan
            for plan in itertools.combinations(usable_records, size)
            if covers(plan)
            and (
                size < len(decision.plan)
                or (sum(c.cost for c in plan) < decision.cost - 1e-9 and size == len(decision.plan))
            )
        ]
        assert not better, [[c.location for c in plan] for plan in better]


_LATITUDES = st.floats(min_value=-90, max_value=90)
_LONGITUDES = st.floats(min_value=-180, max_value=180)


@given(lat=_LATITUDES, lon=_LONGITUDES, to_lat=_LATITUDES, to_lon=_LONGITUDES)
def test_distances_to_one_point_are_the_same_floats_as_distance_km(
    lat: float, lon: float, to_lat: float, to_lon: float
) -> None:
    assert distance_to((to_lat, to_lon))(lat, lon) == distance_km((lat, lon), (to_lat, to_lon))
