"""Run one DAG once with ``dag.test()`` and write its outcome as JSON (run by
``./lakehouse airflow test`` with the Airflow venv's Python).

usage: dag_test.py DAG_ID OUT.json
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag


def main(dag_id: str, out: Path) -> int:
    began = time.monotonic()
    folder = os.environ["AIRFLOW__CORE__DAGS_FOLDER"]
    # the whole project's tasks first, then the DAG as selected (LAKEHOUSE_DBT_SELECT)
    select = os.environ.pop("LAKEHOUSE_DBT_SELECT", "")
    whole = DagBag(dag_folder=folder)
    os.environ["LAKEHOUSE_DBT_SELECT"] = select
    bag = DagBag(dag_folder=folder)
    errors = {**whole.import_errors, **bag.import_errors}
    if errors:
        out.write_text(json.dumps({"import_errors": {str(k): v for k, v in errors.items()}}))
        return 1
    rendered = sorted(whole.get_dag(dag_id).task_ids)
    dag = bag.get_dag(dag_id)
    run = dag.test()
    instances = run.get_task_instances()
    states = {ti.task_id: str(ti.state) for ti in instances}
    # the DAG retries a failed task once: a success on the second try hides a failure
    tries = {ti.task_id: ti.try_number for ti in instances}
    times = {
        ti.task_id: [ti.start_date.isoformat(), ti.end_date.isoformat()]
        for ti in instances
        if ti.start_date and ti.end_date
    }
    result = {
        "dag_id": dag_id,
        "state": str(run.state),
        "tasks": rendered,
        "task_states": states,
        "task_tries": tries,
        "task_times": times,
        "max_active_tasks": dag.max_active_tasks,
        "seconds": round(time.monotonic() - began, 1),
    }
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0 if result["state"] == "success" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
