"""The collector's request guards and settings, without a server."""

from __future__ import annotations

import socket
import time

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
        ({"COLLECTOR_BODY_TIMEOUT": "0"}, "BODY_TIMEOUT must be > 0"),
        ({"COLLECTOR_MAX_CONNECTIONS": "many"}, "must be numbers"),
    ],
)
def test_config_errors_say_what_to_fix(env, message):
    with pytest.raises(CollectorConfigError, match=message):
        CollectorConfig.from_env(env)


def test_every_bounded_field_belongs_to_an_event():
    fields = {f for model in EVENT_TYPES.values() for f in model.model_fields}
    assert set(BOUNDS) <= fields


# --- The collector under abuse: the real server (uvicorn, in a thread), its sink pointed at
# a port no broker listens on, so that an event past every guard is answered 503, never
# stored. Clients come from addresses of their own on the loopback network. --------------

PURCHASE = {"player_id": "p1", "item_type": "sword", "price": 12.5, "quantity": 1}


@pytest.fixture
def clients():
    """``clients(config, *addresses)``: one collector, and an httpx client from each address."""
    import contextlib

    import httpx

    from streaming.collector.app import serve_in_thread
    from streaming.collector.sink import KafkaSink

    with contextlib.ExitStack() as stack:

        def make(config: CollectorConfig, *addresses: str) -> list[httpx.Client]:
            url = stack.enter_context(
                serve_in_thread(KafkaSink("127.0.0.1:9"), config=config, wait_for_kafka=False)
            )
            return [
                stack.enter_context(
                    httpx.Client(
                        base_url=url,
                        timeout=10,
                        transport=httpx.HTTPTransport(local_address=address),
                    )
                )
                for address in addresses
            ]

        yield make


def test_without_api_keys_each_address_has_its_own_rate_limit(clients):
    one, other = clients(CollectorConfig(rate_per_second=0.01, burst=2), "127.0.0.11", "127.0.0.12")
    statuses = [one.post("/events/purchase", json=PURCHASE).status_code for _ in range(3)]
    assert statuses == [503, 503, 429]  # past the limiter (the sink is down), then limited
    assert other.post("/events/purchase", json=PURCHASE).status_code == 503


def test_an_address_that_keeps_sending_wrong_keys_is_refused_before_its_key_is_read(clients):
    key = "k" * 32
    config = CollectorConfig(api_keys=frozenset({key}))
    guesser, client = clients(config, "127.0.0.13", "127.0.0.14")
    wrong = [
        guesser.post("/events/purchase", json=PURCHASE, headers={"x-api-key": f"guess-{i:011d}"})
        for i in range(12)
    ]
    assert [r.status_code for r in wrong[:10]] == [401] * 10
    assert wrong[-1].status_code == 429 and int(wrong[-1].headers["retry-after"]) >= 1
    # even the right key: the address is throttled, and learns nothing from its guesses
    right = {"x-api-key": key}
    assert guesser.post("/events/purchase", json=PURCHASE, headers=right).status_code == 429
    assert client.post("/events/purchase", json=PURCHASE, headers=right).status_code == 503


def test_health_names_the_brokers_only_to_a_caller_with_a_key(clients):
    key = "k" * 32
    (caller,) = clients(CollectorConfig(api_keys=frozenset({key})), "127.0.0.15")
    anonymous = caller.get("/health")
    assert anonymous.status_code == 503
    assert anonymous.json() == {"status": "degraded", "kafka": "down"}
    detailed = caller.get("/health", headers={"x-api-key": key}).json()["kafka"]
    assert detailed.startswith("down: ") and len(detailed) > len("down: "), detailed


def test_an_idempotency_key_reused_for_another_event_is_422(clients):
    key = "k" * 32
    (caller,) = clients(CollectorConfig(api_keys=frozenset({key})), "127.0.0.16")
    headers = {"x-api-key": key, "idempotency-key": "order-1"}
    first = caller.post("/events/purchase", json=PURCHASE, headers=headers)
    assert first.status_code == 503  # stored nowhere, but the key now stands for this event
    # a retry of the same event, its keys in another order: on to the sink again
    reordered = dict(reversed(list(PURCHASE.items())))
    assert caller.post("/events/purchase", json=reordered, headers=headers).status_code == 503
    changed = caller.post("/events/purchase", json={**PURCHASE, "quantity": 9}, headers=headers)
    assert changed.status_code == 422 and "Idempotency-Key" in changed.json()["detail"]
    # another player's key of the same name is another key
    other = {**PURCHASE, "player_id": "p2", "quantity": 9}
    assert caller.post("/events/purchase", json=other, headers=headers).status_code == 503


def test_idempotency_ids_are_scoped_to_the_api_key_and_stable_without_keys():
    from streaming.collector.app import _event_uuid, _key_scope

    assert _key_scope("") == ""
    a, b = _key_scope("a" * 32), _key_scope("b" * 32)
    assert a != b and "a" * 8 not in a
    assert _event_uuid("p1", "order-1", a) != _event_uuid("p1", "order-1", b)
    assert _event_uuid("p1", "order-1", a) == _event_uuid("p1", "order-1", a)
    # with keys off, the id is the one collectors derived before ids were scoped
    import uuid

    from streaming.collector.app import IDEMPOTENCY_NAMESPACE

    assert _event_uuid("p1", "order-1") == str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, "p1\x1forder-1"))


def _slow_request(url: str) -> socket.socket:
    """A connection that sends a request's headers and the first byte of its 100-byte body,
    then nothing more."""
    host, port = url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    conn.sendall(
        b"POST /events/purchase HTTP/1.1\r\nHost: collector\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    return conn


def test_a_body_that_arrives_too_slowly_is_408_and_the_connection_closed():
    from streaming.collector.app import serve_in_thread
    from streaming.collector.sink import KafkaSink

    config = CollectorConfig(body_timeout_s=1.0)
    with serve_in_thread(KafkaSink("127.0.0.1:9"), config=config, wait_for_kafka=False) as url:
        conn = _slow_request(url)
        began = time.monotonic()
        with conn:
            answer = b""
            while chunk := conn.recv(4096):  # until the server closes the connection
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert 0.9 <= time.monotonic() - began < 5


def test_connections_beyond_the_limit_are_answered_503_at_once():
    import httpx

    from streaming.collector.app import serve_in_thread
    from streaming.collector.sink import KafkaSink

    config = CollectorConfig(max_connections=2, body_timeout_s=30)
    with serve_in_thread(KafkaSink("127.0.0.1:9"), config=config, wait_for_kafka=False) as url:
        held = [_slow_request(url) for _ in range(2)]  # two clients hold a connection each
        try:
            time.sleep(0.5)
            began = time.monotonic()
            r = httpx.get(f"{url}/health", timeout=10)
            # uvicorn's own answer, not the app's (which would be JSON: Kafka is down too)
            assert r.status_code == 503 and "kafka" not in r.text, r.text
            assert time.monotonic() - began < 2
        finally:
            for conn in held:
                conn.close()
        time.sleep(0.5)
        assert httpx.get(f"{url}/health", timeout=10).json()["kafka"] == "down"  # served again


def test_only_a_fatal_producer_error_drops_the_producer():
    """The sink's error callback, called as librdkafka calls it: a transient error changes
    nothing (librdkafka retries it), a fatal one marks the sink down and the watcher's next
    check drops the producer (and, with no broker here, builds none)."""
    from confluent_kafka import KafkaError, Producer

    from streaming.collector.sink import KafkaSink

    sink = KafkaSink("127.0.0.1:9")
    sink._producer = Producer({"bootstrap.servers": "127.0.0.1:9"})
    before = sink.state()
    sink.on_error(KafkaError(KafkaError._TRANSPORT, "broker down for a moment"))
    assert sink.state() == before and sink._producer is not None
    sink.on_error(KafkaError(KafkaError._FATAL, "sequence lost", fatal=True))
    assert not sink.state().up and "fatally" in sink.state().reason
    assert not sink._check().up
    assert sink._producer is None
