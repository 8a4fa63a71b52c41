"""The lock files stay inside what pyproject.toml and Airflow's requirements.txt allow, so
set-up installs versions the project declares (tooling/locks.py)."""

from __future__ import annotations

from packaging.requirements import Requirement

from tooling import locks


def test_the_pipeline_lock_satisfies_pyproject():
    assert locks.outside(locks.project_requirements(), locks.MAIN.read_text()) == []


def test_the_airflow_lock_satisfies_its_requirements():
    lines = (locks.AIRFLOW.parent / "requirements.txt").read_text().splitlines()
    wanted = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    assert wanted, "no requirement read"
    assert locks.outside(wanted, locks.AIRFLOW.read_text()) == []


def test_a_lock_outside_its_requirements_is_named():
    wanted = [Requirement("pyspark==4.2.0"), Requirement("rich>=13"), Requirement("typer>=0.12")]
    lock = "# a comment\npyspark==4.1.0\nrich==14.0.0\n"
    assert locks.outside(wanted, lock) == [
        "pyspark: locked at 4.1.0, outside ==4.2.0",
        "typer: not in the lock",
    ]
