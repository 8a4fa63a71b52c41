"""Where the collector stores events: one idempotent Kafka producer, watched.

The producer is built at start-up by a background thread, which retries until a broker
answers, so a collector started before Kafka serves 503s instead of failing. The same thread
watches the broker: its address must accept connections, the producer's metadata (refreshed
every second) must be fresh, and no acknowledgement may be overdue. While any of these fails
the sink is down and every request is answered 503 at once, without touching Kafka.

A request never blocks the event loop: the record is appended to the producer's buffer and
the request awaits the acknowledgement as an asyncio future (many requests share one produce
batch). An acknowledgement that does not come within ``ack_timeout_s`` is a 503: the record
may still be written later, which is why clients retry with the same ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from streaming import kafka_client

TOPIC = "game_events"
CONNECT_TIMEOUT_S = 0.5
METADATA_REFRESH_MS = 1_000
STALE_METADATA_S = 3.0
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

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="kafka-sink", daemon=True)
            self._watcher.start()

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
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None
        if self._producer is not None:
            self._producer.close(timeout=5)
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
        try:
            sent = producer.send(self.topic, key=key.encode(), value=value)
        except Exception as exc:
            raise SinkUnavailable(f"Kafka refused the event ({type(exc).__name__})") from exc
        self._in_flight[id(acked)] = time.monotonic()
        sent.add_callback(lambda _meta: self._settled(loop, acked, None))
        sent.add_errback(lambda exc: self._settled(loop, acked, exc))
        try:
            await asyncio.wait_for(asyncio.shield(acked), self.ack_timeout_s)
        except TimeoutError as exc:
            raise SinkUnavailable(
                f"Kafka did not acknowledge within {self.ack_timeout_s:g} s"
            ) from exc
        except Exception as exc:
            raise SinkUnavailable(f"Kafka did not store the event ({type(exc).__name__})") from exc

    def _settled(
        self, loop: asyncio.AbstractEventLoop, acked: asyncio.Future[None], error: Any
    ) -> None:
        """Called on the producer's thread for each acknowledgement (or failure): queued, and
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
                acked.set_exception(error)

    # --- the watcher ---------------------------------------------------------------------

    def _build(self) -> Any:
        from kafka import KafkaProducer

        producer = KafkaProducer(
            bootstrap_servers=self.bootstrap,
            **self._security.python_kwargs(),
            acks="all",
            enable_idempotence=True,
            linger_ms=10,
            max_block_ms=1_000,
            bootstrap_timeout_ms=2_000,
            request_timeout_ms=5_000,
            delivery_timeout_ms=30_000,
            metadata_max_age_ms=METADATA_REFRESH_MS,
        )
        try:
            producer.partitions_for(self.topic)  # metadata now, so no request waits for it
        except Exception:
            producer.close(timeout=1)
            raise
        return producer

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
        if not self._reachable():
            return SinkState(False, f"no broker accepts connections at {self.bootstrap}")
        if self._producer is None:
            try:
                self._producer = self._build()
            except Exception as exc:
                return SinkState(False, f"no producer yet ({type(exc).__name__})")
        # the producer refreshes metadata every second; stale metadata = a broker not answering
        refreshed_ms = self._producer._metadata._last_successful_refresh_ms
        age_s = time.monotonic() - refreshed_ms / 1000
        if age_s > STALE_METADATA_S:
            self._producer._metadata.request_update()
            return SinkState(False, f"the broker has not answered for {age_s:.0f} s")
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
