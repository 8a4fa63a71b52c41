"""The ASGI app uvicorn serves: `uvicorn streaming.collector.server:app` (KAFKA_BOOTSTRAP)."""

from __future__ import annotations

from streaming.collector.app import KafkaSink, create_app
from tooling.settings import load

app = create_app(KafkaSink(load().kafka_bootstrap))
