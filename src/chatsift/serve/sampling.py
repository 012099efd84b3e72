"""Arena pairs drawn as FastChat's ``get_battle_pair`` draws them (``gradio_block_arena_anony.py``).

The first model is drawn by its sampling weight; its rival among the others by theirs, multiplied by
``target_boost`` when the pair is one of the first model's battle targets; models in outage are never
drawn; the two are then put on the left and right in random order.
"""

from __future__ import annotations

import random

from chatsift.serve.settings import ServeSettings


class NoPair(Exception):
    """Fewer than two models can be drawn."""


def weight(settings: ServeSettings, name: str) -> float:
    model = settings.model(name)
    if model is None or name in settings.arena.outage:
        return 0.0
    return max(0.0, float(model.weight))


def battle_pair(settings: ServeSettings, rng: random.Random) -> tuple[str, str]:
    names = [m.name for m in settings.models]
    weights = [weight(settings, n) for n in names]
    if sum(1 for w in weights if w > 0) < 2:
        raise NoPair("the arena needs at least two models with a weight above 0 that are not in outage")
    chosen = rng.choices(names, weights)[0]
    targets = set(settings.arena.battle_targets.get(chosen, []))
    rivals, rival_weights = [], []
    for name, w in zip(names, weights):
        if name == chosen or w == 0:
            continue
        rivals.append(name)
        rival_weights.append(w * (settings.arena.target_boost if name in targets else 1.0))
    rival = rng.choices(rivals, rival_weights)[0]
    return (chosen, rival) if rng.random() < 0.5 else (rival, chosen)
