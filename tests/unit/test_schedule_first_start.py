"""A first start on an empty lakehouse: the scheduler's first run waits until the feeder
has created the bronze tables it writes, so dbt's on-run-start never creates one at the same
time (tooling/schedule.py, Scheduler._await_bronze)."""

from __future__ import annotations

import subprocess
import threading
import time

from tooling.schedule import Scheduler
from tooling.settings import Settings


def _scheduler(tmp_path, feeder_args: list[str]) -> tuple[Scheduler, subprocess.Popen[bytes]]:
    """A scheduler whose feeder is a stand-in process (no JVM: only the wait is tested)."""
    lake = Settings(tmp_path / "lake", tmp_path / "jars", "127.0.0.1:9")
    scheduler = Scheduler(lake, 60.0, feeder_args=feeder_args, say=lambda _line: None)
    feeder = subprocess.Popen(["sleep", "60"], start_new_session=True)
    scheduler.feeder = feeder
    return scheduler, feeder


def _create_later(scheduler: Scheduler, topic: str, after_s: float) -> None:
    def create() -> None:
        time.sleep(after_s)
        log = scheduler.settings.bronze_table(topic) / "_delta_log"
        log.mkdir(parents=True)
        (log / "00000000000000000000.json").write_text("{}\n")

    threading.Thread(target=create, daemon=True).start()


def test_the_first_run_waits_for_the_feeders_topics_only(tmp_path) -> None:
    scheduler, feeder = _scheduler(
        tmp_path, ["--topics", "web_events", "--processing-time", "5 seconds"]
    )
    try:
        _create_later(scheduler, "web_events", 1.5)
        began = time.monotonic()
        scheduler._await_bronze()
        waited = time.monotonic() - began
        # waited for web_events, not for the topics this feeder does not write
        assert 1.0 <= waited < 30, waited
        assert scheduler.settings.bronze_table("web_events").is_dir()
        assert not scheduler.settings.bronze_table("ide_events").exists()
    finally:
        feeder.kill()
        feeder.wait()


def test_a_feeder_that_exits_ends_the_wait(tmp_path) -> None:
    scheduler, feeder = _scheduler(tmp_path, [])  # every topic
    threading.Timer(1.0, feeder.kill).start()
    began = time.monotonic()
    scheduler._await_bronze()
    assert time.monotonic() - began < 30
    feeder.wait()
