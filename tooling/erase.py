"""``./lakehouse erase``: remove one person's events from bronze to gold.

dbt's ``erase_user`` operation deletes their rows from bronze, staging, the this-run tables
and silver (macros/operations/erase_user.sql); gold is then rebuilt from what remains
(``dbt run --full-refresh`` of models/marts: the aggregates cannot tell which rows were
theirs). Runs on whichever target ``./lakehouse dbt`` would use, under the lakehouse's lock.
"""

from __future__ import annotations

import json

from tooling import lock
from tooling.dbt_runner import run_subprocess
from tooling.settings import Settings


class EraseError(Exception):
    """An erasure step failed; the message says which."""


def erase(
    settings: Settings,
    *,
    user_id: str | None,
    player_id: str | None,
    env: dict[str, str] | None = None,
) -> None:
    if not user_id and not player_id:
        raise EraseError("pass --user-id (web and IDE events) or --player-id (game events)")
    args = {k: v for k, v in (("user_id", user_id), ("player_id", player_id)) if v}
    operation = ["run-operation", "erase_user", "--args", json.dumps(args)]
    gold = ["run", "--full-refresh", "--select", "path:models/marts"]
    # under the lakehouse's lock (lock.Busy if another writer holds it): a run that read the
    # rows before the delete would otherwise write them back
    with lock.exclusive(settings, f"lakehouse erase {' '.join(args.values())}") as held:
        if run_subprocess(settings, operation, env, lock_fd=held) != 0:
            raise EraseError("the erase_user operation failed (see dbt's output above)")
        if run_subprocess(settings, gold, env, lock_fd=held):
            raise EraseError(
                "the rows are deleted but gold was not rebuilt: run "
                "`./lakehouse dbt run --full-refresh --select path:models/marts`"
            )
