"""Intelligent Driver Model (Treiber, Hennecke & Helbing 2000), vectorised over vehicles.

Every argument broadcasts (scalars or arrays of shape ``(n,)``); results are float64 arrays.
Units: speeds [m/s], gaps and distances [m] bumper to bumper, times [s], accelerations
[m/s^2]. ``gap = np.inf`` means a free road.

Standard IDM::

    s*(v, dv) = s0 + max(0, v T + v dv / (2 sqrt(a b)))
    dv/dt     = a [1 - (v / v0)^delta - (s* / s)^2]

Two guards keep it finite and well behaved, and change nothing for ``0 < v <= v0``, ``s > 0``:

- ``gap <= 0`` (overlap, e.g. after a cut-in) is evaluated at a 1 cm gap: a braking demand far
  beyond any vehicle's limit instead of NaN/inf; the vehicle dynamics saturate it.
- The free-road braking for ``v > v0`` is bounded by ``comfort_decel``: the ``(v/v0)^4`` term
  would otherwise emergency-brake when the desired speed drops (lower speed limit, wander),
  and divides by zero for ``v0 = 0``. A driver with ``v0 ~ 0`` who stands still stays still.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

GAP_FLOOR_M = 0.01
"""Gaps below this are evaluated at it (overlap -> strong, finite braking) [m]."""

V0_FLOOR_MPS = 1e-3
"""Desired speeds below this mean "stand still" [m/s]."""


def idm_desired_gap(v: npt.ArrayLike, dv: npt.ArrayLike, time_headway: npt.ArrayLike,
                    min_gap: npt.ArrayLike, max_accel: npt.ArrayLike,
                    comfort_decel: npt.ArrayLike) -> np.ndarray:
    """IDM desired dynamic gap ``s* = s0 + max(0, v T + v dv / (2 sqrt(a b)))``.

    Args:
        v: own speed [m/s].
        dv: approach rate ``v - v_leader`` [m/s] (positive when closing in).
        time_headway: desired time headway T [s].
        min_gap: standstill gap s0 [m].
        max_accel: maximum acceleration a [m/s^2].
        comfort_decel: comfortable deceleration b [m/s^2], positive.

    Returns:
        s* [m], broadcast shape of the inputs.
    """
    v = np.asarray(v, dtype=np.float64)
    dyn = v * (time_headway + dv / (2.0 * np.sqrt(np.multiply(max_accel, comfort_decel))))
    return min_gap + np.maximum(dyn, 0.0)


def idm_acceleration(v: npt.ArrayLike, v0: npt.ArrayLike, gap: npt.ArrayLike,
                     dv: npt.ArrayLike, time_headway: npt.ArrayLike, min_gap: npt.ArrayLike,
                     max_accel: npt.ArrayLike, comfort_decel: npt.ArrayLike,
                     delta: float = 4.0, max_brake: npt.ArrayLike | None = None
                     ) -> np.ndarray:
    """IDM acceleration of each vehicle given its leader.

    Args:
        v: own speed [m/s], >= 0.
        v0: desired speed [m/s].
        gap: bumper-to-bumper distance to the leader [m]; ``np.inf`` for a free road.
        dv: approach rate ``v - v_leader`` [m/s]; any finite value where ``gap`` is inf.
        time_headway: desired time headway T [s].
        min_gap: standstill gap s0 [m].
        max_accel: maximum acceleration a [m/s^2].
        comfort_decel: comfortable deceleration b [m/s^2], positive.
        delta: acceleration exponent (4 in the standard model).
        max_brake: if given, the result is clipped to ``>= -max_brake`` [m/s^2].

    Returns:
        Acceleration command [m/s^2], broadcast shape of the inputs.
    """
    v = np.asarray(v, dtype=np.float64)
    v0 = np.asarray(v0, dtype=np.float64)
    s_star = idm_desired_gap(v, dv, time_headway, min_gap, max_accel, comfort_decel)
    interaction = np.square(s_star / np.maximum(gap, GAP_FLOOR_M))
    ratio = v / np.maximum(v0, V0_FLOOR_MPS)
    if delta == 4.0:
        free = 1.0 - np.square(np.square(ratio))
    else:
        free = 1.0 - ratio**delta
    # v/v0 is 0/0 at v0 = 0: fading the drive out below V0_FLOOR_MPS makes a standing
    # driver who wants 0 stay put; one who moves gets the bounded braking below.
    free = np.minimum(free, v0 * (1.0 / V0_FLOOR_MPS))
    free = np.maximum(free, -np.divide(comfort_decel, max_accel))
    acc = (free - interaction) * max_accel
    if max_brake is not None:
        acc = np.maximum(acc, np.negative(max_brake))
    return acc


@njit(cache=True, nogil=True)
def idm_acceleration_one(v: float, v0: float, gap: float, dv: float, time_headway: float,
                         min_gap: float, max_accel: float, comfort_decel: float) -> float:
    """``idm_acceleration`` (delta = 4, no ``max_brake``) for one vehicle, compiled for
    the traffic kernels; the same operations in the same order, so the same bits."""
    dyn = v * (time_headway + dv / (2.0 * math.sqrt(max_accel * comfort_decel)))
    s_star = min_gap + max(dyn, 0.0)
    q = s_star / max(gap, GAP_FLOOR_M)
    interaction = q * q
    ratio = v / max(v0, V0_FLOOR_MPS)
    r2 = ratio * ratio
    free = 1.0 - r2 * r2
    free = min(free, v0 * (1.0 / V0_FLOOR_MPS))
    free = max(free, -(comfort_decel / max_accel))
    return (free - interaction) * max_accel


def idm_equilibrium_gap(v: npt.ArrayLike, v0: npt.ArrayLike, time_headway: npt.ArrayLike,
                        min_gap: npt.ArrayLike, delta: float = 4.0) -> np.ndarray:
    """Steady-state IDM gap at speed ``v`` behind a leader at the same speed.

    ``s_e = (s0 + v T) / sqrt(1 - (v/v0)^delta)``; ``np.inf`` where ``v >= v0``. Useful for
    spawning traffic in equilibrium.

    Args:
        v: common speed [m/s], >= 0.
        v0: desired speed [m/s], > 0.
        time_headway: T [s].
        min_gap: s0 [m].
        delta: acceleration exponent.

    Returns:
        Equilibrium gap [m].
    """
    v = np.asarray(v, dtype=np.float64)
    rest = 1.0 - (v / np.maximum(v0, V0_FLOOR_MPS)) ** delta
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = (min_gap + v * time_headway) / np.sqrt(rest)
    return np.where(rest > 0.0, gap, np.inf)
