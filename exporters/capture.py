"""Capturing an episode as frames: step the world, fire the rig, group by frame."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from exporters.base import EpisodeInfo
from exporters.frame import KEY_SENSOR_TYPES, Frame, SensorCalib, object_states
from sensors.base import Measurement
from sensors.rig import Rig


def episode_frames(world: Any, rig: Rig, episode: EpisodeInfo,
                   calibration: dict[str, SensorCalib], npc: Any = None) -> Iterator[Frame]:
    """The ``episode.n_frames`` frames of an episode.

    ``world`` must be freshly reset to ``episode.seed`` and ``rig`` built on its
    ``sensor_seed_seq``. Frame j is at simulation time j / frame_hz; the world advances at
    its physics rate (``npc``: optional ``envs.npc_policy.NpcPolicies`` driving some NPCs)
    and the rig fires every sensor on its own schedule.
    """
    physics_hz = world.scenario.simulation.physics_hz
    per_frame = physics_hz / episode.frame_hz
    steps_per_frame = int(round(per_frame))
    if abs(per_frame - steps_per_frame) > 1e-6 or steps_per_frame < 1:
        raise ValueError(f"the frame rate {episode.frame_hz:g} Hz does not divide the "
                         f"physics rate {physics_hz:g} Hz")
    key = {s.name for s in rig.sensors if s.type_name in KEY_SENSOR_TYPES}
    samples: dict[str, list[Measurement]] = {s.name: [] for s in rig.sensors}
    controls: dict = {}
    for j in range(episode.n_frames):
        steps = steps_per_frame if j else 0
        for k in range(steps):
            if npc is not None and world.step_index % world.control_every == 0:
                controls = npc.controls(world)
            world.step(controls)
            if k < steps - 1:
                _fire(rig, world, samples)
        latest = _fire(rig, world, samples)
        missing = key - latest.keys()
        if missing:
            raise ValueError(f"key sensor(s) {', '.join(sorted(missing))} did not fire at "
                             f"t = {world.time_s:.3f} s: their rates must be multiples of "
                             f"the frame rate {episode.frame_hz:g} Hz")
        meas = dict(latest)
        for name, ms in samples.items():
            if name not in meas and ms:
                meas[name] = ms[-1]
        yield Frame(episode=episode.index, seed=episode.seed, index=j, time_s=world.time_s,
                    ego_pose=world.ego_pose(), measurements=meas,
                    samples={n: list(v) for n, v in samples.items()},
                    objects=object_states(world), calibration=calibration,
                    traffic_lights=world.traffic_light_states())
        for v in samples.values():
            v.clear()


def _fire(rig: Rig, world: Any, samples: dict[str, list[Measurement]]) -> dict[str, Measurement]:
    got = rig.capture(world, world.time_s)
    for name, m in got.items():
        samples[name].append(m)
    return got
