"""Vectorised vehicle dynamics: one dynamic bicycle model step for every car at once.

All vehicles live in arrays (structure of arrays, ``simulator.vehicles.params``):
``VehicleParams`` (constants from ``VehicleSpec``) and ``VehicleState`` (the integrated
state), re-exported here. ``step`` advances them all by ``dt``: the numba kernel
(``simulator.vehicles.kernel``), or this module's numpy reference, ufuncs writing into
preallocated buffers with no Python loop over cars.

Modelling choices (SI units, radians, body frame x forward / y left / z up):

* Reference point: ``(x, y)`` is the centre of the footprint and this module treats it as
  the centre of gravity. The spec's ``cog_to_front_axle_m`` (lf) puts the front axle lf
  ahead of it and the rear axle lr = wheelbase - lf behind it. ``vx``, ``vy``,
  ``yaw_rate`` and the accelerations therefore describe the body-frame origin that poses
  and sensors use directly, with no offset to convert.
* Longitudinal: the commanded acceleration is clipped to
  ``[-min(max_decel, mu g), min(max_accel, mu g)]`` (g = ``GRAVITY_MPS2``, standard
  gravity) and applied as a force at the CoG.
  No reversing: ``vx >= 0``, so a car braking to a stop stays at 0.
* Lateral: slip angles at the front and rear axle, linear tyre force ``C * alpha``
  saturated at the axle's budget ``mu * Fz * sqrt(1 - (a / mu g)^2)`` with static axle loads
  from the weight distribution (friction circle, longitudinal force first, both axles using
  the same share of their budget as with an ideal brake / drive split).
* Low speed: the dynamic model is singular at ``vx -> 0``, so ``vx``, ``vy`` and
  ``yaw_rate`` are blended with the kinematic bicycle model (``r = vx tan(delta) / L``,
  ``vy = lr r``, ``vx += a dt``): kinematic below ``KINEMATIC_BELOW_MPS``, dynamic above
  ``DYNAMIC_ABOVE_MPS`` (both raised for unusually stiff, light cars, see
  ``blend_speeds``), smoothstep weight in between. Above it the model is exactly the
  dynamic one; the kinematic model is not energy-conserving (steering a slow car sets its
  yaw rate directly).
* Integration (stable at dt = 0.01 s up to at least 40 m/s): steering first, then the body
  velocities by the tyre and drive forces evaluated at the start of the step (with the new
  steering angle), then the exact rotation of the body-frame velocity by ``-yaw_rate dt``
  (the Coriolis terms; a pure rotation, so it cannot add energy), then yaw by the new yaw
  rate and the position by the trapezoid rule on world-frame velocities (exact for
  constant acceleration, e.g. braking). ``ax_body``/``ay_body`` are the world-frame velocity
  change of the step divided by dt, rotated into the body frame at the step's mid yaw.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from numpy._core.umath import clip as _clip  # the ufunc: np.clip's wrapper costs ~1 us

from simulator.constants import GRAVITY_MPS2
from simulator.vehicles.kernel import KERNEL, ODOMETER
from simulator.vehicles.kernel import constants as kernel_constants
from simulator.vehicles.params import STATE_ROWS, VehicleParams, VehicleState

logger = logging.getLogger(__name__)

__all__ = ["DYNAMIC_ABOVE_MPS", "KINEMATIC_BELOW_MPS", "VehicleParams", "VehicleState",
           "blend_speeds", "odometer", "step"]

KINEMATIC_BELOW_MPS = 1.5
DYNAMIC_ABOVE_MPS = 3.0
_X, _Y, _YAW, _VX, _VY, _R, _STEER, _AX, _AY, _VXW, _VYW = (
    STATE_ROWS.index(name) for name in ("x", "y", "yaw", "vx", "vy", "yaw_rate", "steer",
                                        "ax_body", "ay_body", "vx_world", "vy_world"))


def blend_speeds(params: VehicleParams, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-vehicle speeds [m/s] above which the model is dynamic / below which kinematic.

    ``DYNAMIC_ABOVE_MPS`` / ``KINEMATIC_BELOW_MPS``, raised for stiff, light cars so that
    the explicit tyre-force update stays stable: its lateral and yaw gains are
    ``dt (Cf + Cr) / (m v)`` and ``dt (Cf lf^2 + Cr lr^2) / (Iz v)``, which must stay
    below 2 wherever the dynamic model has weight (kinematic threshold = half the dynamic).
    """
    p = params
    rate = np.maximum((p.cf_n_per_rad + p.cr_n_per_rad) / p.mass_kg,
                      (p.cf_n_per_rad * p.lf_m**2 + p.cr_n_per_rad * p.lr_m**2)
                      / p.yaw_inertia_kgm2)
    scale = KINEMATIC_BELOW_MPS / DYNAMIC_ABOVE_MPS
    v_hi = np.maximum(DYNAMIC_ABOVE_MPS, 1.2 * dt * rate)
    return v_hi, scale * v_hi


class _Stepper:
    """A compiled step for one (state buffer, params version, dt): buffers bound once.

    Uses the numba kernel (``simulator.vehicles.kernel``) when available, else the numpy
    closure; ``use_kernel=False`` forces the numpy reference.
    """

    __slots__ = ("data", "params", "version", "dt", "run", "kernel")

    def __init__(self, state: VehicleState, params: VehicleParams, dt: float,
                 use_kernel: bool = True):
        self.data, self.params, self.version, self.dt = state.data, params, params.version, dt
        self.kernel = use_kernel and KERNEL is not None
        self.run = _build_kernel_run(state, params, dt) if self.kernel else \
            _build_run(state, params, dt)

    def matches(self, state: VehicleState, params: VehicleParams, dt: float,
                use_kernel: bool = True) -> bool:
        return (self.data is state.data and self.params is params
                and self.version == params.version and self.dt == dt
                and self.kernel == (use_kernel and KERNEL is not None))


def step(state: VehicleState, params: VehicleParams, accel_cmd: np.ndarray | float,
         steer_cmd: np.ndarray | float, dt: float, use_kernel: bool = True) -> None:
    """Advance every vehicle by ``dt`` [s] in place.

    Args:
        state: the vehicles' state, updated in place.
        params: their constants (same n and order as ``state``).
        accel_cmd: (n,) commanded longitudinal acceleration [m/s^2] (< 0 brakes).
        steer_cmd: (n,) commanded road-wheel angle [rad].
        dt: time step [s], > 0.
        use_kernel: use the compiled kernel when numba is installed (False: the numpy
            reference implementation).
    """
    stepper = state._stepper
    if stepper is None or not stepper.matches(state, params, dt, use_kernel):
        stepper = state._stepper = _Stepper(state, params, dt, use_kernel)
    stepper.run(accel_cmd, steer_cmd)


def odometer(distance_m: np.ndarray, vx: np.ndarray, dt: float) -> float:
    """Add ``vx * dt`` to ``distance_m`` in place (both (n,) float64, contiguous) [m];
    return the largest ``vx`` [m/s] (NaN if any is NaN). One compiled pass when numba is
    installed, the same operations as numpy's."""
    if ODOMETER is None:
        np.add(distance_m, vx * dt, out=distance_m)
        return float(vx.max())
    return ODOMETER(distance_m, vx, dt)


def _build_kernel_run(state: VehicleState, params: VehicleParams,
                      dt: float) -> Callable[[np.ndarray | float, np.ndarray | float], None]:
    """Bind the state buffer and per-vehicle constants to the numba kernel."""
    n = state.n
    if params.n != n:
        raise ValueError(f"params describe {params.n} vehicles, state has {n}")
    if not dt > 0:
        raise ValueError(f"dt must be > 0, got {dt}")
    v_hi, v_lo = blend_speeds(params, dt)
    consts = kernel_constants(params, dt, v_hi, v_lo)
    data = state.data
    kernel = KERNEL
    a_buf, s_buf = np.empty(n), np.empty(n)
    trig = np.full((3, n), np.nan)     # per car: a steering angle, its cos and sin

    def run(accel_cmd: np.ndarray | float, steer_cmd: np.ndarray | float) -> None:
        a_buf[:] = accel_cmd
        s_buf[:] = steer_cmd
        kernel(data, a_buf, s_buf, consts, dt, trig)

    return run


def _build_run(state: VehicleState, params: VehicleParams,
               dt: float) -> Callable[[np.ndarray | float, np.ndarray | float], None]:
    """Bind views, derived constants and scratch buffers into a closure doing one step."""
    n = state.n
    if params.n != n:
        raise ValueError(f"params describe {params.n} vehicles, state has {n}")
    if not dt > 0:
        raise ValueError(f"dt must be > 0, got {dt}")
    logger.debug("building dynamics step for %d vehicles, dt=%g s", n, dt)
    p = params
    d = state.data
    xy, yaw, vx, vy, r, steer = d[_X:_Y + 1], d[_YAW], d[_VX], d[_VY], d[_R], d[_STEER]
    vel3 = d[_VX:_R + 1]                       # [vx; vy; r]
    vxy, vyx = d[_VX:_VY + 1], d[_VY:_VX - 1:-1]   # [vx; vy] and [vy; vx] views
    acc_b, ax_b, ay_b = d[_AX:_AY + 1], d[_AX], d[_AY]
    vw = d[_VXW:_VYW + 1]

    def full(value: float | np.ndarray, rows: int = 0) -> np.ndarray:
        shape = (rows, n) if rows else (n,)
        return np.ascontiguousarray(np.broadcast_to(np.asarray(value, np.float64), shape))

    # Derived constants (Python scalars make ufuncs slower than same-shape arrays).
    mug = p.mu * GRAVITY_MPS2
    smax, nsmax = full(p.max_steer_rad), full(-p.max_steer_rad)
    rdt, nrdt = full(p.max_steer_rate_rad_s * dt), full(-p.max_steer_rate_rad_s * dt)
    a_hi, a_lo = np.minimum(p.max_accel_mps2, mug), -np.minimum(p.max_decel_mps2, mug)
    mug2 = mug * mug                           # |a| <= mug exactly, so mug2 - a*a >= 0
    wheelbase = p.lf_m + p.lr_m
    # mu Fz / (mu g) per axle: static loads from the weight distribution.
    load2 = np.stack([p.mass_kg * p.lr_m / wheelbase, p.mass_kg * p.lf_m / wheelbase])
    nlever2 = np.stack([-p.lf_m, p.lr_m])
    stiff2 = np.stack([p.cf_n_per_rad, p.cr_n_per_rad])
    kf = dt / p.mass_kg
    gy2 = np.stack([dt * p.lf_m / p.yaw_inertia_kgm2, -dt * p.lr_m / p.yaw_inertia_kgm2])
    inv_l, lr = 1.0 / wheelbase, p.lr_m.copy()
    v_hi, v_lo = blend_speeds(p, dt)
    raised = v_hi > DYNAMIC_ABOVE_MPS
    if raised.any():
        logger.info("stiff/light vehicles %s: kinematic model up to %s m/s for stability",
                    np.flatnonzero(raised), np.round(v_hi[raised], 1))
    lam_a = 1.0 / (v_hi - v_lo)
    lam_b = -v_lo * lam_a
    zeros, ones, three, mtwo = full(0.0), full(1.0), full(3.0), full(-2.0)
    dt1, hdt1, hdt2, idt2 = full(dt), full(0.5 * dt), full(0.5 * dt, 2), full(1.0 / dt, 2)
    pi1, twopi1 = full(np.pi), full(2 * np.pi)

    # Scratch buffers.
    t0, t1, t2, t3 = (np.empty(n) for _ in range(4))
    acc, lam, oml, th, c1, s1, cd, sd, ymid = (np.empty(n) for _ in range(9))
    fm2, nfm2, v2, f2, m2, p2, q2, w1, s2, cs, cm = (np.empty((2, n)) for _ in range(11))
    k3 = np.empty((3, n))
    kvx, kvy, kr = k3[0], k3[1], k3[2]
    alpha_f, f_f, f_r = v2[0], f2[0], f2[1]
    cs_rev, s2_rev = cs[::-1], s2[::-1]
    m20, m21, p20, p21, q20, q21 = m2[0], m2[1], p2[0], p2[1], q2[0], q2[1]
    w10, w11, cs0, cs1, cm0, cm1 = w1[0], w1[1], cs[0], cs[1], cm[0], cm[1]

    # Positional ``out`` is ~15% cheaper than the keyword for these small arrays.
    add, sub, mul, div = np.add, np.subtract, np.multiply, np.divide
    sin, cos, maximum, sqrt, negative = np.sin, np.cos, np.maximum, np.sqrt, np.negative
    arctan2, remainder, copyto = np.arctan2, np.remainder, np.copyto

    def run(accel_cmd: np.ndarray | float, steer_cmd: np.ndarray | float) -> None:
        # Steering: clip the command to the mechanical limit, rate-limit the move towards it.
        _clip(steer_cmd, nsmax, smax, t0)
        sub(t0, steer, t0)
        _clip(t0, nrdt, rdt, t0)
        add(steer, t0, steer)
        # Longitudinal command and the lateral friction budget left by it (friction circle).
        _clip(accel_cmd, a_lo, a_hi, acc)
        mul(acc, acc, t1)
        sub(mug2, t1, t1)
        sqrt(t1, t1)
        mul(load2, t1, fm2)
        negative(fm2, nfm2)
        # Slip angles [alpha_f; alpha_r] = [delta; 0] - atan2(vy + [lf; -lr] r, vx).
        mul(nlever2, r, v2)
        sub(v2, vy, v2)
        arctan2(v2, vx, v2)
        add(alpha_f, steer, alpha_f)
        # Saturated linear tyres, then the velocity increments of the forces.
        mul(stiff2, v2, f2)
        _clip(f2, nfm2, fm2, f2)
        cos(steer, cd)
        sin(steer, sd)
        mul(f_f, sd, t2)                        # front force's backward component
        mul(f_f, cd, f_f)                       # ... and lateral component
        mul(f2, gy2, m2)
        add(r, m20, r)
        add(r, m21, r)
        add(f_f, f_r, t3)
        mul(t3, kf, t3)
        add(vy, t3, vy)
        mul(acc, dt1, t1)
        add(vx, t1, vx)
        maximum(vx, zeros, out=kvx)             # kinematic model's vx
        mul(t2, kf, t2)
        sub(vx, t2, vx)
        # Coriolis: rotate the body-frame velocity by -r dt (exact, norm-preserving).
        mul(r, dt1, th)
        cos(th, c1)
        sin(th, s1)
        mul(vxy, c1, p2)
        mul(vyx, s1, q2)
        add(p20, q20, vx)
        sub(p21, q21, vy)
        maximum(vx, zeros, out=vx)
        # Low-speed blend with the kinematic bicycle (weight lam of the dynamic model).
        mul(kvx, lam_a, lam)
        add(lam, lam_b, lam)
        _clip(lam, zeros, ones, lam)
        mul(lam, mtwo, t0)
        add(t0, three, t0)
        mul(t0, lam, t0)
        mul(t0, lam, lam)                       # smoothstep
        sub(ones, lam, oml)
        div(sd, cd, t0)                         # tan(delta)
        mul(kvx, t0, kr)
        mul(kr, inv_l, kr)
        mul(kr, lr, kvy)
        mul(vel3, lam, vel3)
        mul(k3, oml, k3)
        add(vel3, k3, vel3)
        # Pose: yaw by the new yaw rate, position by the trapezoid rule.
        mul(r, hdt1, th)
        add(yaw, th, ymid)
        add(ymid, th, yaw)
        cos(yaw, cs0)
        sin(yaw, cs1)
        mul(cs, vx, p2)                         # [c vx; s vx]
        mul(cs_rev, vy, q2)                     # [s vy; c vy]
        sub(p20, q20, w10)
        add(p21, q21, w11)
        add(vw, w1, s2)
        mul(s2, hdt2, s2)
        add(xy, s2, xy)
        # Body-frame acceleration: velocity change rotated by -(mid-step yaw).
        sub(w1, vw, s2)
        cos(ymid, cm0)
        sin(ymid, cm1)
        mul(s2, cm, p2)                         # [c dvx; s dvy]
        mul(s2_rev, cm, q2)                     # [c dvy; s dvx]
        add(p20, p21, ax_b)
        sub(q20, q21, ay_b)
        mul(acc_b, idt2, acc_b)
        copyto(vw, w1)
        # Wrap yaw to [-pi, pi).
        add(yaw, pi1, yaw)
        remainder(yaw, twopi1, yaw)
        sub(yaw, pi1, yaw)

    return run
