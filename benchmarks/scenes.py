"""The scene every sensor benchmark measures: the default scenario's world, stepped a
little so the traffic has moved. A failure to build it is a failure of the benchmark,
never a silent switch to another scene."""

from __future__ import annotations

from scenarios import DEFAULT_SCENARIO, load
from simulator.world import World


def default_world(steps: int = 10) -> World:
    """The default scenario's ``World`` after ``steps`` physics steps (caller closes it)."""
    world = World(load(DEFAULT_SCENARIO))
    for _ in range(steps):
        world.step()
    return world
