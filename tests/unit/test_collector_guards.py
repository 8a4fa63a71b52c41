"""The collector's request guards and settings, without a server."""

from __future__ import annotations

import pytest

from streaming.collector.app import MAX_JSON_DEPTH, _json_depth_ok
from streaming.collector.config import CollectorConfig, CollectorConfigError
from streaming.collector.events import BOUNDS, EVENT_TYPES
from streaming.collector.guard import RateLimiter


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        (b'{"a": 1}', True),
        (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, True),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), False),
        (b'{"a": "' + b"{" * 50 + b'"}', True),  # brackets inside a string do not count
        (b'{"a": "\\"' + b"[" * 50 + b'"}', True),  # nor after an escaped quote
    ],
)
def test_json_depth(body, ok):
    assert _json_depth_ok(body) is ok


def test_rate_limiter_allows_the_burst_then_refills():
    limiter = RateLimiter(rate=2, burst=3)
    assert [limiter.acquire("k", 0.0) for _ in range(3)] == [0, 0, 0]
    assert limiter.acquire("k", 0.0) == pytest.approx(0.5)
    assert limiter.acquire("other", 0.0) == 0
    assert limiter.acquire("k", 0.5) == 0


def test_config_from_env(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("# team keys\n" + "a" * 20 + "\n\n" + "b" * 20 + "  # ci\n")
    config = CollectorConfig.from_env(
        {
            "COLLECTOR_API_KEYS": "c" * 20,
            "COLLECTOR_API_KEYS_FILE": str(keys),
            "COLLECTOR_RATE_LIMIT": "5",
            "COLLECTOR_CORS_ORIGINS": "https://game.example, https://beta.example",
            "COLLECTOR_DOCS": "off",
        }
    )
    assert config.api_keys == {"a" * 20, "b" * 20, "c" * 20}
    assert (config.rate_per_second, config.burst) == (5, 10)
    assert config.cors_origins == ("https://game.example", "https://beta.example")
    assert config.docs is False
    assert CollectorConfig.from_env({}) == CollectorConfig()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COLLECTOR_API_KEYS": "short"}, "shorter than 16"),
        ({"COLLECTOR_API_KEYS_FILE": "/nonexistent"}, "no file"),
        ({"COLLECTOR_RATE_LIMIT": "fast"}, "must be numbers"),
        ({"COLLECTOR_DOCS": "maybe"}, "on or off"),
    ],
)
def test_config_errors_say_what_to_fix(env, message):
    with pytest.raises(CollectorConfigError, match=message):
        CollectorConfig.from_env(env)


def test_every_bounded_field_belongs_to_an_event():
    fields = {f for model in EVENT_TYPES.values() for f in model.model_fields}
    assert set(BOUNDS) <= fields
