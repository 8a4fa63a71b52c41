"""Where things live and how to reach them, read from the environment with sensible defaults.

Everything the pipeline writes sits under ``LAKEHOUSE_DIR`` (default ``.lakehouse/`` in the
repository): Delta tables, checkpoints, the metastore, Kafka's data, logs. The defaults live
here only: dbt's profile and macros read the variables that ``tooling.dbt_runner`` sets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    lakehouse_dir: Path
    jars_dir: Path
    kafka_bootstrap: str

    @property
    def bronze_dir(self) -> Path:
        return self.lakehouse_dir / "bronze"

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


def load() -> Settings:
    lakehouse = Path(os.environ.get("LAKEHOUSE_DIR") or REPO_ROOT / ".lakehouse")
    jars = Path(os.environ.get("LAKEHOUSE_JARS_DIR") or REPO_ROOT / ".jars")
    return Settings(
        lakehouse_dir=lakehouse.resolve(),
        jars_dir=jars.resolve(),
        kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
    )
