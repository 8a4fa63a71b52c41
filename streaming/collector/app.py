"""The collector: FastAPI on uvicorn.

Why FastAPI: request validation from typed models (a wrong type or a missing field is a 422
that names the field, for free), and an OpenAPI page the game team can read at /docs.

Each accepted event gets a server timestamp (`received_at`) and an `event_uuid`, is written
to the Kafka topic `game_events` (acks=all, idempotent producer) and is answered 202 only
after Kafka acknowledged it. If Kafka cannot store it: 503 with `Retry-After`, never a 2xx.

A client that retries (after a 503, a timeout, a lost answer) sends the same
`Idempotency-Key` header: the `event_uuid` is then derived from the API key, the player and
that key, so every copy carries the same id and staging keeps one; the same key with another
event is refused 422. Without the header each request is a new event.

Abuse: requests are limited per API key, or per client address when keys are off; a client
address that keeps sending wrong API keys is answered 429 before its key is even checked;
`/health` names the brokers and the reason only to a caller with a valid API key.

    ./lakehouse collector serve --port 8000
    curl -X POST localhost:8000/events/purchase -H 'content-type: application/json' \
         -H 'idempotency-key: 6f1c...' \
         -d '{"player_id": "p1", "item_type": "sword", "price": 12.5, "quantity": 1}'
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from streaming.collector.config import CollectorConfig
from streaming.collector.events import EVENT_TYPES
from streaming.collector.guard import IdempotencyLedger, RateLimiter
from streaming.collector.sink import TOPIC, KafkaSink, SinkUnavailable
from streaming.events import format_ts

__all__ = ["TOPIC", "KafkaSink", "create_app", "serve_in_thread"]

MAX_BODY_BYTES = 16 * 1024
MAX_JSON_DEPTH = 8
# uuid5 namespace of the ids derived from an Idempotency-Key (any fixed uuid; never change it)
IDEMPOTENCY_NAMESPACE = uuid.UUID("0b6f5f0e-6a2e-4d8e-9a53-3c2f6a0e7d41")
MAX_IDEMPOTENCY_KEY = 128
# wrong API keys a client address may send: a burst of 10, then one a second
AUTH_FAILURE_RATE = 1.0
AUTH_FAILURE_BURST = 10


def _problem(status: int, detail: str, retry_after: float | None = None) -> HTTPException:
    headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after else None
    return HTTPException(status_code=status, detail=detail, headers=headers)


async def _read_body(request: Request, timeout_s: float) -> bytes:
    """The body, refused with 413 as soon as it passes MAX_BODY_BYTES (chunked bodies too:
    it is counted while it streams in, never buffered whole first), and with 408 (the
    connection closed) when it has not all arrived within ``timeout_s``: a client that sends
    its body slowly cannot hold a connection."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise _problem(413, f"body larger than {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):  # no task per chunk, unlike wait_for
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise _problem(413, f"body larger than {MAX_BODY_BYTES} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise HTTPException(
            status_code=408,
            detail=f"the body did not arrive within {timeout_s:g} s",
            headers={"Connection": "close"},
        ) from None
    return b"".join(chunks)


def _json_depth_ok(body: bytes) -> bool:
    """Whether no JSON array or object nests deeper than MAX_JSON_DEPTH (brackets inside
    strings are skipped). Cheap: most bodies have one pair of braces and return at once."""
    if body.count(b"{") + body.count(b"[") <= MAX_JSON_DEPTH:
        return True
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return False
        elif byte in (0x7D, 0x5D):  # } ]
            depth -= 1
    return True


def _parse(body: bytes) -> dict[str, Any]:
    if not _json_depth_ok(body):
        raise _problem(400, f"body nests JSON deeper than {MAX_JSON_DEPTH} levels")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _problem(400, f"body is not JSON: {exc}") from exc
    except RecursionError as exc:  # pragma: no cover - the depth check comes first
        raise _problem(400, "body nests JSON too deeply") from exc
    if not isinstance(payload, dict):
        raise _problem(400, "body must be a JSON object")
    return payload


def _check_idempotency_key(idempotency_key: str) -> None:
    if not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY or not idempotency_key.isprintable():
        raise _problem(
            400, f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters"
        )


def _key_scope(api_key: str) -> str:
    """Whose Idempotency-Keys these are: a digest of the API key ("" when keys are off), so
    that two clients' keys never collide and no id derives from the key itself."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16] if api_key else ""


def _event_uuid(player_id: str, idempotency_key: str | None, scope: str = "") -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    # without API keys the name is the player and the key, as before keys were scoped
    name = f"{player_id}\x1f{idempotency_key}"
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{scope}\x1f{name}" if scope else name))


# gen-0 collections every GC_THRESHOLD allocations instead of every 700: a request allocates
# a few hundred short-lived objects, and the default ran a collection every few requests
# (with full collections stalling the loop for tens of ms: p99 84 ms at c=64, 42 ms after)
GC_THRESHOLD = (100_000, 50, 1_000)


@contextmanager
def server_gc() -> Iterator[None]:
    """GC tuned for a server while it serves: the objects alive at start-up (FastAPI,
    pydantic, librdkafka's wrappers) are frozen out of every collection, and collections run
    less often. Restored when it stops (the collector may share a process: tests, benchmarks)."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def create_app(sink: KafkaSink, config: CollectorConfig | None = None) -> FastAPI:
    config = config or CollectorConfig.from_env()
    limiter = RateLimiter(config.rate_per_second, config.burst) if config.rate_per_second else None
    failures = RateLimiter(AUTH_FAILURE_RATE, AUTH_FAILURE_BURST)  # per client address
    ledger = IdempotencyLedger()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sink.start()  # the producer is built now, in the background, never in a request
        with server_gc():
            yield
        sink.close()

    docs = config.docs
    app = FastAPI(
        title="Game events collector",
        description="Validates gameplay events and stores them in Kafka (topic game_events).",
        version="1.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["POST", "GET"],
            allow_headers=["content-type", "idempotency-key", "x-api-key", "authorization"],
        )

    def client(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def sent_key(request: Request) -> str | None:
        """The API key the request carries, if it carries one that is valid."""
        key = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if key is None and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        return key if key is not None and key in config.api_keys else None

    def authorize(request: Request) -> str:
        """The caller's API key (or "" when keys are off); 401 when it is missing or wrong,
        429 (before the key is looked at) for an address that sent too many wrong ones."""
        if not config.api_keys:
            return ""
        now, address = time.monotonic(), client(request)
        wait = failures.blocked(address, now)
        if wait > 0:
            raise _problem(
                429, "too many missing or unknown API keys from this address", retry_after=wait
            )
        key = sent_key(request)
        if key is None:
            failures.acquire(address, now)
            raise HTTPException(
                status_code=401,
                detail="missing or unknown API key (send it as X-API-Key)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return key

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        state = sink.state()
        # the brokers and the reason only for a caller with a valid key: to anyone else,
        # up or down (the collector's log has the reason)
        detailed = bool(config.api_keys) and sent_key(request) is not None
        return JSONResponse(
            status_code=200 if state.up else 503,
            content={
                "status": "ok" if state.up else "degraded",
                "kafka": state.describe() if detailed else ("up" if state.up else "down"),
            },
            headers=None if state.up else {"Retry-After": str(round(sink.retry_after_s))},
        )

    @app.post("/events/{event_type}", status_code=202)
    async def collect(event_type: str, request: Request) -> dict[str, Any]:
        key = authorize(request)
        if limiter is not None:
            # per API key; with keys off, per client address (one shared bucket would let one
            # client get everyone a 429)
            wait = limiter.acquire(key or f"client {client(request)}", time.monotonic())
            if wait > 0:
                raise _problem(
                    429, "rate limit exceeded for this API key or address", retry_after=wait
                )
        model = EVENT_TYPES.get(event_type)
        if model is None:
            raise _problem(
                404,
                f"unknown event type {event_type!r}; "
                f"expected one of {', '.join(sorted(EVENT_TYPES))}",
            )
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise _problem(415, "content-type must be application/json")
        payload = _parse(await _read_body(request, config.body_timeout_s))
        try:
            event = model.model_validate(payload)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            raise _problem(422, problems) from exc
        idempotency_key = request.headers.get("idempotency-key")
        scope = _key_scope(key)
        if idempotency_key is not None:
            _check_idempotency_key(idempotency_key)
            # the same event: its type and its JSON, whatever the key order or white space
            same = json.dumps([event_type, payload], sort_keys=True).encode()
            if not ledger.check(scope, event.player_id, idempotency_key, same):
                raise _problem(
                    422,
                    "this Idempotency-Key was sent before with another event: a retry must "
                    "send the same event again, a new event needs a new key",
                )
        record = {
            "event_uuid": _event_uuid(event.player_id, idempotency_key, scope),
            "event_type": event_type,
            "received_at": format_ts(datetime.now(UTC)),
            **{k: (str(v) if isinstance(v, Decimal) else v) for k, v in event.model_dump().items()},
        }
        try:
            await sink.store(event.player_id, record)
        except SinkUnavailable as exc:
            raise _problem(
                503, f"event not stored: {exc}; retry later", sink.retry_after_s
            ) from exc
        return {"event_uuid": record["event_uuid"], "received_at": record["received_at"]}

    return app


@contextmanager
def serve_in_thread(
    sink: KafkaSink,
    host: str = "127.0.0.1",
    port: int = 0,
    config: CollectorConfig | None = None,
    wait_for_kafka: bool = True,
) -> Iterator[str]:
    """Run the collector on uvicorn in a background thread; yields its base URL once it
    serves (and, with ``wait_for_kafka``, once its producer is connected).

    port 0 picks a free port. Used by the demo and the tests; `./lakehouse collector serve`
    runs it in the foreground instead.
    """
    import socket
    import threading

    import uvicorn

    if port == 0:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    config = config or CollectorConfig.from_env()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(sink, config),
            host=host,
            port=port,
            log_level="warning",
            limit_concurrency=config.max_connections,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the collector did not start on {host}:{port}")
        time.sleep(0.05)
    if wait_for_kafka and not sink.wait_up(timeout_s=30):
        server.should_exit = True
        thread.join(timeout=30)
        raise RuntimeError(f"the collector cannot reach Kafka: {sink.state().describe()}")
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
