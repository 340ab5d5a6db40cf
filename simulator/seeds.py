"""The seed tree: one ``numpy.random.SeedSequence`` root, children by fixed keys, so adding a
sensor or a vehicle never changes anyone else's stream."""

from __future__ import annotations

from typing import Union

import numpy as np

SeedLike = Union[int, np.integer, np.random.SeedSequence, None]


def root_seed(seed: SeedLike) -> np.random.SeedSequence:
    """A SeedSequence from an int (>= 0) or an existing SeedSequence (used as given)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or a numpy SeedSequence, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.SeedSequence(int(seed))


def child(root: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """Child ``key`` of ``root`` (stable whatever else is drawn from the tree)."""
    return np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + key)


# Children of an episode's root (see simulator.world).
LAYOUT_KEY = 0  # of the build root: the static layout (roadside props)
NPC_KEY, SENSOR_KEY, COLOR_KEY, SPAWN_KEY = 1, 2, 3, 4
# 5 is taken by reset()'s own seed sequence (SeedSequence(seed, spawn_key=(5, episode))).
KIND_KEY = 7    # of the build root: which NPC is which vehicle kind
ACTOR_KEY = 8   # of an episode root: named actor j's driver stream (8, j)
EVENT_KEY = 9   # of an episode root: scripted events
GROUP_KEY = 10  # of an episode root: actor group k's stream (10, k) (pedestrians, debris)


def sensor_seed_seq(root: SeedLike) -> np.random.SeedSequence:
    """The sensors' branch of an episode seeded with ``root`` (each sensor then takes its
    own child by name in the rig)."""
    return child(root_seed(root), SENSOR_KEY)
