"""Actors that are not road vehicles: pedestrians, debris.

Road vehicles live in the world's vehicle arrays (``simulator.vehicles``); everything else
that moves comes as an :class:`~simulator.actors.base.ActorGroup`, which the world resets,
steps, draws into the ray-cast mirror, boxes in the GT, lets drivers stop for and checks
for contacts. ``build_actor_groups`` makes the groups a scenario asks for.
"""

from __future__ import annotations

from simulator.actors.base import DEBRIS_ID_BASE, PEDESTRIAN_ID_BASE, ActorGroup, ActorHost

__all__ = ["ActorGroup", "ActorHost", "build_actor_groups"]


def _needs_debris(scenario) -> bool:
    return bool(scenario.debris) or any(a.type == "debris" for e in scenario.events
                                        for a in e.actions)


def build_actor_groups(host: ActorHost) -> list[ActorGroup]:
    """The actor groups of ``host.scenario``, in a fixed order (pedestrians, debris: their
    seed streams follow it). Each group has a ``kind`` (``World.actor_group(kind)``)."""
    sc = host.scenario
    groups: list[ActorGroup] = []
    if sc.pedestrians:
        from simulator.actors.pedestrians import PedestrianGroup
        groups.append(PedestrianGroup(host, PEDESTRIAN_ID_BASE))
    if _needs_debris(sc):
        from simulator.actors.debris import DebrisGroup
        groups.append(DebrisGroup(host, DEBRIS_ID_BASE))
    return groups
