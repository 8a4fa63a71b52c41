"""One writer at a time: every dbt command that writes (``./lakehouse dbt``, ``run
--every``, ``erase``) and table maintenance take the lakehouse's lock.

An exclusive ``flock`` on ``LAKEHOUSE_DIR/run.lock``: the kernel releases it when its holder
exits, however it exits (kill -9 included), so a crash never leaves a stale lock behind. The
lock belongs to the open file, so a child given its descriptor (``pass_fds``) holds it too:
the process that writes keeps it even when the one that took it is killed first.
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
def exclusive(
    settings: Settings, what: str, wait_s: float = 0.0, *, shared: bool = False
) -> Iterator[int]:
    """Hold the lock while the block runs; Busy (naming the holder) if it is not free
    within ``wait_s`` seconds. Yields the lock's descriptor, for the children that write.
    ``shared``: held together with other shared holders (the tasks of one Airflow DAG run,
    which the DAG never runs two of at once), never with an exclusive one."""
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
                    raise Busy(f"{path} is held by {holder or 'shared holders'}") from None
                time.sleep(0.5)
        if not shared:  # shared holders leave the file as it is: each would overwrite it
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} ({what})".encode(), 0)
        try:
            yield fd
        finally:
            if not shared:
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
