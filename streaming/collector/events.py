"""The gameplay events the collector accepts, one pydantic model per event type.

Every model forbids unknown fields and checks types strictly, so a malformed request is a
4xx with a message and never reaches Kafka. Numbers are bounded by the realistic ranges in
`dbt_project.yml` (var `quality__game_bounds`), the same ranges staging enforces for events
written to the topic by anything else.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project.yml"


def game_bounds() -> dict[str, tuple[Any, Any]]:
    """{field: (min, max)} from dbt's var `quality__game_bounds`."""
    project = yaml.safe_load(DBT_PROJECT.read_text(encoding="utf-8"))
    bounds = project["vars"]["quality__game_bounds"]
    return {field: (low, high) for field, (low, high) in bounds.items()}


BOUNDS = game_bounds()


def _int(field: str) -> Any:
    low, high = BOUNDS[field]
    return Annotated[int, Field(ge=int(low), le=int(high))]


PlayerId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class GameEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    player_id: PlayerId


class Purchase(GameEvent):
    item_type: Literal["sword", "shield", "potion"]
    price: Annotated[
        Decimal,
        Field(
            ge=Decimal(str(BOUNDS["price"][0])),
            le=Decimal(str(BOUNDS["price"][1])),
            decimal_places=2,
        ),
    ]
    quantity: _int("quantity")  # type: ignore[valid-type]

    # JSON numbers arrive as int/float; strict mode would refuse them for a Decimal
    model_config = ConfigDict(extra="forbid", strict=False)


class GuildJoin(GameEvent):
    guild_name: Name


class TreasureFound(GameEvent):
    treasure_type: Name
    gold: _int("gold")  # type: ignore[valid-type]


class EnemyAttack(GameEvent):
    enemy_type: Name
    damage: _int("damage")  # type: ignore[valid-type]


class EnemyDefeated(GameEvent):
    enemy_type: Name
    xp: _int("xp")  # type: ignore[valid-type]


class PotionTaken(GameEvent):
    potion_type: Name
    health_restored: _int("health_restored")  # type: ignore[valid-type]


class LevelUp(GameEvent):
    new_level: _int("new_level")  # type: ignore[valid-type]


EVENT_TYPES: dict[str, type[GameEvent]] = {
    "purchase": Purchase,
    "guild_join": GuildJoin,
    "treasure_found": TreasureFound,
    "enemy_attack": EnemyAttack,
    "enemy_defeated": EnemyDefeated,
    "potion_taken": PotionTaken,
    "level_up": LevelUp,
}
