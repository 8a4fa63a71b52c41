"""Set-up: drop the jars Maven fetched that the pyspark wheel already ships.

    python -m tooling.jars prune DIR

Two versions of one library on Spark's class path fail in ways that are hard to trace, so
after ``mvn dependency:copy-dependencies`` (run by the ``./lakehouse`` wrapper) every jar whose
artifact the wheel has is removed; Jackson and Spark's ``shims`` always come from the wheel.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tooling.settings import Settings

VERSION_SUFFIX = re.compile(r"-\d[^-]*(-\d+)?\.jar$")


def artifact(jar_name: str) -> str:
    """``delta-spark_2.13-4.4.0.jar`` -> ``delta-spark_2.13``."""
    return VERSION_SUFFIX.sub("", jar_name)


def wheel_artifacts() -> set[str]:
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    return {artifact(p.name) for p in jars.glob("*.jar")}


def prune(folder: Path, have: set[str]) -> list[Path]:
    """Remove from ``folder`` every jar whose artifact is in ``have``; returns the removed."""
    removed = []
    for jar in sorted(folder.glob("*.jar")):
        name = artifact(jar.name)
        if name in have or name.startswith("jackson-") or name == "shims":
            jar.unlink()
            removed.append(jar)
    return removed


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "prune" or not Path(argv[1]).is_dir():
        print("usage: python -m tooling.jars prune DIR", file=sys.stderr)
        return 2
    removed = prune(Path(argv[1]), wheel_artifacts())
    print(f"jars: {len(removed)} jar(s) the pyspark wheel ships removed", file=sys.stderr)
    return 0


def installed(settings: Settings) -> list[tuple[str, Path, int]]:
    """(name, folder, jar count) of each jar folder the set-up filled."""
    return [
        (name, folder, len(list(folder.glob("*.jar"))))
        for name, folder in (("spark", settings.spark_jars), ("kafka", settings.kafka_jars))
    ]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
