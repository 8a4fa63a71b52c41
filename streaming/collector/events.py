"""The gameplay events the collector accepts, one pydantic model per event type.

Every model forbids unknown fields and checks types strictly, so a malformed request is a
4xx with a message and never reaches Kafka.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

PlayerId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class GameEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    player_id: PlayerId


class Purchase(GameEvent):
    item_type: Literal["sword", "shield", "potion"]
    price: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
    quantity: Annotated[int, Field(ge=1, le=10_000)]

    # JSON numbers arrive as int/float; strict mode would refuse them for a Decimal
    model_config = ConfigDict(extra="forbid", strict=False)


class GuildJoin(GameEvent):
    guild_name: Name


class TreasureFound(GameEvent):
    treasure_type: Name
    gold: Annotated[int, Field(ge=0)]


class EnemyAttack(GameEvent):
    enemy_type: Name
    damage: Annotated[int, Field(ge=0)]


class EnemyDefeated(GameEvent):
    enemy_type: Name
    xp: Annotated[int, Field(ge=0)]


class PotionTaken(GameEvent):
    potion_type: Name
    health_restored: Annotated[int, Field(ge=0)]


class LevelUp(GameEvent):
    new_level: Annotated[int, Field(ge=1, le=1000)]


EVENT_TYPES: dict[str, type[GameEvent]] = {
    "purchase": Purchase,
    "guild_join": GuildJoin,
    "treasure_found": TreasureFound,
    "enemy_attack": EnemyAttack,
    "enemy_defeated": EnemyDefeated,
    "potion_taken": PotionTaken,
    "level_up": LevelUp,
}
