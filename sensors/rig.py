"""The rig: every sensor mounted on the ego, each firing at its own rate."""

from __future__ import annotations

from typing import Any

import numpy as np

from sensors.base import Measurement, Sensor, build_sensor
from sensors.world_view import WorldView


class Rig:
    """Builds the scenario's sensors, each with its own child RNG, and schedules them.

    Args:
        configs: the scenario's ``sensors`` list.
        rng_seed_seq: the ``numpy.random.SeedSequence`` reserved for sensors; sensor ``i``
            gets child ``i`` keyed by its name, so adding a sensor never changes another's
            noise nor the traffic.
    """

    def __init__(self, configs: list[Any], rng_seed_seq: np.random.SeedSequence):
        self.sensors: list[Sensor] = []
        for cfg in configs:
            key = [int(b) for b in cfg.name.encode()]
            seq = np.random.SeedSequence(rng_seed_seq.entropy,
                                         spawn_key=tuple(rng_seed_seq.spawn_key) + tuple(key))
            self.sensors.append(build_sensor(cfg, np.random.default_rng(seq)))
        self._next_t = [0.0 for _ in self.sensors]

    def __len__(self) -> int:
        return len(self.sensors)

    def due(self, t: float, eps: float = 1e-9) -> list[Sensor]:
        """Sensors whose next firing time has come at simulation time ``t``."""
        return [s for s, nt in zip(self.sensors, self._next_t) if t + eps >= nt]

    def capture(self, world: WorldView, t: float) -> dict[str, Measurement]:
        """Capture every sensor that is due at ``t``; advance their schedules."""
        out: dict[str, Measurement] = {}
        for i, sensor in enumerate(self.sensors):
            if t + 1e-9 >= self._next_t[i]:
                out[sensor.name] = sensor.capture(world, t)
                period = 1.0 / sensor.rate_hz
                # Keep the schedule on the grid k * period (no drift from float sums).
                k = int(np.floor((t + 1e-9) / period)) + 1
                self._next_t[i] = k * period
        return out
