"""One local Kafka 4 broker in KRaft mode (combined broker + controller) on 127.0.0.1.

The broker runs from the jars fetched at set-up (``.jars/kafka``) as
``java -cp ... kafka.Kafka server.properties``; its data, config, pid file and logs live
under ``LAKEHOUSE_DIR/kafka``. Every failure is raised as :class:`KafkaLocalError` with a
one-line message that says what to do.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from streaming import kafka_client
from streaming.kafka_client import KafkaSecurity
from tooling.processes import alive, port_taken, read_pid, spawn, stop_pid, tail
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


SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


def _security() -> KafkaSecurity:
    """The clients' security settings, which the local broker serves (plain text or SASL)."""
    try:
        security = kafka_client.load()
    except kafka_client.KafkaSecurityError as exc:
        raise KafkaLocalError(str(exc)) from None
    if security.uses_ssl:
        raise KafkaLocalError(
            f"the local broker serves PLAINTEXT or SASL_PLAINTEXT, not {security.protocol}: "
            "point KAFKA_BOOTSTRAP at your TLS broker instead of starting this one"
        )
    return security


def _sasl_properties(security: KafkaSecurity) -> list[str]:
    """A SASL_PLAINTEXT listener that admits the clients' user with PLAIN and SCRAM."""
    name, secret = security.username or "", security.password or ""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise KafkaLocalError(
            f"KAFKA_SASL_USERNAME={name!r}: the local broker takes user names of letters, "
            "digits, '.', '_' and '-'"
        )
    if "," in secret or (secret.startswith('"') and secret.endswith('"')):
        raise KafkaLocalError(
            "the local broker's SCRAM users cannot have a password with a comma or wrapped "
            "in double quotes: choose another KAFKA_SASL_PASSWORD"
        )
    user, password = _jaas_quote(name), _jaas_quote(secret)
    plain = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f"username={user} password={password} user_{security.username}={password};"
    )
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    return [
        f"sasl.enabled.mechanisms=PLAIN,{','.join(SCRAM_MECHANISMS)}",
        "sasl.mechanism.inter.broker.protocol=PLAIN",
        f"listener.name.sasl_plaintext.plain.sasl.jaas.config={_properties_value(plain)}",
        *(
            f"listener.name.sasl_plaintext.{m.lower()}.sasl.jaas.config={scram}"
            for m in SCRAM_MECHANISMS
        ),
    ]


def _properties_value(value: str) -> str:
    """``value`` escaped so that java.util.Properties reads it back unchanged (it drops lone
    backslashes and reads ISO-8859-1)."""
    escaped = []
    for ch in value:
        if ch == "\\":
            escaped.append("\\\\")
        elif ch == "\n":
            escaped.append("\\n")
        elif ch == "\r":
            escaped.append("\\r")
        elif not " " <= ch <= "~":
            escaped.append(f"\\u{ord(ch):04x}")
        else:
            escaped.append(ch)
    return "".join(escaped)


def _jaas_quote(value: str | None) -> str:
    return '"' + (value or "").replace("\\", "\\\\").replace('"', '\\"') + '"'


def _scram_users(security: KafkaSecurity) -> list[str]:
    """StorageTool arguments creating the clients' SCRAM user (SCRAM users live in the
    cluster's metadata, so they are made when the storage is formatted)."""
    if not security.uses_sasl:
        return []
    args = []
    for mechanism in SCRAM_MECHANISMS:
        user = f"name={security.username},password={security.password}"
        args += ["--add-scram", f"{mechanism}=[{user}]"]
    return args


def _server_properties(b: BrokerLayout, security: KafkaSecurity) -> str:
    name = "SASL_PLAINTEXT" if security.uses_sasl else "PLAINTEXT"
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{b.host}:{b.controller_port}",
            f"listeners={name}://{b.host}:{b.port},CONTROLLER://{b.host}:{b.controller_port}",
            f"advertised.listeners={name}://{b.host}:{b.port}",
            "controller.listener.names=CONTROLLER",
            f"inter.broker.listener.name={name}",
            f"listener.security.protocol.map=CONTROLLER:PLAINTEXT,{name}:{name}",
            *(_sasl_properties(security) if security.uses_sasl else []),
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


def new_cluster_id() -> str:
    """A random KRaft cluster id (a base64 uuid, as `kafka-storage random-uuid` makes), never
    one starting with '-': the storage tool would read it as an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def _read_pid(b: BrokerLayout) -> int | None:
    return read_pid(b.pid_file, b"kafka.Kafka")


def broker_answers(bootstrap: str, timeout_s: float = 5.0) -> bool:
    """True when a broker at ``bootstrap`` serves metadata."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            request_timeout_ms=int(timeout_s * 1000),
            **kafka_client.load().python_kwargs(),
        )
    except (KafkaError, OSError, ValueError, kafka_client.KafkaSecurityError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


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
    security = _security()
    b.config.write_text(_server_properties(b, security))
    b.config.chmod(0o600)  # it may hold a password
    b.log4j.write_text(_log4j_properties(b))
    jvm = [java, "-Xmx512m", f"-Dlog4j2.configurationFile={b.log4j}", "-cp", classpath]
    if not (b.data / "meta.properties").exists():
        cluster_id = new_cluster_id()
        fmt = subprocess.run(
            [
                *jvm,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(b.config),
                *_scram_users(security),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if fmt.returncode != 0:
            raise KafkaLocalError(
                f"formatting Kafka storage in {b.data} failed: {fmt.stderr.strip()[-300:]}"
            )
    pid = spawn([*jvm, "kafka.Kafka", str(b.config)], b.logs / "broker.out", b.pid_file)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not alive(pid):
            b.pid_file.unlink(missing_ok=True)
            raise KafkaLocalError(
                f"the broker exited at start-up: {tail(b.logs / 'broker.out')} — see {b.logs}"
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
    stop_pid(pid, wait_s)
    b.pid_file.unlink(missing_ok=True)
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
        security = kafka_client.load()
    except kafka_client.KafkaSecurityError as exc:
        raise KafkaLocalError(str(exc)) from None
    try:
        return KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=10000, **security.python_kwargs()
        )
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


def delete_topics(bootstrap: str, topics: list[str], wait_s: float = 30.0) -> list[str]:
    """Delete the topics that exist (their data with them) and wait until the broker no longer
    lists them; returns the ones deleted."""
    admin = admin_client(bootstrap)
    try:
        doomed = [t for t in topics if t in set(admin.list_topics())]
        if doomed:
            admin.delete_topics(doomed)
        deadline = time.monotonic() + wait_s
        while set(doomed) & set(admin.list_topics()):
            if time.monotonic() > deadline:
                raise KafkaLocalError(
                    f"topics {', '.join(doomed)} still listed {wait_s:.0f} s after deletion"
                )
            time.sleep(0.2)
        return doomed
    finally:
        admin.close()
