"""The collector's guards: a token bucket per key (an API key, or a client's address when
keys are off; a client's failed API keys), and the ledger of Idempotency-Keys, which refuses
a key reused for another event."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

MAX_KEYS = 100_000  # buckets kept; beyond it the fullest ones are forgotten
MAX_IDEMPOTENCY_ENTRIES = 100_000  # keys remembered; beyond it the oldest are forgotten


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, _Bucket] = {}

    def blocked(self, key: str, now: float) -> float:
        """The seconds until ``key`` has a token (0: it has one now), taking none."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def acquire(self, key: str, now: float) -> float:
        """Take one token for ``key``: 0 when allowed, else the seconds until one is free."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_KEYS:
                self._forget(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def _forget(self, now: float) -> None:
        full = [
            k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self.rate >= self.burst
        ]
        for k in full or list(self._buckets)[: MAX_KEYS // 10]:
            del self._buckets[k]


class IdempotencyLedger:
    """What each Idempotency-Key was first sent with, so that a key reused for another
    event is refused (the IETF idempotency-key draft answers it 422) instead of stored as a
    second copy of the first. Bounded: the oldest keys are forgotten first; one ledger per
    process (with ``--workers N``, each worker has its own)."""

    def __init__(self, size: int = MAX_IDEMPOTENCY_ENTRIES) -> None:
        self.size = size
        self._seen: OrderedDict[tuple[str, str, str], str] = OrderedDict()

    def check(self, scope: str, player_id: str, key: str, body: bytes) -> bool:
        """Record the key's first body; False when the key was seen with another one."""
        entry = (scope, player_id, key)
        digest = hashlib.sha256(body).hexdigest()
        first = self._seen.get(entry)
        if first is None:
            self._seen[entry] = digest
            if len(self._seen) > self.size:
                self._seen.popitem(last=False)
            return True
        self._seen.move_to_end(entry)
        return first == digest
