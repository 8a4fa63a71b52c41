"""Synthetic IDE telemetry: bursts of user actions with IDE-generated noise around them.

Event ids a, b, c are things the user did; d..h are things the IDE did on its own (indexing,
autosave, inspections, ...). Only user actions should define an activity session, so the
generator deliberately scatters IDE events inside bursts, in the quiet gaps between bursts and
long before or after them, where a naive sessionizer would be fooled.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from streaming.events import Event, check_count, geometric, log_uniform, ms_to_ts, window_ms

USER_ACTIONS = ("a", "b", "c")
IDE_EVENTS = ("d", "e", "f", "g", "h")
_USER_ACTION_WEIGHTS = (0.6, 0.3, 0.1)
_IDE_EVENT_WEIGHTS = (0.3, 0.25, 0.2, 0.15, 0.1)

PRODUCT_WEIGHTS = {
    "IU": 0.24,
    "PY": 0.24,
    "IC": 0.14,
    "WS": 0.12,
    "GO": 0.10,
    "DB": 0.08,
    "RM": 0.08,
}
_PRODUCTS = list(PRODUCT_WEIGHTS)
_PRODUCT_WEIGHTS = list(PRODUCT_WEIGHTS.values())

# Inside a burst actions are at most 3 minutes apart and bursts are more than 5 minutes apart,
# so a 5-minute inactivity threshold separates them exactly; nothing lands in between.
ACTION_GAP_S = (1.0, 180.0)
BURST_GAP_S = (5 * 60.0 + 1.0, 6 * 3600.0)
FAR_AWAY_S = (30 * 60.0, 12 * 3600.0)
MEAN_BURSTS, MAX_BURSTS = 3.0, 12
MEAN_ACTIONS, MAX_ACTIONS = 8.0, 60


def _ide_event(rng: random.Random) -> str:
    return rng.choices(IDE_EVENTS, weights=_IDE_EVENT_WEIGHTS)[0]


def _stream(rng: random.Random, lo: int, hi: int) -> list[tuple[int, str]]:
    """(epoch ms, event id) for one user in one product, in time order, clipped to [lo, hi)."""
    out: list[tuple[int, str]] = []
    t = rng.randrange(lo, hi)
    first_action = t
    for burst in range(geometric(rng, MEAN_BURSTS, MAX_BURSTS)):
        if burst:
            quiet_from = t
            t += round(log_uniform(rng, *BURST_GAP_S) * 1000)
            if rng.random() < 0.5:
                for _ in range(rng.randint(1, 2)):
                    out.append((rng.randrange(quiet_from + 1, t), _ide_event(rng)))
        burst_start = t
        for action in range(geometric(rng, MEAN_ACTIONS, MAX_ACTIONS)):
            if action:
                t += round(log_uniform(rng, *ACTION_GAP_S) * 1000)
            out.append((t, rng.choices(USER_ACTIONS, weights=_USER_ACTION_WEIGHTS)[0]))
        if t > burst_start and rng.random() < 0.6:
            for _ in range(rng.randint(1, 3)):
                out.append((rng.randint(burst_start, t), _ide_event(rng)))
    if rng.random() < 0.3:
        out.append((first_action - round(log_uniform(rng, *FAR_AWAY_S) * 1000), _ide_event(rng)))
    if rng.random() < 0.3:
        out.append((t + round(log_uniform(rng, *FAR_AWAY_S) * 1000), _ide_event(rng)))
    out.sort(key=lambda e: e[0])
    return [e for e in out if lo <= e[0] < hi]


def generate_ide_events(count: int, seed: int, start: datetime, span: timedelta) -> list[Event]:
    """`count` IDE events inside [start, start+span), sorted by timestamp, same output per seed."""
    check_count(count)
    lo, hi = window_ms(start, span)
    rng = random.Random(seed)
    used_ids: set[str] = set()
    rows: list[tuple[int, str, str, str]] = []
    while len(rows) < count:
        while (user_id := str(rng.randint(1, 9_999_999))) in used_ids:
            pass
        used_ids.add(user_id)
        products: list[str] = []
        for _ in range(rng.choices((1, 2, 3), weights=(0.7, 0.25, 0.05))[0]):
            product = rng.choices(_PRODUCTS, weights=_PRODUCT_WEIGHTS)[0]
            if product not in products:
                products.append(product)
        for product in products:
            # The stream always starts inside the window, so each one adds at least one event.
            stream = _stream(rng, lo, hi)[: count - len(rows)]
            rows.extend((t, user_id, event_id, product) for t, event_id in stream)
    rows.sort(key=lambda r: r[0])
    return [
        {
            "user_id": user_id,
            "event_id": event_id,
            "product_code": product,
            "timestamp": ms_to_ts(t),
        }
        for t, user_id, event_id, product in rows
    ]
