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
