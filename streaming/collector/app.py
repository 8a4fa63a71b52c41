"""The collector: FastAPI on uvicorn.

Why FastAPI: request validation from typed models (a wrong type or a missing field is a 422
that names the field, for free), an OpenAPI page the game team can read at /docs, and
uvicorn's event loop in front of a thread pool for the blocking Kafka acknowledgement.

Each accepted event gets a server timestamp (`received_at`) and an `event_uuid`, is written
to the Kafka topic `game_events` (acks=all, idempotent producer) and is answered 202 only
after Kafka acknowledged it. If Kafka cannot store it: 503, never a 2xx.

    ./lakehouse collector serve --port 8000
    curl -X POST localhost:8000/events/purchase -H 'content-type: application/json' \
         -d '{"player_id": "p1", "item_type": "sword", "price": 12.5, "quantity": 1}'
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from streaming import kafka_client
from streaming.collector.events import EVENT_TYPES

if TYPE_CHECKING:
    from kafka import KafkaProducer
from streaming.events import format_ts

TOPIC = "game_events"
MAX_BODY_BYTES = 16 * 1024
KAFKA_TIMEOUT_MS = 5_000


class KafkaSink:
    """One idempotent producer shared by all requests, created on first use."""

    def __init__(self, bootstrap: str, topic: str = TOPIC) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        # bad security settings fail here, at start-up, not on the first request
        self._security = kafka_client.load()
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def _get(self) -> KafkaProducer:
        from kafka import KafkaProducer

        with self._lock:
            if self._producer is None:
                self._producer = KafkaProducer(
                    bootstrap_servers=self.bootstrap,
                    **self._security.python_kwargs(),
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=2,
                    max_block_ms=KAFKA_TIMEOUT_MS,
                    request_timeout_ms=KAFKA_TIMEOUT_MS,
                    delivery_timeout_ms=KAFKA_TIMEOUT_MS * 2,
                )
            return self._producer

    def store(self, key: str, record: dict[str, Any]) -> None:
        """Send and wait for the broker's acknowledgement; raises on any failure."""
        value = json.dumps(record, separators=(",", ":"), default=str).encode()
        future = self._get().send(self.topic, key=key.encode(), value=value)
        future.get(timeout=KAFKA_TIMEOUT_MS / 1000 * 2)

    def healthy(self) -> bool:
        try:
            return bool(self._get().partitions_for(self.topic))
        except Exception:
            return False

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None


@contextmanager
def serve_in_thread(sink: KafkaSink, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run the collector on uvicorn in a background thread; yields its base URL.

    port 0 picks a free port. Used by the demo and the tests; `./lakehouse collector serve`
    runs it in the foreground instead.
    """
    import socket

    import uvicorn

    if port == 0:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    config = uvicorn.Config(create_app(sink), host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the collector did not start on {host}:{port}")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def create_app(sink: KafkaSink) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        sink.close()

    app = FastAPI(
        title="Game events collector",
        description="Validates gameplay events and stores them in Kafka (topic game_events).",
        version="1.0.0",
        lifespan=lifespan,
    )

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse(
                status_code=413,
                content={"detail": f"body larger than {MAX_BODY_BYTES} bytes"},
            )
        return await call_next(request)

    @app.get("/health")
    def health() -> JSONResponse:
        ok = sink.healthy()
        return JSONResponse(
            status_code=200 if ok else 503,
            content={"status": "ok" if ok else "degraded", "kafka": "up" if ok else "down"},
        )

    @app.post("/events/{event_type}", status_code=202)
    async def collect(event_type: str, request: Request) -> dict[str, Any]:
        model = EVENT_TYPES.get(event_type)
        if model is None:
            raise HTTPException(
                status_code=404,
                detail=f"unknown event type {event_type!r}; "
                f"expected one of {', '.join(sorted(EVENT_TYPES))}",
            )
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(status_code=413, detail=f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HTTPException(status_code=400, detail=f"body is not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise HTTPException(status_code=400, detail="body must be a JSON object")
        try:
            event = model.model_validate(payload)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            raise HTTPException(status_code=422, detail=problems) from exc
        record = {
            "event_uuid": str(uuid.uuid4()),
            "event_type": event_type,
            "received_at": format_ts(datetime.now(UTC)),
            **{k: (str(v) if isinstance(v, Decimal) else v) for k, v in event.model_dump().items()},
        }
        try:
            await run_in_threadpool(sink.store, event.player_id, record)
        except Exception as exc:
            raise HTTPException(
                status_code=503,
                detail=f"event not stored: Kafka unavailable ({type(exc).__name__}); retry later",
            ) from exc
        return {"event_uuid": record["event_uuid"], "received_at": record["received_at"]}

    return app
