"""Kafka client security for every client of the pipeline (producer, collector, feeder, admin).

Settings come from the environment, never from the repository:

- ``KAFKA_CLIENT_PROPERTIES``: a Java-style properties file, as Kafka's own tools take with
  ``--command-config``: ``security.protocol``, ``sasl.mechanism``, ``sasl.jaas.config`` (its
  ``username="..." password="..."``), ``ssl.truststore.location`` of type PEM
  (``ssl.truststore.type=PEM``), ``ssl.endpoint.identification.algorithm``.
- or single variables, which win over the file: ``KAFKA_SECURITY_PROTOCOL`` (PLAINTEXT, SSL,
  SASL_PLAINTEXT, SASL_SSL), ``KAFKA_SASL_MECHANISM`` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512),
  ``KAFKA_SASL_USERNAME``, ``KAFKA_SASL_PASSWORD``, ``KAFKA_SSL_CAFILE`` (a PEM CA bundle).

The same settings become keyword arguments for kafka-python, librdkafka properties for the
collector's producer (confluent-kafka), and ``kafka.*`` options for Spark's Kafka source (Java
client).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
JAAS_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


class KafkaSecurityError(Exception):
    """Client security settings that cannot work, phrased as what to fix."""


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    mechanism: str | None = None
    username: str | None = None
    password: str | None = None
    cafile: Path | None = None
    check_hostname: bool = True

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def uses_ssl(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def python_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's producer, consumer and admin client."""
        kwargs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_sasl:
            kwargs.update(
                sasl_mechanism=self.mechanism,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password,
            )
        if self.uses_ssl:
            kwargs["ssl_check_hostname"] = self.check_hostname
            if self.cafile is not None:
                kwargs["ssl_cafile"] = str(self.cafile)
        return kwargs

    def librdkafka_config(self) -> dict[str, str]:
        """Properties for librdkafka (confluent-kafka), which the collector's producer uses."""
        config = {"security.protocol": self.protocol}
        if self.uses_sasl:
            assert self.mechanism is not None  # checked by load()
            config.update(
                {
                    "sasl.mechanisms": self.mechanism,
                    "sasl.username": self.username or "",
                    "sasl.password": self.password or "",
                }
            )
        if self.uses_ssl:
            config["ssl.endpoint.identification.algorithm"] = (
                "https" if self.check_hostname else "none"
            )
            if self.cafile is not None:
                config["ssl.ca.location"] = str(self.cafile)
        return config

    def spark_options(self) -> dict[str, str]:
        """``kafka.*`` options for Spark's Kafka source and sink."""
        options = {"kafka.security.protocol": self.protocol}
        if self.uses_sasl:
            assert self.mechanism is not None  # checked by load()
            options["kafka.sasl.mechanism"] = self.mechanism
            options["kafka.sasl.jaas.config"] = (
                f'{JAAS_MODULES[self.mechanism]} required username="{_escape(self.username)}" '
                f'password="{_escape(self.password)}";'
            )
        if self.uses_ssl:
            if self.cafile is not None:
                options["kafka.ssl.truststore.type"] = "PEM"
                options["kafka.ssl.truststore.location"] = str(self.cafile)
            if not self.check_hostname:
                options["kafka.ssl.endpoint.identification.algorithm"] = ""
        return options


def _escape(value: str | None) -> str:
    return (value or "").replace("\\", "\\\\").replace('"', '\\"')


def read_properties(path: Path) -> dict[str, str]:
    """A Java properties file as java.util.Properties reads it: ``key=value`` or
    ``key: value``, ``#``/``!`` comments, a line ending in a backslash continued on the next,
    backslash escapes (``\\t``, ``\\n``, ``\\uXXXX``; any other ``\\x`` is ``x``)."""
    props = {}
    logical = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.lstrip() if logical else raw.strip()
        if not logical and (not line or line.startswith(("#", "!"))):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2:
            logical += line[:-1]
            continue
        logical += line
        match = re.match(r"((?:[^=:\s\\]|\\.)+)\s*[=:\s]\s*(.*)$", logical)
        if match:
            props[_unescape(match.group(1))] = _unescape(match.group(2).rstrip())
        logical = ""
    return props


def _unescape(text: str) -> str:
    special = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}

    def one(m: re.Match[str]) -> str:
        if m.group(1):
            return chr(int(m.group(1), 16))
        return special.get(m.group(2), m.group(2))

    return re.sub(r"\\(?:u([0-9a-fA-F]{4})|(.))", one, text)


def _jaas_value(jaas: str, option: str) -> str | None:
    """An option's quoted value in a JAAS entry, its escapes undone (``\\"`` is ``"``)."""
    match = re.search(rf'\b{option}\s*=\s*"((?:[^"\\]|\\.)*)"', jaas)
    return re.sub(r"\\(.)", r"\1", match.group(1)) if match else None


def _from_properties(props: dict[str, str]) -> dict[str, str | None]:
    jaas = props.get("sasl.jaas.config", "")
    # Java's default truststore type is JKS, which the Python client cannot read
    store_type = props.get(
        "ssl.truststore.type", "JKS" if "ssl.truststore.location" in props else ""
    )
    if store_type and store_type.upper() != "PEM":
        raise KafkaSecurityError(
            f"ssl.truststore.type={store_type}: give the CA as a PEM file "
            "(ssl.truststore.type=PEM), which both the Java and the Python clients read"
        )
    return {
        "protocol": props.get("security.protocol"),
        "mechanism": props.get("sasl.mechanism"),
        "username": _jaas_value(jaas, "username"),
        "password": _jaas_value(jaas, "password"),
        "cafile": props.get("ssl.truststore.location"),
        "check_hostname": props.get("ssl.endpoint.identification.algorithm"),
    }


def load(env: dict[str, str] | None = None) -> KafkaSecurity:
    """The client security settings of this environment (plain text when none are set)."""
    env = dict(os.environ) if env is None else env
    values: dict[str, str | None] = {}
    if env.get("KAFKA_CLIENT_PROPERTIES"):
        path = Path(env["KAFKA_CLIENT_PROPERTIES"])
        if not path.is_file():
            raise KafkaSecurityError(f"KAFKA_CLIENT_PROPERTIES={path}: no such file")
        values = _from_properties(read_properties(path))
    for field, var in (
        ("protocol", "KAFKA_SECURITY_PROTOCOL"),
        ("mechanism", "KAFKA_SASL_MECHANISM"),
        ("username", "KAFKA_SASL_USERNAME"),
        ("password", "KAFKA_SASL_PASSWORD"),
        ("cafile", "KAFKA_SSL_CAFILE"),
    ):
        if env.get(var):
            values[field] = env[var]
    protocol = (values.get("protocol") or "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise KafkaSecurityError(
            f"Kafka security protocol {protocol!r}: choose one of {', '.join(PROTOCOLS)}"
        )
    named = values.get("mechanism") or ("PLAIN" if protocol.startswith("SASL_") else "")
    mechanism = named.upper() or None
    if protocol.startswith("SASL_"):
        if mechanism not in MECHANISMS:
            raise KafkaSecurityError(
                f"SASL mechanism {mechanism!r}: choose one of {', '.join(MECHANISMS)}"
            )
        if not values.get("username") or values.get("password") is None:
            raise KafkaSecurityError(
                f"{protocol} needs a user name and password: set KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD (or sasl.jaas.config in KAFKA_CLIENT_PROPERTIES)"
            )
    ca = values.get("cafile")
    cafile = Path(ca) if ca else None
    if cafile is not None and not cafile.is_file():
        raise KafkaSecurityError(f"the Kafka CA file {cafile} does not exist")
    return KafkaSecurity(
        protocol=protocol,
        mechanism=mechanism if protocol.startswith("SASL_") else None,
        username=values.get("username"),
        password=values.get("password"),
        cafile=cafile,
        check_hostname=values.get("check_hostname") != "",
    )
