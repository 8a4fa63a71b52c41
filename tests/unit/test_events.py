"""Synthetic generators and delivery order: pure Python, no Kafka."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from streaming.events import format_ts, parse_ts
from streaming.events.delivery import delivery_order
from streaming.events.ide import generate_ide_events
from streaming.events.web import HOST_WEIGHTS, NON_PUBLIC, generate_web_events

START = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
SPAN = timedelta(days=2)
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
WEB_KEYS = {
    "event_uuid",
    "url",
    "referrer",
    "user_agent",
    "headers",
    "host",
    "ip",
    "user_id",
    "event_time",
}
IDE_KEYS = {"user_id", "event_id", "product_code", "timestamp"}
FIVE_MIN = timedelta(minutes=5)
# The two generators behind one interface: (generate, event-time field).
GENERATORS = {
    "web": (generate_web_events, "event_time"),
    "ide": (generate_ide_events, "timestamp"),
}


@pytest.fixture(scope="module")
def web() -> list[dict]:
    return generate_web_events(5000, 7, START, SPAN)


@pytest.fixture(scope="module")
def ide() -> list[dict]:
    return generate_ide_events(5000, 7, START, SPAN)


def _times(events: list[dict], key: str) -> list[datetime]:
    return [parse_ts(e[key]) for e in events]


def _visitors(events: list[dict]) -> dict[tuple[str, str, str], list[dict]]:
    by_visitor: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for e in events:
        by_visitor[e["host"], e["ip"], e["user_agent"]].append(e)
    return by_visitor


# --- both generators ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", GENERATORS)
def test_times_sorted_and_inside_window(kind, request):
    _, field = GENERATORS[kind]
    times = _times(request.getfixturevalue(kind), field)
    assert times == sorted(times)
    assert all(START <= t < START + SPAN for t in times)


@pytest.mark.parametrize("kind", GENERATORS)
@pytest.mark.parametrize("count", [0, 1, 37, 1000])
def test_count_is_exact(kind, count):
    generate, _ = GENERATORS[kind]
    assert len(generate(count, 3, START, timedelta(hours=1))) == count


@pytest.mark.parametrize("kind", GENERATORS)
def test_is_deterministic(kind):
    generate, _ = GENERATORS[kind]
    a = generate(500, 11, START, SPAN)
    assert a == generate(500, 11, START, SPAN)
    assert a != generate(500, 12, START, SPAN)


# --- time format -------------------------------------------------------------------------------


def test_format_ts_is_utc_with_three_ms_digits():
    cet = datetime(2024, 3, 1, 11, 0, 0, 123999, tzinfo=timezone(timedelta(hours=1)))
    assert format_ts(cet) == "2024-03-01T10:00:00.123Z"
    assert format_ts(datetime(2024, 3, 1, tzinfo=UTC)) == "2024-03-01T00:00:00.000Z"


def test_parse_ts_round_trips_and_is_aware():
    parsed = parse_ts("2024-03-01T10:00:00.123Z")
    assert parsed == datetime(2024, 3, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)
    assert format_ts(parsed) == "2024-03-01T10:00:00.123Z"


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError):
        format_ts(datetime(2024, 3, 1))
    with pytest.raises(ValueError):
        parse_ts("2024-03-01T10:00:00.123")
    with pytest.raises(ValueError):
        generate_web_events(10, 1, datetime(2024, 3, 1), SPAN)


# --- web events --------------------------------------------------------------------------------


def test_web_shape(web):
    assert len(web) == 5000
    for e in web:
        assert set(e) == WEB_KEYS
        assert uuid.UUID(e["event_uuid"]).version == 4
        assert e["url"].startswith("/")
        assert e["referrer"] is None or re.match(r"^https://[a-z0-9.-]+/", e["referrer"])
        assert e["user_id"] is None or (isinstance(e["user_id"], str) and e["user_id"].isdigit())
        assert isinstance(e["headers"], dict) and e["headers"]
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in e["headers"].items())
        assert e["headers"]["user-agent"] == e["user_agent"]
        assert e["headers"].get("referer") == e["referrer"]
        assert TS.match(e["event_time"]), e["event_time"]
    assert len({e["event_uuid"] for e in web}) == len(web)


def test_web_ips_are_public_ipv4(web):
    for e in web:
        ip = ipaddress.ip_address(e["ip"])
        assert ip.version == 4
        assert ip.is_global, ip
        assert not any(ip in net for net in NON_PUBLIC), ip


def test_web_user_agents_look_real(web):
    agents = Counter(e["user_agent"] for e in web)
    assert len(agents) >= 10
    assert all(a.startswith("Mozilla/5.0 (") for a in agents)
    assert any("Googlebot" in a for a in agents)
    assert any("iPhone" in a for a in agents)


def test_web_hosts_cover_all_five(web):
    hosts = Counter(e["host"] for e in web)
    assert (
        set(hosts)
        == set(HOST_WEIGHTS)
        == {
            "zachwilson.techcreator.io",
            "zachwilson.tech",
            "lulu.techcreator.io",
            "bootcamp.techcreator.io",
            "www.dataexpert.io",
        }
    )
    # Weighted, not uniform.
    assert hosts["www.dataexpert.io"] > 2 * hosts["lulu.techcreator.io"]


def test_web_tiny_window_still_fills_count():
    span = timedelta(seconds=30)
    events = generate_web_events(200, 5, START, span)
    assert len(events) == 200
    assert all(START <= t < START + span for t in _times(events, "event_time"))


def test_web_window_with_sub_millisecond_start():
    start = START + timedelta(microseconds=400)
    times = _times(generate_web_events(500, 5, start, timedelta(minutes=10)), "event_time")
    assert all(start <= t < start + timedelta(minutes=10) for t in times)


def test_web_visits_are_bursty(web):
    """Within a visit 2 s .. 4 min between views, between visits 6 min or more; nothing else."""
    within, between = 0, 0
    for events in _visitors(web).values():
        times = _times(events, "event_time")
        for earlier, later in pairwise(times):
            gap = later - earlier
            # One ms of slack: times are truncated to milliseconds.
            if timedelta(seconds=2) - timedelta(milliseconds=1) <= gap <= timedelta(minutes=4):
                within += 1
            elif gap >= timedelta(minutes=6) - timedelta(milliseconds=1):
                between += 1
            else:
                pytest.fail(f"gap {gap} is neither inside a visit nor between visits")
    assert within > 1000
    assert between > 100


def test_web_about_forty_percent_of_visitors_arrive_logged_out(web):
    visitors = _visitors(web).values()
    logged_out = sum(events[0]["user_id"] is None for events in visitors)
    assert 0.3 < logged_out / len(visitors) < 0.55


def test_web_some_visitors_log_in_and_nobody_logs_out(web):
    logged_in_mid_way = 0
    for events in _visitors(web).values():
        ids = [e["user_id"] for e in events]
        known = [i for i in ids if i is not None]
        assert len(set(known)) <= 1, "a visitor switched accounts"
        if known:
            first_known = ids.index(known[0])
            assert None not in ids[first_known:], "a visitor logged out"
            if first_known > 0:
                logged_in_mid_way += 1
                assert events[first_known - 1]["url"] == "/login"
    assert logged_in_mid_way > 0


def test_web_internal_referrers_point_at_the_previous_page(web):
    internal = 0
    for events in _visitors(web).values():
        for previous, e in pairwise(events):
            if e["referrer"] and e["referrer"].startswith(f"https://{e['host']}/"):
                assert e["referrer"] == f"https://{e['host']}{previous['url']}"
                internal += 1
    assert internal > 1000


# --- IDE events --------------------------------------------------------------------------------


def test_ide_shape(ide):
    assert len(ide) == 5000
    for e in ide:
        assert set(e) == IDE_KEYS
        assert isinstance(e["user_id"], str) and e["user_id"]
        assert re.fullmatch(r"[a-h]", e["event_id"])
        assert re.fullmatch(r"[A-Z]{2}", e["product_code"])
        assert TS.match(e["timestamp"]), e["timestamp"]
    ids = Counter(e["event_id"] for e in ide)
    assert set(ids) == set("abcdefgh")
    assert sum(ids[c] for c in "abc") > sum(ids[c] for c in "defgh") > 0
    assert {"PY", "IC", "IU"} <= {e["product_code"] for e in ide}


def _streams(events: list[dict]) -> dict[tuple[str, str], list[dict]]:
    by_stream: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for e in events:
        by_stream[e["user_id"], e["product_code"]].append(e)
    return by_stream


def test_ide_user_actions_come_in_bursts(ide):
    """Short gaps inside bursts, > 5 min between them, never 3..5 min (the threshold is clean)."""
    short, long_ = 0, 0
    for events in _streams(ide).values():
        times = _times([e for e in events if e["event_id"] in "abc"], "timestamp")
        for earlier, later in pairwise(times):
            gap = later - earlier
            if gap < FIVE_MIN:
                assert gap <= timedelta(minutes=3)
                short += 1
            else:
                assert gap > FIVE_MIN
                long_ += 1
    assert short > 500
    assert long_ > 50


def test_ide_events_fall_inside_and_outside_bursts(ide):
    inside, between, outside = 0, 0, 0
    for events in _streams(ide).values():
        actions = _times([e for e in events if e["event_id"] in "abc"], "timestamp")
        if not actions:
            continue
        for t in _times([e for e in events if e["event_id"] in "defgh"], "timestamp"):
            if t < actions[0] or t > actions[-1]:
                outside += 1
            else:
                before = max(a for a in actions if a <= t)
                after = min(a for a in actions if a >= t)
                if after - before > FIVE_MIN:
                    between += 1
                else:
                    inside += 1
    assert inside > 0
    assert between > 0
    assert outside > 0


# --- delivery order ----------------------------------------------------------------------------


def _key(e: dict) -> str:
    return str(e["event_uuid"])


def test_delivery_keeps_every_event_and_adds_exact_duplicates(web):
    arrived = delivery_order(web, "event_time", seed=1, late_fraction=0.1, duplicate_fraction=0.05)
    assert len(arrived) == len(web) + round(0.05 * len(web))
    counts = Counter(_key(e) for e in arrived)
    assert set(counts) == {_key(e) for e in web}
    assert set(counts.values()) == {1, 2}
    originals = {_key(e): e for e in web}
    for e in arrived:
        assert e == originals[_key(e)]


def test_duplicates_are_copies_and_come_after_on_time_originals(web):
    arrived = delivery_order(web, "event_time", seed=1, late_fraction=0.0, duplicate_fraction=0.05)
    first: dict[str, dict] = {}
    second: list[dict] = []
    for e in arrived:
        if _key(e) in first:
            second.append(e)
        else:
            first[_key(e)] = e
    assert len(second) == round(0.05 * len(web))
    originals = list(first.values())
    assert _times(originals, "event_time") == sorted(_times(originals, "event_time"))
    for copy in second:
        assert copy == first[_key(copy)]
        assert copy is not first[_key(copy)]
        assert copy["headers"] is not first[_key(copy)]["headers"]


def test_late_events_arrive_out_of_order(web):
    arrived = delivery_order(web, "event_time", seed=2, late_fraction=0.1)
    times = _times(arrived, "event_time")
    assert times != sorted(times)
    # The latest event seen so far runs ahead of an arriving one: that is what lateness means.
    late = 0
    high = times[0]
    for t in times:
        if t < high:
            late += 1
            # An event can only be overtaken by events that happened within its own delay.
            assert high - t <= timedelta(days=3, milliseconds=1)
        high = max(high, t)
    assert late > 0.05 * len(web)
    assert Counter(_key(e) for e in arrived) == Counter(_key(e) for e in web)


def test_zero_late_fraction_keeps_time_order(ide):
    shuffled = list(reversed(ide))
    arrived = delivery_order(shuffled, "timestamp", seed=3, late_fraction=0.0)
    times = _times(arrived, "timestamp")
    assert times == sorted(times)
    assert sorted(map(repr, arrived)) == sorted(map(repr, ide))


def test_delivery_is_deterministic(web):
    a = delivery_order(web, "event_time", seed=4, late_fraction=0.2, duplicate_fraction=0.1)
    assert a == delivery_order(web, "event_time", seed=4, late_fraction=0.2, duplicate_fraction=0.1)
    assert a != delivery_order(web, "event_time", seed=5, late_fraction=0.2, duplicate_fraction=0.1)


def test_delivery_does_not_mutate_its_input(web):
    before = [dict(e) for e in web]
    delivery_order(web, "event_time", seed=6, late_fraction=0.5, duplicate_fraction=0.5)
    assert web == before


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_delivery_rejects_fractions_outside_unit_interval(web, fraction):
    with pytest.raises(ValueError):
        delivery_order(web, "event_time", seed=1, late_fraction=fraction)
    with pytest.raises(ValueError):
        delivery_order(web, "event_time", seed=1, late_fraction=0.0, duplicate_fraction=fraction)
