"""The vehicle arrays: ``VehicleParams`` (per-car constants) and ``VehicleState`` (the
integrated state), structure of arrays over all cars. ``simulator.vehicles.dynamics``
steps them; see there for the model and its frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from scenarios.schema import VehicleSpec


@dataclass(eq=False)
class VehicleParams:
    """Per-vehicle constants, each a float64 array of shape (n,).

    Attributes:
        mass_kg, yaw_inertia_kgm2: mass [kg] and yaw moment of inertia [kg m^2].
        lf_m, lr_m: CoG (= footprint centre) to front / rear axle [m].
        cf_n_per_rad, cr_n_per_rad: cornering stiffness of the front / rear axle [N/rad].
        mu: tyre-road friction coefficient.
        max_steer_rad, max_steer_rate_rad_s: road-wheel angle limit [rad] and rate [rad/s].
        max_accel_mps2, max_decel_mps2: drive / brake limits (both > 0) [m/s^2].
        length_m, width_m, height_m: body size [m].

    Arrays may be edited in place (e.g. a wet road lowering ``mu``); call ``mark_changed``
    afterwards so that ``step`` rebuilds its derived constants.
    """

    mass_kg: np.ndarray
    yaw_inertia_kgm2: np.ndarray
    lf_m: np.ndarray
    lr_m: np.ndarray
    cf_n_per_rad: np.ndarray
    cr_n_per_rad: np.ndarray
    mu: np.ndarray
    max_steer_rad: np.ndarray
    max_steer_rate_rad_s: np.ndarray
    max_accel_mps2: np.ndarray
    max_decel_mps2: np.ndarray
    length_m: np.ndarray
    width_m: np.ndarray
    height_m: np.ndarray
    version: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        arrays = {name: np.array(getattr(self, name), np.float64).reshape(-1)
                  for name in _PARAM_FIELDS}
        n = arrays["mass_kg"].shape[0]
        for name, a in arrays.items():
            if a.shape[0] != n:
                raise ValueError(f"{name} has {a.shape[0]} entries, mass_kg has {n}")
            setattr(self, name, a)

    @classmethod
    def from_specs(cls, specs: Sequence[VehicleSpec]) -> VehicleParams:
        """Arrays over ``specs`` (degrees converted to radians here, once)."""
        cols: dict[str, list[float]] = {name: [] for name in _PARAM_FIELDS}
        for s in specs:
            row = (s.mass_kg, s.yaw_inertia_kgm2, s.cog_to_front_axle_m,
                   s.wheelbase_m - s.cog_to_front_axle_m,
                   s.cornering_stiffness_front_n_per_rad, s.cornering_stiffness_rear_n_per_rad,
                   s.mu, np.deg2rad(s.max_steer_deg), np.deg2rad(s.max_steer_rate_deg_s),
                   s.max_accel_mps2, s.max_decel_mps2, s.length_m, s.width_m, s.height_m)
            for name, value in zip(_PARAM_FIELDS, row):
                cols[name].append(float(value))
        return cls(**{k: np.array(v, np.float64) for k, v in cols.items()})

    @property
    def n(self) -> int:
        return int(self.mass_kg.shape[0])

    @property
    def wheelbase_m(self) -> np.ndarray:
        return self.lf_m + self.lr_m

    def mark_changed(self) -> None:
        """Declare in-place edits of the arrays (invalidates cached derived constants)."""
        self.version += 1

    def append(self, specs: Sequence[VehicleSpec]) -> None:
        """Add vehicles at the end (indices ``n .. n + len(specs) - 1``)."""
        new = VehicleParams.from_specs(specs)
        for name in _PARAM_FIELDS:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(new, name)]))
        self.mark_changed()

    def remove(self, indices: Sequence[int] | np.ndarray) -> None:
        """Delete vehicles; the others keep their order (and shift down)."""
        for name in _PARAM_FIELDS:
            setattr(self, name, np.delete(getattr(self, name), indices))
        self.mark_changed()


_PARAM_FIELDS = tuple(f.name for f in fields(VehicleParams) if f.name != "version")

STATE_ROWS = ("x", "y", "yaw", "vx", "vy", "yaw_rate", "steer", "ax_body", "ay_body",
              "vx_world", "vy_world")
"""Row layout of ``VehicleState.data`` (the numba kernel and the pose history follow it)."""
_X, _Y, _YAW, _VX, _VY, _R, _STEER, _AX, _AY, _VXW, _VYW = range(len(STATE_ROWS))


def _row(i: int) -> property:
    def get(self: VehicleState) -> np.ndarray:
        return self.data[i]

    def put(self: VehicleState, value: np.ndarray) -> None:
        self.data[i] = value

    return property(get, put, doc=f"Row {STATE_ROWS[i]!r} of ``data`` (a view).")


class VehicleState:
    """Integrated state of n vehicles: one (11, n) float64 array, rows exposed as views.

    Rows: ``x``, ``y`` [m] (footprint centre, world frame), ``yaw`` [rad, in [-pi, pi)],
    ``vx``, ``vy`` [m/s] (body frame), ``yaw_rate`` [rad/s], ``steer`` [rad, road-wheel
    angle], ``ax_body``, ``ay_body`` [m/s^2] (body-frame acceleration over the last step,
    gravity not included) and ``vx_world``, ``vy_world`` [m/s] (world-frame velocity).
    Teleport with ``set`` so the world-frame velocity stays consistent. Row views stay
    valid until ``append``/``remove``, which reallocate ``data``.
    """

    # Rows of ``data`` as read/write views, documented above.
    (x, y, yaw, vx, vy, yaw_rate, steer, ax_body, ay_body, vx_world,
     vy_world) = (_row(i) for i in range(len(STATE_ROWS)))

    def __init__(self, n: int = 0):
        self.data = np.zeros((len(STATE_ROWS), n), np.float64)
        # The compiled step bound to this buffer, owned by ``dynamics.step``.
        self._stepper: object | None = None

    @property
    def n(self) -> int:
        return int(self.data.shape[1])

    def set(self, i: int, x: float, y: float, yaw: float, speed: float = 0.0,
            steer: float = 0.0) -> None:
        """Teleport vehicle ``i``: driving straight at ``speed`` [m/s] along ``yaw`` [rad]."""
        if speed < 0:
            raise ValueError(f"speed must be >= 0 (no reversing), got {speed}")
        yaw = float(np.remainder(yaw + np.pi, 2 * np.pi) - np.pi)
        col = self.data[:, i]
        col[:] = 0.0
        col[_X], col[_Y], col[_YAW], col[_VX], col[_STEER] = x, y, yaw, speed, steer
        col[_VXW], col[_VYW] = speed * np.cos(yaw), speed * np.sin(yaw)

    def append(self, count: int = 1) -> np.ndarray:
        """Add ``count`` vehicles at rest at the origin; returns their indices."""
        n = self.n
        self.data = np.concatenate([self.data, np.zeros((len(STATE_ROWS), count))], axis=1)
        return np.arange(n, n + count)

    def remove(self, indices: Sequence[int] | np.ndarray) -> None:
        """Delete vehicles; the others keep their order (and shift down)."""
        self.data = np.ascontiguousarray(np.delete(self.data, indices, axis=1))

    def copy(self) -> VehicleState:
        out = VehicleState(0)
        out.data = self.data.copy()
        return out
