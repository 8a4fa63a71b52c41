"""Where things live and how to reach them, read from the environment with sensible defaults.

Everything the pipeline writes sits under ``LAKEHOUSE_DIR`` (default ``.lakehouse/`` in the
repository): Delta tables, checkpoints, the metastore, Kafka's data, logs; bronze under
``BRONZE_PATH`` instead when it is set (the feeder, maintenance and dbt's ``bronze_location``
all read it). The defaults live here only: dbt's profile and macros read the variables that
``tooling.dbt_runner`` sets.

Locations are paths, or ``file://`` URIs; another scheme (``s3a://``, ``hdfs://``) is refused
with a one-line error: the tooling reads and writes these folders itself, so on shared
storage mount it (NFS, a FUSE mount of the bucket) and give the mounted path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

REPO_ROOT = Path(__file__).resolve().parents[1]


class SettingsError(Exception):
    """A location or setting the tooling cannot use, phrased as what to fix."""


@dataclass(frozen=True)
class Settings:
    lakehouse_dir: Path
    jars_dir: Path
    kafka_bootstrap: str
    bronze_path: Path | None = None  # BRONZE_PATH: bronze outside LAKEHOUSE_DIR

    @property
    def bronze_dir(self) -> Path:
        return self.bronze_path or self.lakehouse_dir / "bronze"

    @property
    def checkpoints_dir(self) -> Path:
        return self.lakehouse_dir / "checkpoints"

    @property
    def warehouse_dir(self) -> Path:
        return self.lakehouse_dir / "warehouse"

    @property
    def metastore_dir(self) -> Path:
        return self.lakehouse_dir / "metastore"

    @property
    def kafka_dir(self) -> Path:
        return self.lakehouse_dir / "kafka"

    @property
    def logs_dir(self) -> Path:
        return self.lakehouse_dir / "logs"

    @property
    def spark_jars(self) -> Path:
        return self.jars_dir / "spark"

    @property
    def kafka_jars(self) -> Path:
        return self.jars_dir / "kafka"

    def bronze_table(self, topic: str) -> Path:
        return self.bronze_dir / topic

    def checkpoint(self, query_name: str) -> Path:
        return self.checkpoints_dir / query_name


def location(name: str, value: str) -> Path:
    """A configured location as a local path: a path as it is, a ``file://`` URI as its
    path; SettingsError for any other scheme."""
    if "://" not in value:
        return Path(value)
    uri = urlparse(value)
    if uri.scheme != "file" or uri.netloc not in ("", "localhost"):
        raise SettingsError(
            f"{name}={value}: only local paths and file:// URIs are supported (the tooling "
            "reads and writes it itself): mount the storage and give the mounted path"
        )
    return Path(unquote(uri.path))


def load() -> Settings:
    env = os.environ
    lakehouse = location("LAKEHOUSE_DIR", env.get("LAKEHOUSE_DIR") or str(REPO_ROOT / ".lakehouse"))
    jars = location("LAKEHOUSE_JARS_DIR", env.get("LAKEHOUSE_JARS_DIR") or str(REPO_ROOT / ".jars"))
    bronze = env.get("BRONZE_PATH")
    return Settings(
        lakehouse_dir=lakehouse.resolve(),
        jars_dir=jars.resolve(),
        kafka_bootstrap=env.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        bronze_path=location("BRONZE_PATH", bronze).resolve() if bronze else None,
    )
