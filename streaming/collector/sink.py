"""Where the collector stores events: one idempotent Kafka producer, watched.

The producer is librdkafka's (confluent-kafka): its network I/O, batching and retries run on
librdkafka's own threads, outside Python's interpreter lock, so the request loop keeps the
interpreter to itself. (kafka-python's sender thread is Python: profiled under load it took a
third of the interpreter's time from the requests.)

The producer is built at start-up by a background thread, which retries until a broker
answers, so a collector started before Kafka serves 503s instead of failing. The same thread
watches the broker: its address must accept connections, a metadata request must be answered
within a second, and no acknowledgement may be overdue. While any of these fails the sink is
down and every request is answered 503 at once, without touching Kafka.

A request never blocks the event loop: the record is appended to the producer's queue and
the request awaits the acknowledgement as an asyncio future (many requests share one produce
batch; a poller thread hands acknowledgements to the loop, one wake-up per batch). An
acknowledgement that does not come within ``ack_timeout_s`` is a 503: the record may still be
written later, which is why clients retry with the same ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from streaming import kafka_client

TOPIC = "game_events"
CONNECT_TIMEOUT_S = 0.5
METADATA_TIMEOUT_S = 1.0
MAX_IN_FLIGHT = 20_000
WATCH_EVERY_S = 0.5


class SinkUnavailable(Exception):
    """Kafka cannot take the event now; the message says why."""


@dataclass(frozen=True)
class SinkState:
    up: bool
    reason: str

    def describe(self) -> str:
        return "up" if self.up else f"down: {self.reason}"


class KafkaSink:
    """One idempotent producer shared by all requests, built and watched in the background."""

    def __init__(
        self,
        bootstrap: str,
        topic: str = TOPIC,
        ack_timeout_s: float = 1.5,
        retry_after_s: float = 2.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.ack_timeout_s = ack_timeout_s
        self.retry_after_s = retry_after_s
        # bad security settings fail here, at start-up, not on the first request
        self._security = kafka_client.load()
        self._producer: Any = None
        self._state = SinkState(False, "connecting")
        self._in_flight: dict[int, float] = {}  # id(future) -> when it was sent
        self._lock = threading.Lock()
        self._acks: deque[tuple[asyncio.Future[None], Any]] = deque()
        self._drain_scheduled = False
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._poller: threading.Thread | None = None
        self._fatal: Any = None  # librdkafka's fatal error: the producer must be rebuilt

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="kafka-sink", daemon=True)
            self._watcher.start()
            self._poller = threading.Thread(target=self._poll, name="kafka-acks", daemon=True)
            self._poller.start()

    def wait_up(self, timeout_s: float = 30.0) -> bool:
        """Block until the sink is up (for callers that start it outside a server)."""
        self.start()
        deadline = time.monotonic() + timeout_s
        while not self._state.up:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def close(self) -> None:
        self._stop.set()
        for thread in (self._watcher, self._poller):
            if thread is not None:
                thread.join(timeout=5)
        self._watcher = self._poller = None
        if self._producer is not None:
            self._producer.flush(5)
            self._producer = None

    # --- requests ------------------------------------------------------------------------

    def state(self) -> SinkState:
        return self._state

    async def store(self, key: str, record: dict[str, Any]) -> None:
        """Append the record and await Kafka's acknowledgement; SinkUnavailable otherwise."""
        state = self._state
        producer = self._producer
        if not state.up or producer is None:
            raise SinkUnavailable(f"Kafka {state.reason}")
        if len(self._in_flight) >= MAX_IN_FLIGHT:
            raise SinkUnavailable(f"{MAX_IN_FLIGHT} events await Kafka's acknowledgement")
        value = json.dumps(record, separators=(",", ":"), default=str).encode()
        loop = asyncio.get_running_loop()
        acked: asyncio.Future[None] = loop.create_future()
        self._in_flight[id(acked)] = time.monotonic()
        try:
            producer.produce(
                self.topic,
                value=value,
                key=key.encode(),
                on_delivery=lambda error, _msg: self._settled(loop, acked, error),
            )
        except Exception as exc:  # BufferError: the queue is full; KafkaException
            self._in_flight.pop(id(acked), None)
            error = exc.args[0] if exc.args else None
            if getattr(error, "fatal", lambda: False)():
                self.on_error(error)
            raise SinkUnavailable(f"Kafka refused the event ({type(exc).__name__})") from exc
        try:
            async with asyncio.timeout(self.ack_timeout_s):  # no extra task, unlike wait_for
                await acked
        except TimeoutError as exc:
            raise SinkUnavailable(
                f"Kafka did not acknowledge within {self.ack_timeout_s:g} s"
            ) from exc
        except Exception as exc:
            raise SinkUnavailable(f"Kafka did not store the event ({type(exc).__name__})") from exc

    def _settled(
        self, loop: asyncio.AbstractEventLoop, acked: asyncio.Future[None], error: Any
    ) -> None:
        """Called on the poller thread for each acknowledgement (or failure): queued, and
        the event loop woken once per batch of them rather than once per record."""
        self._acks.append((acked, error))
        with self._lock:
            if self._drain_scheduled:
                return
            self._drain_scheduled = True
        with contextlib.suppress(RuntimeError):  # a closed loop: the server is stopping
            loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            self._drain_scheduled = False
        while self._acks:
            acked, error = self._acks.popleft()
            self._in_flight.pop(id(acked), None)
            if acked.done():
                continue
            if error is None:
                acked.set_result(None)
            else:
                acked.set_exception(SinkUnavailable(f"Kafka did not store the event ({error})"))

    def on_error(self, error: Any) -> None:
        """librdkafka's error callback (on the poller thread). A fatal error (an idempotent
        producer's sequence lost, a fenced producer) leaves the producer unusable: the sink
        is down at once, and the watcher builds a new producer. Other errors are transient:
        librdkafka retries them itself, and the watcher sees their effect."""
        if error.fatal():
            self._fatal = error
            self._state = SinkState(False, f"the producer failed fatally ({error.name()})")

    # --- the watcher ---------------------------------------------------------------------

    def _build(self) -> Any:
        from confluent_kafka import Producer

        producer = Producer(
            {
                "bootstrap.servers": self.bootstrap,
                **self._security.librdkafka_config(),
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 2,
                "socket.timeout.ms": 5_000,
                "message.timeout.ms": 30_000,
                "queue.buffering.max.messages": MAX_IN_FLIGHT * 2,
                "logger": _quiet_logger(),
                "error_cb": self.on_error,
            }
        )
        producer.list_topics(self.topic, timeout=2.0)  # metadata now, not in a request
        return producer

    def _poll(self) -> None:
        """Serve the producer's delivery reports (the acknowledgements) until closed."""
        while not self._stop.is_set():
            producer = self._producer
            if producer is None:
                self._stop.wait(0.05)
                continue
            producer.poll(0.1)

    def _reachable(self) -> bool:
        for address in self.bootstrap.split(","):
            host, _, port = address.strip().rpartition(":")
            try:
                with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
                    return True
            except (OSError, ValueError):
                continue
        return False

    def _check(self) -> SinkState:
        if self._fatal is not None:
            # the old producer is dropped (its unacknowledged events are answered 503 as
            # their timeouts pass); down until a new one answers
            failed, self._producer, self._fatal = self._producer, None, None
            if failed is not None:
                with contextlib.suppress(Exception):
                    failed.purge()
        if not self._reachable():
            return SinkState(False, f"no broker accepts connections at {self.bootstrap}")
        if self._producer is None:
            try:
                self._producer = self._build()
            except Exception as exc:
                return SinkState(False, f"no producer yet ({type(exc).__name__})")
        # a broker that accepts connections but does not answer (paused, overloaded)
        try:
            self._producer.list_topics(self.topic, timeout=METADATA_TIMEOUT_S)
        except Exception as exc:
            return SinkState(False, f"the broker does not answer ({type(exc).__name__})")
        # a dict's copy is one step under the GIL; iterating the live dict from here is not
        oldest = min(self._in_flight.copy().values(), default=None)
        if oldest is not None and time.monotonic() - oldest > self.ack_timeout_s:
            return SinkState(False, "acknowledgements are overdue")
        return SinkState(True, "")

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self._state = self._check()
            except Exception as exc:  # the watcher must never die
                self._state = SinkState(False, f"watcher error ({type(exc).__name__})")
            self._stop.wait(WATCH_EVERY_S)


def _quiet_logger() -> logging.Logger:
    """librdkafka's log lines go nowhere: the sink's state says what is wrong, once."""
    logger = logging.getLogger("collector.librdkafka")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger
