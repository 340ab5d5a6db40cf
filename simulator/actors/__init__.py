"""Actors that are not road vehicles: pedestrians, debris, spawned props.

Road vehicles live in the world's vehicle arrays (``simulator.vehicles``); everything else
that moves comes as an :class:`~simulator.actors.base.ActorGroup`, which the world resets,
steps, draws into the ray-cast mirror, boxes in the GT, lets drivers stop for and checks
for contacts. ``build_actor_groups`` makes the groups a scenario asks for.
"""

from __future__ import annotations

from simulator.actors.base import ActorGroup, ActorHost

__all__ = ["ActorGroup", "ActorHost", "build_actor_groups"]


def build_actor_groups(host: ActorHost) -> list[ActorGroup]:
    """The actor groups of ``host.scenario``, in a fixed order (their instance ids and
    seed streams follow it)."""
    return []
