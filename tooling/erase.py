"""``./lakehouse erase``: remove one person's events from bronze to gold.

dbt's ``erase_user`` operation deletes their rows from bronze, staging, the this-run tables
and silver (macros/operations/erase_user.sql); gold is then rebuilt from what remains
(``dbt run --full-refresh`` of models/marts: the aggregates cannot tell which rows were
theirs). Runs on whichever target ``./lakehouse dbt`` would use.
"""

from __future__ import annotations

import json

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
    if run_subprocess(settings, operation, env) != 0:
        raise EraseError("the erase_user operation failed (see dbt's output above)")
    if run_subprocess(settings, ["run", "--full-refresh", "--select", "path:models/marts"], env):
        raise EraseError(
            "the rows are deleted but gold was not rebuilt: run "
            "`./lakehouse dbt run --full-refresh --select path:models/marts`"
        )
