"""Per-driver IDM/MOBIL/human parameters, drawn from the scenario's driver profiles.

Driver ``i`` draws only from its own child Generator ``rngs[i]``: one uniform for its
profile, then one uniform per parameter (in ``PARAM_NAMES`` order) mapped through the
inverse CDF of the truncated normal. That is an exact truncated normal (the same law as
resampling until inside ``[min, max]``), uses a fixed number of draws whatever the bounds, and
so adding drivers or changing one parameter's bounds never shifts anyone else's values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from statistics import NormalDist

import numpy as np

from scenarios.schema import Dist, DriverProfile, Traffic

PARAM_NAMES: tuple[str, ...] = (
    "desired_speed_factor", "time_headway_s", "min_gap_m", "max_accel_mps2",
    "comfort_decel_mps2", "politeness", "lane_change_threshold_mps2", "reaction_time_s",
    "speed_imperfection", "gap_acceptance_s",
)
"""The drawn parameters, in draw order; the same names as ``DriverProfile``'s fields."""

_STD_NORMAL = NormalDist()
_P_TINY = 1e-300


@dataclass
class DriverParams:
    """Parameters of ``n`` drivers, one float64 array of shape ``(n,)`` per parameter.

    Attributes:
        desired_speed_factor: desired speed / speed limit [-].
        time_headway_s: IDM time headway T [s].
        min_gap_m: IDM standstill gap s0 [m].
        max_accel_mps2: IDM maximum acceleration a [m/s^2].
        comfort_decel_mps2: IDM comfortable deceleration b [m/s^2], positive.
        politeness: MOBIL politeness p [-].
        lane_change_threshold_mps2: MOBIL threshold a_th [m/s^2].
        reaction_time_s: delay between decision and action [s].
        speed_imperfection: std of the desired-speed wander, fraction of it [-].
        gap_acceptance_s: time gap to oncoming traffic a turning driver accepts [s].
        profile: index into ``profile_names`` per driver, int64 ``(n,)``.
        profile_names: the profile names, in the scenario's ``mix`` order.
    """

    desired_speed_factor: np.ndarray
    time_headway_s: np.ndarray
    min_gap_m: np.ndarray
    max_accel_mps2: np.ndarray
    comfort_decel_mps2: np.ndarray
    politeness: np.ndarray
    lane_change_threshold_mps2: np.ndarray
    reaction_time_s: np.ndarray
    speed_imperfection: np.ndarray
    gap_acceptance_s: np.ndarray
    profile: np.ndarray
    profile_names: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.profile)
        for name in (*PARAM_NAMES, "profile"):
            if np.shape(getattr(self, name)) != (n,):
                raise ValueError(f"DriverParams.{name} must have shape ({n},)")

    def __len__(self) -> int:
        return len(self.profile)

    def take(self, index: np.ndarray | list[int]) -> DriverParams:
        """The drivers at ``index`` (integer indices or a bool mask), as new arrays."""
        return DriverParams(**{f.name: getattr(self, f.name)[index] for f in fields(self)
                               if f.name != "profile_names"},
                            profile_names=self.profile_names)


def _std_cdf(z: float) -> float:
    # erfc keeps the lower tail accurate where 1 + erf(z) would round to 0.
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def truncnorm_from_uniform(u: float, dist: Dist) -> float:
    """Map a uniform ``u`` in [0, 1) to a draw of the truncated normal ``dist``.

    Inverse-CDF sampling restricted to ``[min, max]``; ``std == 0`` gives the mean (clipped
    to the bounds) exactly. The result always lies inside the bounds.
    """
    lo = -math.inf if dist.min is None else dist.min
    hi = math.inf if dist.max is None else dist.max
    if dist.std == 0.0:
        return min(max(dist.mean, lo), hi)
    a = (lo - dist.mean) / dist.std
    b = (hi - dist.mean) / dist.std
    # Work in whichever tail keeps the CDF values small, where they are accurate.
    flip = a + b > 0.0
    if flip:
        a, b, u = -b, -a, 1.0 - u
    pa, pb = _std_cdf(a), _std_cdf(b)
    if not pb - pa > 0.0:  # interval far out in a tail: all its mass sits at its near end
        z = b if b < 0.0 else max(a, 0.0)
    else:
        p = min(max(pa + u * (pb - pa), _P_TINY), 1.0 - 1e-16)
        z = _STD_NORMAL.inv_cdf(p)
    if flip:
        z = -z
    return min(max(dist.mean + dist.std * z, lo), hi)


def sample_drivers(traffic: Traffic, rngs: list[np.random.Generator],
                   profiles: list[str | None] | None = None) -> DriverParams:
    """Draw one driver per Generator: its profile by the ``mix`` weights, then its parameters.

    Args:
        traffic: the scenario's traffic config (profiles and mix weights).
        rngs: one child Generator per driver; driver ``i`` uses only ``rngs[i]``, consuming
            ``1 + len(PARAM_NAMES)`` uniforms from it.
        profiles: per driver, a profile name that replaces the ``mix`` draw (named
            actors), or None; the draws stay the same either way.

    Returns:
        The parameters of ``len(rngs)`` drivers.

    Raises:
        ValueError: drivers are requested but the mix has no positive weight.
    """
    forced = list(profiles) if profiles is not None else [None] * len(rngs)
    names = tuple(traffic.mix) + tuple(sorted({p for p in forced if p is not None}
                                              - set(traffic.mix)))
    n = len(rngs)
    drawn = any(p is None for p in forced)
    if drawn and (not names or sum(traffic.mix.values()) <= 0.0):
        raise ValueError("traffic.mix needs a positive weight to draw drivers")
    uniforms = np.empty((n, 1 + len(PARAM_NAMES)))
    for i, rng in enumerate(rngs):
        rng.random(out=uniforms[i])
    profile = np.zeros(n, dtype=np.int64)
    if drawn:
        weights = np.array([traffic.mix.get(k, 0.0) for k in names], dtype=np.float64)
        cum = np.cumsum(weights) / weights.sum()
        last_positive = int(np.flatnonzero(weights > 0.0)[-1])
        profile = np.minimum(np.searchsorted(cum, uniforms[:, 0], side="right"),
                             last_positive)
    for i, name in enumerate(forced):
        if name is not None:
            profile[i] = names.index(name)
    chosen: list[DriverProfile] = [traffic.profiles[k] for k in names]
    values = {name: np.empty(n) for name in PARAM_NAMES}
    for i in range(n):  # once per run, at spawn: not a hot path
        prof = chosen[profile[i]]
        for j, name in enumerate(PARAM_NAMES, start=1):
            values[name][i] = truncnorm_from_uniform(float(uniforms[i, j]), getattr(prof, name))
    return DriverParams(**values, profile=profile, profile_names=names)
