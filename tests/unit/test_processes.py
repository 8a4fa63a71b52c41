"""Stopping a process group waits for every member, not only the leader: a JVM's Python
child, orphaned when the JVM exits first, must not outlive a stop."""

from __future__ import annotations

import subprocess
import time

from tooling import processes

# the leader exits on SIGTERM at once; its child ignores SIGTERM and lives a few more seconds
LEADER = ["bash", "-c", '(trap "" TERM; sleep {child_s}) & exec sleep 300']


def _start(child_s: float) -> subprocess.Popen[bytes]:
    cmd = [*LEADER[:2], LEADER[2].format(child_s=child_s)]
    proc = subprocess.Popen(cmd, start_new_session=True)
    deadline = time.monotonic() + 10
    while len(processes.group_members(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(processes.group_members(proc.pid)) == 2
    return proc


def test_stop_group_waits_for_an_orphaned_member() -> None:
    proc = _start(child_s=2)
    began = time.monotonic()
    processes.stop_group(proc, grace_s=20)
    assert proc.returncode is not None
    assert processes.group_members(proc.pid) == []
    assert time.monotonic() - began >= 1.5, "returned before the orphaned child exited"


def test_stop_group_kills_what_ignores_sigterm_after_the_grace() -> None:
    proc = _start(child_s=120)
    began = time.monotonic()
    processes.stop_group(proc, grace_s=1)
    assert processes.group_members(proc.pid) == []
    assert time.monotonic() - began < 30
