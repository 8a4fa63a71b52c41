"""Send synthetic events (or deliberately broken records) to Kafka with kafka-python."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from kafka import KafkaProducer
from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from rich.progress import Progress

from streaming import kafka_client
from streaming.events import Event
from streaming.events.delivery import delivery_order
from streaming.events.ide import generate_ide_events
from streaming.events.web import generate_web_events

TOPICS = {"web": "web_events", "ide": "ide_events"}
TIME_KEYS = {"web": "event_time", "ide": "timestamp"}
# Web events are independent, so spread them by id; IDE events are keyed by user so one
# partition holds a user's whole history in order.
KEY_FIELDS = {"web": "event_uuid", "ide": "user_id"}
GENERATORS: dict[str, Callable[[int, int, datetime, timedelta], list[Event]]] = {
    "web": generate_web_events,
    "ide": generate_ide_events,
}

# Fail in seconds, not kafka-python's default minute or two, when nothing is listening.
TIMEOUT_MS = 10_000


class ProducerError(Exception):
    """A problem the user can fix (broker down, topic missing), with a message saying how."""


def build_events(
    kind: str,
    count: int,
    seed: int,
    start: datetime,
    span: timedelta,
    late_fraction: float,
    duplicate_fraction: float,
) -> list[Event]:
    """Generate `count` events of `kind` ("web" or "ide") and return them in arrival order."""
    if kind not in GENERATORS:
        raise ValueError(f"unknown event kind {kind!r}: expected one of {sorted(GENERATORS)}")
    events = GENERATORS[kind](count, seed, start, span)
    # A seed of its own, so changing the delivery fractions never changes the events themselves.
    return delivery_order(events, TIME_KEYS[kind], seed + 1, late_fraction, duplicate_fraction)


def _encode(value: bytes | str | None) -> bytes | None:
    return value.encode("utf-8") if isinstance(value, str) else value


def _no_broker(bootstrap: str, security: kafka_client.KafkaSecurity | None = None) -> ProducerError:
    if security is not None and security.uses_sasl:
        return ProducerError(
            f"no Kafka broker at {bootstrap} accepted user {security.username!r} "
            f"({security.protocol}, {security.mechanism}): check the broker runs, the user "
            "name and password, and KAFKA_BOOTSTRAP"
        )
    return ProducerError(
        f"no Kafka broker answers at {bootstrap}: "
        "start one with `./lakehouse kafka start` or set KAFKA_BOOTSTRAP"
    )


@contextmanager
def _connected(bootstrap: str, topic: str) -> Iterator[KafkaProducer]:
    try:
        security = kafka_client.load()
    except kafka_client.KafkaSecurityError as e:
        raise ProducerError(str(e)) from e
    try:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            **security.python_kwargs(),
            acks="all",
            linger_ms=20,
            request_timeout_ms=TIMEOUT_MS,
            max_block_ms=TIMEOUT_MS,
            bootstrap_timeout_ms=TIMEOUT_MS,
        )
    except (KafkaTimeoutError, KafkaConnectionError) as e:
        # kafka-python 3 reports an unreachable bootstrap, and a refused login, as a timeout.
        raise _no_broker(bootstrap, security) from e
    try:
        try:
            # The broker answered the bootstrap above, so a metadata timeout here means the
            # topic is unknown (auto-creation is off) rather than the broker being away.
            partitions = producer.partitions_for(topic)
        except KafkaError as e:
            partitions = None
            cause: Exception | None = e
        else:
            cause = None
        if not partitions:
            raise ProducerError(
                f"topic {topic!r} does not exist on {bootstrap}: "
                "run `./lakehouse kafka create-topics` first"
            ) from cause
        yield producer
    finally:
        producer.close(timeout=TIMEOUT_MS / 1000)


class _Sender:
    """Sends records, remembers the first delivery failure and raises it after the flush."""

    def __init__(self, producer: KafkaProducer, bootstrap: str, topic: str) -> None:
        self.producer = producer
        self.bootstrap = bootstrap
        self.topic = topic
        self.sent = 0
        self.failure: Exception | None = None

    def _failed(self, exc: Exception) -> None:
        if self.failure is None:
            self.failure = exc

    def send(self, value: bytes | None, key: bytes | None) -> None:
        try:
            future = self.producer.send(self.topic, value=value, key=key)
        except KafkaTimeoutError as e:
            # The send buffer stayed full for max_block_ms: the broker stopped taking records.
            raise _no_broker(self.bootstrap) from e
        future.add_errback(self._failed)
        self.sent += 1

    def finish(self) -> int:
        try:
            self.producer.flush(timeout=TIMEOUT_MS / 1000 * 3)
        except KafkaTimeoutError as e:
            raise _no_broker(self.bootstrap) from e
        if self.failure is not None:
            raise ProducerError(
                f"Kafka at {self.bootstrap} rejected records for {self.topic!r}: {self.failure}"
            ) from self.failure
        return self.sent


def produce(
    bootstrap: str,
    topic: str,
    events: Iterable[Event],
    rate: float | None = None,
    key_field: str | None = None,
    progress: bool = True,
) -> int:
    """Send each event as compact JSON; return how many were sent.

    `rate` caps events per second (None: as fast as the broker takes them). `key_field` names
    the event field used as the record key (None: no key, round-robin partitions).
    """
    if rate is not None and rate <= 0:
        raise ValueError(f"rate must be positive events per second, got {rate}")
    total = len(events) if isinstance(events, Sized) else None
    with (
        _connected(bootstrap, topic) as producer,
        Progress(disable=not progress, transient=False) as bar,
    ):
        sender = _Sender(producer, bootstrap, topic)
        task = bar.add_task(f"producing to {topic}", total=total)
        began = time.monotonic()
        for i, event in enumerate(events):
            if rate is not None:
                # Pace against the start rather than per record so sleep overshoot never adds up.
                ahead = began + i / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            key = event.get(key_field) if key_field else None
            value = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            sender.send(value, None if key is None else str(key).encode("utf-8"))
            bar.advance(task)
        return sender.finish()


def produce_raw(
    bootstrap: str,
    topic: str,
    values: Iterable[bytes | str],
    key: bytes | str | None = None,
) -> int:
    """Send values byte for byte (str as UTF-8), e.g. b"not json" for the bad-record path."""
    with _connected(bootstrap, topic) as producer:
        sender = _Sender(producer, bootstrap, topic)
        for value in values:
            sender.send(_encode(value), _encode(key))
        return sender.finish()


@dataclass(frozen=True)
class Synthetic:
    """What ``produce_synthetic`` generates: per kind, ``count`` events from ``start`` over
    ``span``, a share delivered late and a share re-delivered, paced at ``rate`` (None: flat
    out)."""

    count: int
    seed: int
    start: datetime
    span: timedelta
    late_fraction: float = 0.05
    duplicate_fraction: float = 0.01
    rate: float | None = None


def produce_synthetic(bootstrap: str, kinds: Iterable[str], plan: Synthetic) -> dict[str, int]:
    """Generate and send each kind's events to its topic; returns events sent per kind."""
    sent = {}
    for kind in kinds:
        events = build_events(
            kind,
            plan.count,
            plan.seed,
            plan.start,
            plan.span,
            plan.late_fraction,
            plan.duplicate_fraction,
        )
        sent[kind] = produce(
            bootstrap, TOPICS[kind], events, rate=plan.rate, key_field=KEY_FIELDS[kind]
        )
    return sent
