"""The collector's settings, from the environment (never from the repository).

COLLECTOR_API_KEYS         comma-separated keys; set, every POST needs one (X-API-Key or
                           Authorization: Bearer); unset, the collector is open
COLLECTOR_API_KEYS_FILE    a file with one key per line (# comments allowed), instead
COLLECTOR_RATE_LIMIT       requests per second per key (or per client when keys are off);
                           over it: 429 with Retry-After. Unset: no limit
COLLECTOR_RATE_BURST       how many requests a key may send at once (default 2 x the rate)
COLLECTOR_CORS_ORIGINS     comma-separated origins allowed to POST from a browser; unset:
                           CORS is off
COLLECTOR_DOCS             "off" hides /docs, /redoc and /openapi.json
COLLECTOR_BODY_TIMEOUT     seconds a request's body may take to arrive (default 10); slower:
                           408 and the connection closed
COLLECTOR_MAX_CONNECTIONS  connections served at once, per process (default 1000); beyond it
                           new requests are answered 503 at once
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class CollectorConfigError(Exception):
    """A setting the collector cannot use, phrased as what to fix."""


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


@dataclass(frozen=True)
class CollectorConfig:
    api_keys: frozenset[str] = frozenset()
    rate_per_second: float = 0.0
    burst: float = 0.0
    cors_origins: tuple[str, ...] = ()
    docs: bool = True
    body_timeout_s: float = 10.0
    max_connections: int = 1000

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> CollectorConfig:
        env = dict(os.environ) if env is None else env
        keys = set(_split(env.get("COLLECTOR_API_KEYS")))
        keys_file = env.get("COLLECTOR_API_KEYS_FILE")
        if keys_file:
            path = Path(keys_file)
            if not path.is_file():
                raise CollectorConfigError(f"COLLECTOR_API_KEYS_FILE: no file at {path}")
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    keys.add(line)
        short = sorted(k for k in keys if len(k) < 16)
        if short:
            raise CollectorConfigError(
                f"{len(short)} API key(s) shorter than 16 characters: use long random keys "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        try:
            rate = float(env.get("COLLECTOR_RATE_LIMIT") or 0)
            burst = float(env.get("COLLECTOR_RATE_BURST") or 2 * rate)
        except ValueError as exc:
            raise CollectorConfigError(
                f"COLLECTOR_RATE_LIMIT and COLLECTOR_RATE_BURST must be numbers ({exc})"
            ) from None
        if rate < 0 or (rate and burst < 1):
            raise CollectorConfigError(
                "COLLECTOR_RATE_LIMIT must be >= 0 and COLLECTOR_RATE_BURST >= 1"
            )
        try:
            body_timeout = float(env.get("COLLECTOR_BODY_TIMEOUT") or 10)
            connections = int(env.get("COLLECTOR_MAX_CONNECTIONS") or 1000)
        except ValueError as exc:
            raise CollectorConfigError(
                f"COLLECTOR_BODY_TIMEOUT and COLLECTOR_MAX_CONNECTIONS must be numbers ({exc})"
            ) from None
        if body_timeout <= 0 or connections < 1:
            raise CollectorConfigError(
                "COLLECTOR_BODY_TIMEOUT must be > 0 and COLLECTOR_MAX_CONNECTIONS >= 1"
            )
        docs = env.get("COLLECTOR_DOCS", "on").strip().lower()
        if docs not in ("on", "off"):
            raise CollectorConfigError(f"COLLECTOR_DOCS must be on or off, not {docs!r}")
        return cls(
            api_keys=frozenset(keys),
            rate_per_second=rate,
            burst=burst,
            cors_origins=_split(env.get("COLLECTOR_CORS_ORIGINS")),
            docs=docs == "on",
            body_timeout_s=body_timeout,
            max_connections=connections,
        )
