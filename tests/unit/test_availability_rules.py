"""Pools, buffer rules, sellable units and ATS (omnistock.domain.availability), without a DB."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnistock.domain.availability import (
    BufferRule,
    Channel,
    LocationAvailability,
    Rulebook,
    sellable,
    winning_rule,
)
from omnistock.domain.catalog import Location, LocationType
from omnistock.domain.reservations import preferred

WAREHOUSE, STORE = LocationType.WAREHOUSE, LocationType.STORE


def place(code: str, type_: LocationType = STORE, **fields) -> Location:
    defaults = {"lat": 48.85, "lon": 2.35, "ship_enabled": True, "pickup_enabled": False}
    return Location(code=code, name=f"Location {code}", type=type_, **{**defaults, **fields})


PARIS = place("ST-PARIS")
LYON_WH = place("WH-LYON", WAREHOUSE)

#: Every dimension a rule can match on, its weight, and the value that matches the situation
#: below (channel web, location ST-PARIS, a store, sku TEE-M) or misses it.
DIMENSIONS = {
    "sku": (8, "TEE-M", "CAP-1"),
    "location": (4, "ST-PARIS", "WH-LYON"),
    "location_type": (2, STORE, WAREHOUSE),
    "channel": (1, "web", "mp"),
}
SUBSETS = [
    frozenset(combo)
    for size in range(len(DIMENSIONS) + 1)
    for combo in itertools.combinations(DIMENSIONS, size)
]


def rule_on(dimensions, *, id: int, units: int | None = None, basis_points=None) -> BufferRule:
    """A rule matching the situation on exactly these dimensions."""
    if units is None and basis_points is None:
        units = id
    values = {name: DIMENSIONS[name][1] for name in dimensions}
    return BufferRule(id=id, units=units, basis_points=basis_points, **values)


def weight(dimensions) -> int:
    return sum(DIMENSIONS[name][0] for name in dimensions)


def winner(rules) -> BufferRule | None:
    return winning_rule(rules, channel="web", location=PARIS, sku="TEE-M")


def describe(dimensions) -> str:
    return "+".join(sorted(dimensions)) or "nothing"


def availability(
    *, channel: str, sku: str, pool: list[Location], available: dict[str, int], rules
) -> tuple[int, list[LocationAvailability]]:
    """ATS and breakdown of `sku` on a `channel` selling from exactly `pool`, via a Rulebook.

    The channel lists the pool's locations; a listed location sells only while active, and
    the book sorts its pool by code, so the pools given here are active and sorted already.
    """
    assert all(loc.active for loc in pool)
    assert [loc.code for loc in pool] == sorted(loc.code for loc in pool)
    listing = Channel(channel, channel.upper(), locations=tuple(loc.code for loc in pool))
    book = Rulebook(
        0, locations=pool, channels=[listing], rules=[r for r in rules if r.sku is None]
    )
    sku_rules = [r for r in rules if r.sku is not None]
    assert book.pools[channel] == pool
    total, breakdown = book.breakdown(channel, sku, available, sku_rules)
    assert book.available_to_sell(channel, sku, available, sku_rules) == total
    return total, breakdown


# --------------------------------------------------------------------------- specificity


def test_there_are_sixteen_combinations_of_dimensions_each_with_its_own_weight() -> None:
    assert len(SUBSETS) == 16
    assert sorted(weight(s) for s in SUBSETS) == list(range(16))


@pytest.mark.parametrize("dimensions", SUBSETS, ids=describe)
def test_a_rule_is_as_specific_as_the_weights_of_its_dimensions_added_up(dimensions) -> None:
    rule = rule_on(dimensions, id=1)

    assert rule.specificity == weight(dimensions)
    assert rule.matches(channel="web", location=PARIS, sku="TEE-M")


@pytest.mark.parametrize("dimensions", SUBSETS, ids=describe)
def test_a_rule_on_each_combination_beats_every_less_specific_rule_whichever_is_newer(
    dimensions,
) -> None:
    for other in SUBSETS:
        if weight(other) >= weight(dimensions):
            continue
        for ids in ((1, 2), (2, 1)):  # older and newer than the less specific one
            mine, theirs = rule_on(dimensions, id=ids[0]), rule_on(other, id=ids[1])
            for rules in ([mine, theirs], [theirs, mine]):
                assert winner(rules) == mine, (describe(dimensions), describe(other), ids)


def test_with_a_rule_on_every_combination_the_rule_on_all_four_dimensions_wins() -> None:
    rules = [rule_on(s, id=n) for n, s in enumerate(reversed(SUBSETS), start=1)]
    random.Random(3).shuffle(rules)

    assert winner(rules) == rule_on(DIMENSIONS, id=1)


@pytest.mark.parametrize(
    ("stronger", "weaker"),
    [
        ({"location"}, {"location_type", "channel"}),
        ({"sku"}, {"location", "location_type", "channel"}),
        ({"location_type"}, {"channel"}),
        ({"sku", "channel"}, {"sku"}),
        ({"location", "location_type"}, {"location", "channel"}),
        ({"channel"}, set()),
    ],
    ids=lambda d: describe(d) if isinstance(d, set) else d,
)
def test_examples_of_the_weights_deciding_between_two_rules(stronger, weaker) -> None:
    newer_weaker = [rule_on(stronger, id=1), rule_on(weaker, id=2)]

    assert winner(newer_weaker).id == 1


@pytest.mark.parametrize("dimensions", SUBSETS, ids=describe)
def test_among_equally_specific_rules_the_newest_wins_in_any_order(dimensions) -> None:
    rules = [rule_on(dimensions, id=n, units=n * 10) for n in (3, 7, 5)]

    for order in itertools.permutations(rules):
        assert winner(order).id == 7


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_a_rule_that_misses_on_any_dimension_is_ignored_however_specific(dimension) -> None:
    values = {name: matching for name, (_, matching, _) in DIMENSIONS.items()}
    missing = BufferRule(id=9, units=50, **{**values, dimension: DIMENSIONS[dimension][2]})
    general = BufferRule(id=1, units=1)

    assert not missing.matches(channel="web", location=PARIS, sku="TEE-M")
    assert winner([missing]) is None
    assert winner([missing, general]) == general


def test_no_rule_at_all_means_no_buffer() -> None:
    total, breakdown = availability(
        channel="web", sku="TEE-M", pool=[PARIS], available={"ST-PARIS": 4}, rules=[]
    )

    assert winner([]) is None
    assert (total, breakdown) == (4, [LocationAvailability("ST-PARIS", 4, 0, 4)])


def test_a_location_type_rule_matches_by_the_type_of_the_location() -> None:
    stores = BufferRule(id=1, location_type=STORE, units=2)

    assert winning_rule([stores], channel="web", location=PARIS, sku="TEE-M") == stores
    assert winning_rule([stores], channel="web", location=LYON_WH, sku="TEE-M") is None


# --------------------------------------------------------------------------- how much a rule keeps


@pytest.mark.parametrize(
    ("basis_points", "available", "kept"),
    [
        (1500, 10, 2),  # 1.5 rounds up
        (2000, 10, 2),  # exactly 2 stays 2
        (2000, 7, 2),  # 1.4 rounds up
        (1250, 8, 1),  # 12.5% of 8 is exactly 1
        (1250, 9, 2),  # 1.125 rounds up
        (1, 1, 1),  # 0.01% of one unit still keeps it
        (10_000, 7, 7),  # 100% keeps everything
        (0, 7, 0),  # 0% keeps nothing
        (1500, 0, 0),  # nothing available, nothing kept
        (1500, -4, 0),  # below zero counts as nothing available
        (3333, 1_000_000_000, 333_300_000),
    ],
)
def test_a_percent_buffer_is_that_share_of_what_is_available_rounded_up(
    basis_points, available, kept
) -> None:
    assert BufferRule(id=1, basis_points=basis_points).units_kept(available) == kept


@pytest.mark.parametrize("available", [-3, 0, 2, 100])
def test_a_units_buffer_keeps_its_units_whatever_is_available(available) -> None:
    assert BufferRule(id=1, units=5).units_kept(available) == 5


@pytest.mark.parametrize(
    ("available", "buffer", "expected"),
    [(10, 3, 7), (5, 5, 0), (2, 5, 0), (0, 0, 0), (-2, 0, 0), (-2, 3, 0), (4, 0, 4)],
)
def test_sellable_is_what_is_available_above_the_buffer_never_below_zero(
    available, buffer, expected
) -> None:
    assert sellable(available, buffer) == expected


def test_a_units_buffer_larger_than_what_is_available_leaves_nothing_to_sell_there() -> None:
    total, breakdown = availability(
        channel="web",
        sku="TEE-M",
        pool=[PARIS, LYON_WH],
        available={"ST-PARIS": 3, "WH-LYON": 10},
        rules=[BufferRule(id=1, location_type=STORE, units=5)],
    )

    assert breakdown == [
        LocationAvailability("ST-PARIS", 3, 5, 0),
        LocationAvailability("WH-LYON", 10, 0, 10),
    ]
    assert total == 10


def test_the_breakdown_follows_the_pool_and_a_location_without_stock_has_zero_available() -> None:
    pool = [place("A-1"), place("B-1", WAREHOUSE), place("C-1")]

    total, breakdown = availability(
        channel="web",
        sku="TEE-M",
        pool=pool,
        available={"C-1": 4, "ELSEWHERE": 50},  # outside the pool: never counted
        rules=[BufferRule(id=1, basis_points=2500)],
    )

    assert breakdown == [
        LocationAvailability("A-1", 0, 0, 0),
        LocationAvailability("B-1", 0, 0, 0),
        LocationAvailability("C-1", 4, 1, 3),
    ]
    assert total == 3


def test_the_issue_scenario_web_marketplace_and_a_fragile_item() -> None:
    """Web keeps 2 back in every store, the marketplace keeps 20%, the vase keeps 5 everywhere."""
    nice, lille = place("ST-NICE"), place("WH-LILLE", WAREHOUSE)
    rules = [
        BufferRule(id=1, channel="web", location_type=STORE, units=2),
        BufferRule(id=2, channel="mp", basis_points=2000),
        BufferRule(id=3, sku="VASE", units=5),
    ]
    tee = {"ST-NICE": 1, "ST-PARIS": 3, "WH-LILLE": 7, "WH-LYON": 10}
    vase = {"ST-PARIS": 6, "WH-LYON": 12}

    def ats(channel, sku, pool, stock):
        total, breakdown = availability(
            channel=channel, sku=sku, pool=pool, available=stock, rules=rules
        )
        return total, [tuple(entry) for entry in breakdown]

    web = [nice, PARIS, lille, LYON_WH]
    mp = [lille, LYON_WH]
    assert ats("web", "TEE-M", web, tee) == (
        18,
        [
            ("ST-NICE", 1, 2, 0),
            ("ST-PARIS", 3, 2, 1),
            ("WH-LILLE", 7, 0, 7),
            ("WH-LYON", 10, 0, 10),
        ],
    )
    assert ats("mp", "TEE-M", mp, tee) == (13, [("WH-LILLE", 7, 2, 5), ("WH-LYON", 10, 2, 8)])
    assert ats("web", "VASE", web, vase) == (
        8,
        [("ST-NICE", 0, 5, 0), ("ST-PARIS", 6, 5, 1), ("WH-LILLE", 0, 5, 0), ("WH-LYON", 12, 5, 7)],
    )
    assert ats("mp", "VASE", mp, vase) == (7, [("WH-LILLE", 0, 5, 0), ("WH-LYON", 12, 5, 7)])


# --------------------------------------------------------------------------- pools

CANDIDATES = [
    place("WH-LYON", WAREHOUSE),
    place("ST-PARIS"),
    place("ST-TOULOUSE", ship_enabled=False),
    place("WH-OLD", WAREHOUSE, active=False),
    place("ST-CLOSED", active=False),
    place("WH-RETURNS", WAREHOUSE, ship_enabled=False),
    place("ST-NICE"),
]


def pool_of(**fields) -> list[str]:
    return [loc.code for loc in Channel(code="c", name="C", **fields).pool(CANDIDATES)]


def test_a_channel_without_lists_sells_from_every_active_ship_enabled_location_by_code() -> None:
    assert pool_of() == ["ST-NICE", "ST-PARIS", "WH-LYON"]


def test_a_channel_sells_from_every_active_location_of_its_types_shipping_or_not() -> None:
    assert pool_of(location_types=(STORE,)) == ["ST-NICE", "ST-PARIS", "ST-TOULOUSE"]
    assert pool_of(location_types=(WAREHOUSE,)) == ["WH-LYON", "WH-RETURNS"]
    assert pool_of(location_types=(WAREHOUSE, STORE)) == [
        "ST-NICE",
        "ST-PARIS",
        "ST-TOULOUSE",
        "WH-LYON",
        "WH-RETURNS",
    ]


def test_a_channel_sells_from_its_listed_active_locations_by_code() -> None:
    assert pool_of(locations=("WH-RETURNS", "ST-TOULOUSE", "WH-OLD")) == [
        "ST-TOULOUSE",
        "WH-RETURNS",
    ]


def test_listed_locations_add_to_the_listed_types_once_each() -> None:
    assert pool_of(location_types=(WAREHOUSE,), locations=("ST-PARIS", "WH-LYON")) == [
        "ST-PARIS",
        "WH-LYON",
        "WH-RETURNS",
    ]


def test_a_channel_whose_only_listed_locations_are_inactive_sells_from_nowhere() -> None:
    assert pool_of(locations=("WH-OLD", "ST-CLOSED")) == []


# --------------------------------------------------------------------------- properties

CHANNELS, SKUS = ("web", "mp"), ("TEE-M", "CAP-1")
POOL = [place("ST-NICE"), PARIS, place("WH-LILLE", WAREHOUSE), LYON_WH]
CODES = [loc.code for loc in POOL]

stock_levels = st.dictionaries(st.sampled_from(CODES), st.integers(-20, 60))


@st.composite
def rules_without_ids(draw):
    units = draw(st.one_of(st.none(), st.integers(0, 40)))
    return {
        "channel": draw(st.one_of(st.none(), st.sampled_from(CHANNELS))),
        "location": draw(st.one_of(st.none(), st.sampled_from(CODES))),
        "location_type": draw(st.one_of(st.none(), st.sampled_from([STORE, WAREHOUSE]))),
        "sku": draw(st.one_of(st.none(), st.sampled_from(SKUS))),
        "units": units,
        "basis_points": draw(st.integers(0, 10_000)) if units is None else None,
    }


rule_sets = st.lists(rules_without_ids(), max_size=8).map(
    lambda drawn: [BufferRule(id=n, **fields) for n, fields in enumerate(drawn, start=1)]
)
situations = st.tuples(st.sampled_from(CHANNELS), st.sampled_from(SKUS))


def ats(rules, stock, channel="web", sku="TEE-M") -> int:
    return availability(channel=channel, sku=sku, pool=POOL, available=stock, rules=rules)[0]


@given(rules=rule_sets, stock=stock_levels, situation=situations)
def test_ats_is_never_negative_nor_more_than_the_units_available(rules, stock, situation) -> None:
    total, breakdown = availability(
        channel=situation[0], sku=situation[1], pool=POOL, available=stock, rules=rules
    )

    assert [entry.location for entry in breakdown] == CODES
    assert total == sum(entry.sellable for entry in breakdown)
    assert 0 <= total <= sum(max(units, 0) for units in stock.values())
    for entry in breakdown:
        assert entry.available == stock.get(entry.location, 0)
        assert entry.buffer >= 0
        assert entry.sellable == max(0, entry.available - entry.buffer)


@given(rules=rule_sets, stock=stock_levels, situation=situations)
def test_the_order_in_which_rules_are_given_does_not_matter(rules, stock, situation) -> None:
    assert ats(rules, stock, *situation) == ats(list(reversed(rules)), stock, *situation)


@given(rules=rule_sets, stock=stock_levels, situation=situations, code=st.sampled_from(CODES))
def test_more_units_available_somewhere_never_lowers_ats(rules, stock, situation, code) -> None:
    more = {**stock, code: stock.get(code, 0) + 1}

    assert ats(rules, more, *situation) >= ats(rules, stock, *situation)


@given(new=rules_without_ids(), stock=stock_levels, situation=situations)
def test_the_first_rule_never_raises_ats(new, stock, situation) -> None:
    assert ats([BufferRule(id=1, **new)], stock, *situation) <= ats([], stock, *situation)


@given(rules=rule_sets, new=rules_without_ids(), stock=stock_levels, situation=situations)
def test_a_new_rule_changes_only_the_locations_where_it_wins_and_there_keeps_its_own_buffer(
    rules, new, stock, situation
) -> None:
    channel, sku = situation
    added = BufferRule(id=len(rules) + 1, **new)
    _, before = availability(channel=channel, sku=sku, pool=POOL, available=stock, rules=rules)
    _, after = availability(
        channel=channel, sku=sku, pool=POOL, available=stock, rules=[*rules, added]
    )

    for location, old, now in zip(POOL, before, after, strict=True):
        if winning_rule([*rules, added], channel=channel, location=location, sku=sku) == added:
            assert now.buffer == added.units_kept(now.available)
        else:
            assert now == old


@given(
    rules=rule_sets,
    dimensions=rules_without_ids(),
    extra=st.integers(0, 5),
    stock=stock_levels,
    situation=situations,
)
def test_a_new_rule_keeping_back_at_least_as_much_as_any_rule_never_raises_ats(
    rules, dimensions, extra, stock, situation
) -> None:
    most_kept = max((r.units_kept(max(stock.values(), default=0)) for r in rules), default=0)
    added = BufferRule(
        id=len(rules) + 1, **{**dimensions, "units": most_kept + extra, "basis_points": None}
    )

    assert ats([*rules, added], stock, *situation) <= ats(rules, stock, *situation)


def test_a_more_specific_rule_keeping_fewer_units_does_raise_ats() -> None:
    """So "adding a rule never raises ATS" is not a law: the new rule may override a bigger one."""
    stores = BufferRule(id=1, channel="web", location_type=STORE, units=2)
    paris_keeps_nothing = BufferRule(id=2, location="ST-PARIS", units=0)
    stock = {"ST-PARIS": 3}

    assert ats([stores], stock) == 1
    assert ats([stores, paris_keeps_nothing], stock) == 3


# --------------------------------------------------------------------------- the rulebook

#: Location codes (the type of each is drawn, not told by the code), channels and skus of
#: random configurations, with a channel, a location and a sku that are nowhere configured.
BOOK_CODES = ("L-1", "L-2", "L-3", "L-4", "L-5", "L-6")
BOOK_CHANNELS = ("web", "mp", "store")
BOOK_SKUS = ("TEE-M", "CAP-1", "VASE")
UNKNOWN_CHANNEL, UNKNOWN_CODE, SKU_WITHOUT_RULES = "gone", "NOWHERE", "NEW"


@st.composite
def book_locations(draw) -> list[Location]:
    codes = draw(st.lists(st.sampled_from(BOOK_CODES), min_size=1, unique=True))
    return [
        place(
            code,
            draw(st.sampled_from([STORE, WAREHOUSE])),
            active=draw(st.booleans()),
            ship_enabled=draw(st.booleans()),
            priority=draw(st.integers(0, 2)),
        )
        for code in codes
    ]


@st.composite
def book_channels(draw) -> list[Channel]:
    codes = draw(st.lists(st.sampled_from(BOOK_CHANNELS), min_size=1, unique=True))
    return [
        Channel(
            code,
            code.upper(),
            location_types=tuple(draw(st.lists(st.sampled_from([STORE, WAREHOUSE]), unique=True))),
            locations=tuple(
                draw(
                    st.lists(st.sampled_from([*BOOK_CODES, UNKNOWN_CODE]), max_size=3, unique=True)
                )
            ),
        )
        for code in codes
    ]


def maybe(values) -> st.SearchStrategy:
    return st.one_of(st.none(), st.sampled_from(values))


@st.composite
def book_rules(draw) -> list[BufferRule]:
    """Rules on any dimensions, other skus and other channels included, ids in any order."""
    count = draw(st.integers(0, 14))
    ids = draw(st.lists(st.integers(1, 1000), min_size=count, max_size=count, unique=True))
    rules = []
    for id_ in ids:
        units = draw(st.one_of(st.none(), st.integers(0, 40)))
        rules.append(
            BufferRule(
                id=id_,
                channel=draw(maybe([*BOOK_CHANNELS, UNKNOWN_CHANNEL])),
                location=draw(maybe([*BOOK_CODES, UNKNOWN_CODE])),
                location_type=draw(maybe([STORE, WAREHOUSE])),
                sku=draw(maybe(BOOK_SKUS)),
                units=units,
                basis_points=draw(st.integers(0, 10_000)) if units is None else None,
            )
        )
    return rules


@st.composite
def configurations(draw) -> tuple[list[Location], list[Channel], list[BufferRule], Rulebook]:
    """Locations, channels and rules, and the book built as the configuration cache builds
    it: from the rules without a sku (the sku's own rules come with each question)."""
    locations, channels, rules = draw(book_locations()), draw(book_channels()), draw(book_rules())
    general = [r for r in rules if r.sku is None]
    book = Rulebook(
        draw(st.integers(0, 2**62)), locations=locations, channels=channels, rules=general
    )
    return locations, channels, rules, book


#: Units available by location code: stocked, empty, negative or absent, at pool locations,
#: at locations outside a pool (inactive, unlisted) and at locations the book does not know.
stock_anywhere = st.dictionaries(
    st.sampled_from([*BOOK_CODES, UNKNOWN_CODE]), st.integers(-20, 60), max_size=7
)


def questions(channels: list[Channel]):
    """Every (channel, sku) to ask about, the sku without rules included."""
    return itertools.product((c.code for c in channels), (*BOOK_SKUS, SKU_WITHOUT_RULES))


@settings(max_examples=200)
@given(config=configurations())
def test_the_rulebook_picks_at_every_pool_location_the_rule_winning_rule_picks_among_all(
    config,
) -> None:
    _, channels, rules, book = config
    sku_rules = [r for r in rules if r.sku is not None]  # every sku's, every channel's

    for channel, sku in questions(channels):
        rule_at = book.resolver(channel, sku, sku_rules)
        for location in book.pools[channel]:
            expected = winning_rule(rules, channel=channel, location=location, sku=sku)
            assert book.resolver(channel, sku, sku_rules)(location) == expected, (channel, sku)
            assert rule_at(location) == expected, (channel, sku)


@given(config=configurations(), stock=stock_anywhere)
def test_the_breakdown_is_the_winning_rules_buffer_at_each_pool_location_by_code(
    config, stock
) -> None:
    _, channels, rules, book = config
    sku_rules = [r for r in rules if r.sku is not None]

    for channel, sku in questions(channels):
        expected = []
        for location in sorted(book.pools[channel], key=lambda loc: loc.code):
            units = stock.get(location.code, 0)
            rule = winning_rule(rules, channel=channel, location=location, sku=sku)
            buffer = rule.units_kept(units) if rule else 0
            expected.append(
                LocationAvailability(location.code, units, buffer, sellable(units, buffer))
            )
        total = sum(entry.sellable for entry in expected)

        assert book.breakdown(channel, sku, stock, sku_rules) == (total, expected)


@given(config=configurations(), stock=stock_anywhere)
def test_available_to_sell_is_the_total_of_the_breakdown(config, stock) -> None:
    _, channels, rules, book = config
    sku_rules = [r for r in rules if r.sku is not None]

    for channel, sku in questions(channels):
        expected = book.breakdown(channel, sku, stock, sku_rules)[0]
        assert book.available_to_sell(channel, sku, stock, sku_rules) == expected, (channel, sku)


@given(config=configurations(), stock=stock_anywhere)
def test_the_breakdown_at_one_location_is_that_entry_of_the_full_breakdown(config, stock) -> None:
    _, channels, rules, book = config
    sku_rules = [r for r in rules if r.sku is not None]

    for channel, sku in questions(channels):
        _, full = book.breakdown(channel, sku, stock, sku_rules)
        for entry in full:
            only = book.breakdown(channel, sku, stock, sku_rules, only=entry.location)
            assert only == (entry.sellable, [entry])
        for code in [*BOOK_CODES, UNKNOWN_CODE]:
            if not book.in_pool(channel, code):
                assert book.breakdown(channel, sku, stock, sku_rules, only=code) == (0, [])


@given(config=configurations())
def test_each_channel_holds_from_its_pool_in_the_preferred_order(config) -> None:
    locations, channels, _, book = config

    assert set(book.pools) == set(book.hold_order) == {c.code for c in channels}
    for channel in channels:
        pool = book.pools[channel.code]
        assert pool == channel.pool(locations)
        assert book.hold_order[channel.code] == preferred(pool, None)
        for code in [*BOOK_CODES, UNKNOWN_CODE]:
            assert book.in_pool(channel.code, code) == (code in {loc.code for loc in pool})
