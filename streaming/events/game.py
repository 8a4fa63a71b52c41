"""Deterministic synthetic gameplay, posted to the collector by the demo.

Each player joins a guild or two, levels up, fights, finds treasure, drinks potions and buys
swords, shields and potions; returns (event_type, payload) pairs for the collector's
`POST /events/{event_type}`.
"""

from __future__ import annotations

import random

from streaming.events import Event

GUILDS = ("Knights of the Lake", "Order of the Delta", "Stream Riders", "The Partitioners")
ENEMIES = ("goblin", "orc", "troll", "dragon")
TREASURES = ("chest", "urn", "hoard")
POTIONS = ("health", "mana", "speed")
PRICES = {"sword": (15.0, 120.0), "shield": (10.0, 80.0), "potion": (1.0, 9.5)}


def generate_game_events(count: int, seed: int, players: int = 40) -> list[tuple[str, Event]]:
    rng = random.Random(seed)
    levels = {f"player-{i:03d}": 1 for i in range(players)}
    events: list[tuple[str, Event]] = []
    for player in levels:
        events.append(("guild_join", {"player_id": player, "guild_name": rng.choice(GUILDS)}))
    while len(events) < count:
        player = rng.choice(list(levels))
        roll = rng.random()
        if roll < 0.25:
            item = rng.choice(list(PRICES))
            low, high = PRICES[item]
            payload = {
                "player_id": player,
                "item_type": item,
                "price": round(rng.uniform(low, high), 2),
                "quantity": rng.choice((1, 1, 1, 2, 3)),
            }
            events.append(("purchase", payload))
        elif roll < 0.45:
            enemy = rng.choice(ENEMIES)
            events.append(
                (
                    "enemy_attack",
                    {"player_id": player, "enemy_type": enemy, "damage": rng.randint(1, 30)},
                )
            )
            if rng.random() < 0.7:
                events.append(
                    (
                        "enemy_defeated",
                        {"player_id": player, "enemy_type": enemy, "xp": rng.randint(5, 50)},
                    )
                )
        elif roll < 0.6:
            events.append(
                (
                    "treasure_found",
                    {
                        "player_id": player,
                        "treasure_type": rng.choice(TREASURES),
                        "gold": rng.randint(1, 500),
                    },
                )
            )
        elif roll < 0.75:
            events.append(
                (
                    "potion_taken",
                    {
                        "player_id": player,
                        "potion_type": rng.choice(POTIONS),
                        "health_restored": rng.randint(5, 50),
                    },
                )
            )
        elif roll < 0.85:
            levels[player] += 1
            events.append(("level_up", {"player_id": player, "new_level": levels[player]}))
        else:
            events.append(("guild_join", {"player_id": player, "guild_name": rng.choice(GUILDS)}))
    return events[:count]
