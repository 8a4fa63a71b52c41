"""Start, find and stop the long-running processes the tooling owns (Kafka broker, Spark
master, worker, Thrift server): each is found again by its pid file, checked against its
command line, and stopped by its pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any


def port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A free port whose successor is free too (a Kafka broker's listener and controller)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if port < 65000 and not port_taken(host, port + 1):
            return port
    raise RuntimeError(f"no two free adjacent ports on {host}")


def port_open(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """True when something accepts connections at host:port."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout_s):
        return True
    return False


def read_pid(pid_file: Path, marker: bytes) -> int | None:
    """The pid in ``pid_file`` if that process runs and its command line holds ``marker``."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if marker in cmdline and not is_zombie(pid) else None


def is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (OSError, IndexError):
        return True


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and not is_zombie(pid)


def process_table() -> dict[int, tuple[str, int, int]]:
    """Every process now: pid -> (state, parent pid, process group), from /proc/PID/stat."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ')'
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            table[int(entry.name)] = (fields[0], int(fields[1]), int(fields[2]))
        except (OSError, ValueError, IndexError):
            continue  # gone since the listing
    return table


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``. A zombie holds no resources
    and is its parent's to reap (init's, once orphaned), so it does not count."""
    return [
        pid for pid, (state, _, group) in process_table().items() if group == pgid and state != "Z"
    ]


def stop_group(
    proc: subprocess.Popen[Any], grace_s: float = 30.0, sig: int = signal.SIGTERM
) -> None:
    """Stop ``proc`` and every process of its group (it was started with
    ``start_new_session=True``): ``sig`` to the group, SIGKILL to whatever is left after
    ``grace_s``. Returns once the leader is reaped and no member of the group runs (a JVM's
    Python child, orphaned when the JVM exits first, is waited for too)."""
    pgid = proc.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if proc.poll() is not None and not group_members(pgid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 30
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)


def spawn(cmd: list[str], log: Path, pid_file: Path, env: dict[str, str] | None = None) -> int:
    """Start ``cmd`` in a session of its own, output to ``log``; write and return its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(str(proc.pid))
    return proc.pid


def stop_pid(pid: int, wait_s: float = 30.0) -> None:
    """SIGTERM, then SIGKILL after ``wait_s``; reaps the process when it is our child."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if is_zombie(pid):
            break
        time.sleep(0.2)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def tail(path: Path, lines: int = 5) -> str:
    """The last ``lines`` lines of a log, joined on one line (for one-line errors)."""
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"
