"""The webhooks' pure rules: which events a subscription selects, the retry schedule with its
jitter, and which URLs a webhook may point at."""

from __future__ import annotations

import pytest

from omnistock.domain.errors import InvalidInput
from omnistock.domain.events import Event
from omnistock.domain.webhooks import check_url, retry_delay, subscription, tries


def test_a_family_selects_every_type_of_it_and_nothing_else() -> None:
    chosen = subscription(["order.*", "stock.changed"])

    selected = {e.value for e in Event if chosen.matches(e.value)}

    assert selected == {e.value for e in Event if e.value.startswith("order.")} | {"stock.changed"}


def test_a_star_selects_every_event() -> None:
    assert all(subscription(["*"]).matches(e.value) for e in Event)


@pytest.mark.parametrize(
    ("filters", "field"),
    [([], "events"), (["order.*", "order.sent"], "events[1]"), (["orders.*"], "events[0]")],
)
def test_an_unknown_type_or_family_is_refused_naming_it(filters: list[str], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        subscription(filters)
    assert refused.value.field == field


def test_retries_come_after_5s_30s_2min_10min_1h_then_every_6h_for_up_to_3_days() -> None:
    delays = [retry_delay(n, base=5.0) for n in range(1, tries() + 1)]

    assert delays[:6] == [5, 30, 120, 600, 3600, 21600]
    assert set(delays[5:-1]) == {21600} and delays[-1] is None
    waited = sum(d for d in delays if d is not None)
    assert 2.5 * 86400 < waited <= 3 * 86400


def test_jitter_moves_a_delay_by_at_most_a_fifth_either_way() -> None:
    assert retry_delay(2, base=5.0, jitter=1.0) == pytest.approx(36.0)
    assert retry_delay(2, base=5.0, jitter=-1.0) == pytest.approx(24.0)
    assert retry_delay(2, base=5.0, jitter=7.0) == pytest.approx(36.0)


def test_the_schedule_scales_with_its_base_so_tests_run_in_milliseconds() -> None:
    assert retry_delay(3, base=0.001) == pytest.approx(0.024)
    assert tries(base=0.001) == tries(base=5.0) == 17


@pytest.mark.parametrize(
    "url",
    [
        "https://erp.example.com/hooks",
        "http://127.0.0.1:9000/hook",  # another port of this machine: another program
        "http://10.0.0.8:8000/hook",  # the same port on another host
    ],
)
def test_a_webhook_may_point_at_another_program(url: str) -> None:
    assert check_url(url, server_host="127.0.0.1", server_port=8000) == url


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("http://127.0.0.1:8000/v1/items", "127.0.0.1", 8000),
        ("http://localhost:8000/", "127.0.0.1", 8000),
        ("http://[::1]:8000/", "localhost", 8000),
        ("http://127.0.0.2:8000/", "0.0.0.0", 8000),
        ("http://shop.internal/", "shop.internal", 80),
        ("https://SHOP.internal/", "shop.internal", 443),
    ],
)
def test_a_webhook_may_not_point_at_the_server_itself(url: str, host: str, port: int) -> None:
    with pytest.raises(InvalidInput, match="this server itself"):
        check_url(url, server_host=host, server_port=port)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "example.com/hooks", "http:///path", "http://u:p@example.com/"]
)
def test_only_http_and_https_urls_with_a_host_and_no_password_are_allowed(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_url(url, server_host="127.0.0.1", server_port=8000)
