"""One local Kafka 4 broker in KRaft mode (combined broker + controller) on 127.0.0.1.

The broker runs from the jars fetched at set-up (``.jars/kafka``) as
``java -cp ... kafka.Kafka server.properties``; its data, config, pid file and logs live
under ``LAKEHOUSE_DIR/kafka``. Every failure is raised as :class:`KafkaLocalError` with a
one-line message that says what to do.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tooling.settings import Settings

if TYPE_CHECKING:
    from kafka import KafkaAdminClient


class KafkaLocalError(Exception):
    """A local-broker problem, phrased as what to do about it."""


@dataclass(frozen=True)
class BrokerLayout:
    root: Path
    host: str
    port: int
    controller_port: int

    @property
    def config(self) -> Path:
        return self.root / "config" / "server.properties"

    @property
    def log4j(self) -> Path:
        return self.root / "config" / "log4j2.properties"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pid_file(self) -> Path:
        return self.root / "broker.pid"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


def layout(settings: Settings) -> BrokerLayout:
    host, _, port = settings.kafka_bootstrap.rpartition(":")
    if not host or not port.isdigit():
        raise KafkaLocalError(
            f"KAFKA_BOOTSTRAP={settings.kafka_bootstrap!r} not host:port: set e.g. 127.0.0.1:9092"
        )
    controller = int(os.environ.get("KAFKA_CONTROLLER_PORT", int(port) + 1))
    return BrokerLayout(settings.kafka_dir, host, int(port), controller)


def _server_properties(b: BrokerLayout) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{b.host}:{b.controller_port}",
            f"listeners=PLAINTEXT://{b.host}:{b.port},CONTROLLER://{b.host}:{b.controller_port}",
            f"advertised.listeners=PLAINTEXT://{b.host}:{b.port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={b.data}",
            "num.partitions=2",
            # Topics are created on purpose (`kafka create-topics`), so a typo fails loudly.
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            # A local lake replays from the start: keep everything.
            "log.retention.ms=-1",
            "",
        ]
    )


def _log4j_properties(b: BrokerLayout) -> str:
    return "\n".join(
        [
            "status = warn",
            "appender.file.type = File",
            "appender.file.name = file",
            f"appender.file.fileName = {b.logs / 'server.log'}",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = info",
            "rootLogger.appenderRef.file.ref = file",
            "",
        ]
    )


def _classpath(settings: Settings) -> str:
    jars = settings.kafka_jars
    if not any(jars.glob("kafka_2.13-*.jar")):
        raise KafkaLocalError(f"Kafka jars missing in {jars}: run `./lakehouse setup`")
    return f"{jars}/*"


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise KafkaLocalError(
            "java not found: install a JDK 17+ (apt-get install openjdk-17-jdk-headless)"
        )
    return java


def port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def _read_pid(b: BrokerLayout) -> int | None:
    try:
        pid = int(b.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if b"kafka.Kafka" in cmdline else None


def broker_answers(bootstrap: str, timeout_s: float = 5.0) -> bool:
    """True when a broker at ``bootstrap`` serves metadata."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            request_timeout_ms=int(timeout_s * 1000),
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def start(settings: Settings, wait_s: float = 90.0) -> BrokerLayout:
    """Start the broker (formatting its storage on first use) and wait until it answers."""
    b = layout(settings)
    if _read_pid(b) is not None:
        if broker_answers(b.bootstrap):
            return b
        raise KafkaLocalError(
            f"a broker process is running (pid file {b.pid_file}) but does not answer at "
            f"{b.bootstrap}: run `./lakehouse kafka stop` and start again"
        )
    java = _java()
    classpath = _classpath(settings)
    for port in (b.port, b.controller_port):
        if port_taken(b.host, port):
            raise KafkaLocalError(
                f"port {b.host}:{port} is taken: stop whatever listens there, or set "
                "KAFKA_BOOTSTRAP (and KAFKA_CONTROLLER_PORT) to free ports"
            )
    for d in (b.config.parent, b.data, b.logs):
        d.mkdir(parents=True, exist_ok=True)
    b.config.write_text(_server_properties(b))
    b.log4j.write_text(_log4j_properties(b))
    jvm = [java, "-Xmx512m", f"-Dlog4j2.configurationFile={b.log4j}", "-cp", classpath]
    if not (b.data / "meta.properties").exists():
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        fmt = subprocess.run(
            [*jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(b.config)],
            capture_output=True,
            text=True,
            check=False,
        )
        if fmt.returncode != 0:
            raise KafkaLocalError(
                f"formatting Kafka storage in {b.data} failed: {fmt.stderr.strip()[-300:]}"
            )
    stdout = (b.logs / "broker.out").open("ab")
    proc = subprocess.Popen(
        [*jvm, "kafka.Kafka", str(b.config)],
        stdout=stdout,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    stdout.close()
    b.pid_file.write_text(str(proc.pid))
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            b.pid_file.unlink(missing_ok=True)
            raise KafkaLocalError(
                f"the broker exited at start-up (code {proc.returncode}): "
                f"{_tail(b.logs / 'broker.out')} — see {b.logs}"
            )
        if broker_answers(b.bootstrap, timeout_s=2.0):
            return b
        time.sleep(0.5)
    stop(settings)
    raise KafkaLocalError(
        f"the broker did not answer at {b.bootstrap} within {wait_s:.0f}s: "
        f"see {b.logs / 'server.log'}"
    )


def stop(settings: Settings, wait_s: float = 30.0) -> bool:
    """Stop the broker by its pid; True if one was running."""
    b = layout(settings)
    pid = _read_pid(b)
    if pid is None:
        b.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if _is_zombie(pid):
            break
        time.sleep(0.2)
    if Path(f"/proc/{pid}").exists() and not _is_zombie(pid):
        os.kill(pid, signal.SIGKILL)
    b.pid_file.unlink(missing_ok=True)
    return True


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (OSError, IndexError):
        return True


def status(settings: Settings) -> tuple[int | None, bool]:
    """(pid of our broker or None, whether the bootstrap address answers)."""
    b = layout(settings)
    return _read_pid(b), broker_answers(b.bootstrap, timeout_s=2.0)


def admin_client(bootstrap: str) -> KafkaAdminClient:
    """A KafkaAdminClient, or KafkaLocalError saying no broker answers."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    except (KafkaError, OSError) as exc:
        raise KafkaLocalError(
            f"no Kafka broker answers at {bootstrap}: start one with `./lakehouse kafka start` "
            f"or set KAFKA_BOOTSTRAP ({type(exc).__name__})"
        ) from exc


def create_topics(bootstrap: str, topics: list[str], partitions: int) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created."""
    from kafka.admin import NewTopic

    if partitions < 1:
        raise KafkaLocalError(f"--partitions must be at least 1 (got {partitions})")
    admin = admin_client(bootstrap)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            admin.create_topics(
                [NewTopic(name=t, num_partitions=partitions, replication_factor=1) for t in missing]
            )
        return missing
    finally:
        admin.close()
