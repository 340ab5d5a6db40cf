"""``sweep:``: one scenario file expanded into numbered variants.

::

    sweep:
      grid: {ego.speed_mps: [10, 20, 30], traffic.count: [0, 20]}
    # or
    sweep:
      random: {count: 8, fields: {ego.speed_mps: {uniform: [10, 30]}}}

``grid``: the cartesian product of the listed values, in the order the fields are written,
the last field changing fastest (``itertools.product``): the grid above gives variant 0
``ego.speed_mps=10, traffic.count=0``, 1 ``10, 20``, 2 ``20, 0``, ... 5 ``30, 20``. A grid
value may itself be a distribution (it is then sampled per episode like any other).

``random``: ``count`` variants; field ``p`` of variant ``i`` is drawn from
``SeedSequence(seed, spawn_key=(SWEEP_KEY, i, crc32(p)))`` with ``seed`` the sweep's own
``seed`` (default: ``simulation.seed`` as written in the file), so the variants do not
depend on ``run --seed`` and are the same every time the file is expanded.

Field paths are written as the loader prints them (``sensors[0].fov_deg``). The expanded
scenario of a variant carries no ``sweep``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from scenarios.limits import Strict

MAX_VARIANTS = 10_000
"""Variants one file may expand into."""

Path = Annotated[str, Field(min_length=1, max_length=200)]


class RandomSweep(Strict):
    count: int = Field(ge=1, le=MAX_VARIANTS, description="Number of variants.")
    seed: int | None = Field(None, ge=0, le=2**64 - 1,
                             description="Seed of the variants; null: simulation.seed.")
    fields: dict[Path, Any] = Field(min_length=1, max_length=64,
                                    description="Field path -> distribution.")


class Sweep(Strict):
    """Variants of a scenario: a grid of values, or random samples."""

    grid: dict[Path, Annotated[list[Any], Field(min_length=1, max_length=MAX_VARIANTS)]] | None \
        = Field(None, min_length=1, max_length=16,
                description="Field path -> values; the cartesian product, last field fastest.")
    random: RandomSweep | None = None

    @model_validator(mode="after")
    def _one(self) -> Sweep:
        if (self.grid is None) == (self.random is None):
            raise ValueError("a sweep has exactly one of grid, random")
        if self.grid is not None:
            n = 1
            for values in self.grid.values():
                n *= len(values)
            if n > MAX_VARIANTS:
                raise ValueError(f"the grid has {n} variants; at most {MAX_VARIANTS}")
        return self
