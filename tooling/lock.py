"""One writer at a time: ``dbt`` runs and table maintenance take the lakehouse's lock.

An exclusive ``flock`` on ``LAKEHOUSE_DIR/run.lock``: the kernel releases it when its holder
exits, however it exits (kill -9 included), so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tooling.settings import Settings


class Busy(Exception):
    """Another process holds the lakehouse's lock."""


def lock_path(settings: Settings) -> Path:
    return settings.lakehouse_dir / "run.lock"


@contextmanager
def exclusive(settings: Settings, what: str, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the lock while the block runs; Busy (naming the holder) if it is not free
    within ``wait_s`` seconds."""
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                    raise Busy(f"{path} is held by {holder}") from None
                time.sleep(0.5)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({what})".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
