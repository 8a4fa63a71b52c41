"""An independent, pure-Python statement of the session rule, for the tests to compare with.

Times are integer epoch milliseconds (UTC). Nothing here is shared with the dbt models.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
from collections import defaultdict
from datetime import UTC, datetime

GAP_MS = 300_000
BLOCK_MS = 12 * 3_600_000  # sessions__runaway_max_hours
USER_ACTIONS = frozenset({"a", "b", "c"})


def iso_ms(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_ms(iso: str) -> int:
    """Epoch milliseconds of an ISO-8601 time (``Z`` or an offset)."""
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def build_sessions(
    action_times: list[int], gap_ms: int = GAP_MS, block_ms: int = BLOCK_MS
) -> list[tuple[int, int, bool, bool]]:
    """(start, end, is_cut_start, is_cut_end) of each session, in time order.

    Runs: activities less than `gap_ms` apart; a run covers [first, last + gap). A block
    boundary b (a multiple of `block_ms` since the epoch) cuts a run when the run covers all of
    [b - block, b] and has an activity at or after b; the interval is split at each cut.
    """
    runs: list[list[int]] = []
    for t in sorted(action_times):
        if runs and t - runs[-1][-1] < gap_ms:
            runs[-1].append(t)
        else:
            runs.append([t])
    sessions = []
    for run in runs:
        start, last = run[0], run[-1]
        first_boundary = -(-start // block_ms) * block_ms  # the first boundary >= start
        cuts = [
            b
            for b in range(first_boundary, last + 1, block_ms)
            if b - block_ms >= start and b > start
        ]
        edges = [start, *cuts, last + gap_ms]
        n = len(edges) - 1
        sessions += [(a, z, i > 0, i < n - 1) for i, (a, z) in enumerate(itertools.pairwise(edges))]
    return sessions


def find_session(sessions: list[tuple[int, int, bool, bool]], t: int):
    """The session whose [start, end) holds t, or None."""
    starts = [s[0] for s in sessions]
    i = bisect.bisect_right(starts, t) - 1
    if i >= 0 and t < sessions[i][1]:
        return sessions[i]
    return None


def sessionize_ide(
    events: list[dict], gap_ms: int = GAP_MS, block_ms: int = BLOCK_MS
) -> list[dict]:
    """events: user_id, event_id, product_code, ts (ms); already de-duplicated and valid."""
    by_key: dict[tuple, list[dict]] = defaultdict(list)
    for e in events:
        by_key[(e["user_id"], e["product_code"])].append(e)
    out = []
    for (user, product), evs in by_key.items():
        actions = [e["ts"] for e in evs if e["event_id"] in USER_ACTIONS]
        sessions = build_sessions(actions, gap_ms, block_ms)
        for e in evs:
            s = find_session(sessions, e["ts"])
            out.append(
                {
                    **e,
                    "session_start": s[0] if s else None,
                    "session_end": s[1] if s else None,
                    "is_cut_start": s[2] if s else None,
                    "is_session_cut": (s[2] or s[3]) if s else None,
                    "session_id": f"{user}#{product}#{iso_ms(s[0])}" if s else None,
                }
            )
    return out


def ide_sessions(rows: list[dict]) -> list[dict]:
    by_session: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["session_id"] is not None:
            by_session[r["session_id"]].append(r)
    out = []
    for sid, evs in by_session.items():
        actions = [e["ts"] for e in evs if e["event_id"] in USER_ACTIONS]
        start = evs[0]["session_start"]
        out.append(
            {
                "session_id": sid,
                "user_id": evs[0]["user_id"],
                "product_code": evs[0]["product_code"],
                "session_start": start,
                "session_end": evs[0]["session_end"],
                "last_action": max(actions),
                "duration_ms": max(actions) - start,
                "user_action_count": len(actions),
                "event_count": len(evs),
                "is_session_cut": evs[0]["is_session_cut"],
            }
        )
    return out


def web_session_id(host: str, ip: str, user_id: str | None, start_ms: int) -> str:
    payload = {"host": host, "ip": ip, "user_id": user_id, "session_start": iso_ms(start_ms)}
    return hashlib.sha256(_compact_json(payload).encode()).hexdigest()


def _compact_json(payload: dict) -> str:
    """Spark's to_json: compact, and a null field is left out."""
    compact = {k: v for k, v in payload.items() if v is not None}
    return json.dumps(compact, separators=(",", ":"), ensure_ascii=False)


def web_event_key(event: dict) -> str:
    """A web event's identity as the docs state it: the producer's event_uuid, else the
    SHA-256 of its canonical payload (host lower-cased, headers as sorted compact JSON, the
    time as ISO-8601 with milliseconds). Sessions break ties of time by it, so a reference
    that ordered events otherwise would pick another landing or exit URL."""
    uuid = (event.get("event_uuid") or "").strip()
    if uuid:
        return uuid
    headers = event.get("headers")
    if isinstance(headers, str):
        headers = json.loads(headers)
    payload = {
        "url": event.get("url"),
        "referrer": event.get("referrer"),
        "user_agent": event.get("user_agent"),
        "headers": None if headers is None else _compact_json(dict(sorted(headers.items()))),
        "host": (event.get("host") or "").lower() or None,
        "ip": event.get("ip"),
        "user_id": event.get("user_id"),
        "event_time": iso_ms(parse_ms(event["event_time"])),
    }
    return hashlib.sha256(_compact_json(payload).encode()).hexdigest()


def sessionize_web(
    events: list[dict], gap_ms: int = GAP_MS, block_ms: int = BLOCK_MS
) -> list[dict]:
    """events: event_key, host, ip, user_id (None = logged out), url, ts (ms)."""
    by_key: dict[tuple, list[dict]] = defaultdict(list)
    for e in events:
        by_key[(e["host"], e["ip"], e["user_id"])].append(e)
    out = []
    for evs in by_key.values():
        sessions = build_sessions([e["ts"] for e in evs], gap_ms, block_ms)
        for e in evs:
            s = find_session(sessions, e["ts"])
            assert s is not None, "every web event is an activity"
            out.append(
                {
                    **e,
                    "session_start": s[0],
                    "session_end": s[1],
                    "is_cut_start": s[2],
                    "is_session_cut": s[2] or s[3],
                    "session_key": (e["host"], e["ip"], e["user_id"], s[0]),
                    "session_id": web_session_id(e["host"], e["ip"], e["user_id"], s[0]),
                }
            )
    return out


def web_sessions(rows: list[dict]) -> list[dict]:
    by_session: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        by_session[r["session_key"]].append(r)
    out = []
    for (host, ip, user, start), evs in by_session.items():
        evs = sorted(evs, key=lambda e: (e["ts"], e["event_key"]))
        out.append(
            {
                "session_id": evs[0]["session_id"],
                "host": host,
                "ip": ip,
                "user_id": user,
                "session_start": start,
                "session_end": evs[0]["session_end"],
                "event_count": len(evs),
                "duration_ms": evs[-1]["ts"] - evs[0]["ts"],
                "landing_url": evs[0]["url"],
                "exit_url": evs[-1]["url"],
                "is_session_cut": evs[0]["is_session_cut"],
            }
        )
    return out
