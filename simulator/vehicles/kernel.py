"""The dynamic bicycle step compiled with numba: the same model and operation order as the
numpy reference in ``simulator.vehicles.dynamics`` (one loop over cars instead of ~60 ufunc
calls, ~10x faster for 51 cars); and the odometer (``ODOMETER``). Both are None when numba
is not installed; ``dynamics.step`` and ``dynamics.odometer`` then use numpy.
``tests/simulator/test_dynamics_kernel.py`` checks that both agree to rounding.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.constants import GRAVITY_MPS2
from simulator.vehicles.params import VehicleParams

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a declared dependency
    njit = None

# Rows of the per-vehicle constants array handed to the kernel.
CONST_ROWS = ("smax", "rdt", "a_lo", "a_hi", "mug2", "load_f", "load_r", "lf", "lr",
              "cf", "cr", "gy_f", "gy_r", "kf", "inv_l", "lam_a", "lam_b")


def constants(params: VehicleParams, dt: float, v_hi: np.ndarray, v_lo: np.ndarray
              ) -> np.ndarray:
    """The (len(CONST_ROWS), n) float64 constants of a ``VehicleParams`` for ``dt`` [s]."""
    p = params
    mug = p.mu * GRAVITY_MPS2
    wheelbase = p.lf_m + p.lr_m
    lam_a = 1.0 / (v_hi - v_lo)
    rows = {
        "smax": p.max_steer_rad, "rdt": p.max_steer_rate_rad_s * dt,
        "a_lo": -np.minimum(p.max_decel_mps2, mug), "a_hi": np.minimum(p.max_accel_mps2, mug),
        "mug2": mug * mug,
        "load_f": p.mass_kg * p.lr_m / wheelbase, "load_r": p.mass_kg * p.lf_m / wheelbase,
        "lf": p.lf_m, "lr": p.lr_m, "cf": p.cf_n_per_rad, "cr": p.cr_n_per_rad,
        "gy_f": dt * p.lf_m / p.yaw_inertia_kgm2, "gy_r": -dt * p.lr_m / p.yaw_inertia_kgm2,
        "kf": dt / p.mass_kg, "inv_l": 1.0 / wheelbase, "lam_a": lam_a, "lam_b": -v_lo * lam_a,
    }
    return np.ascontiguousarray(np.stack([np.asarray(rows[k], np.float64)
                                          for k in CONST_ROWS]))


def _step(d, accel_cmd, steer_cmd, c, dt, trig):  # pragma: no cover - compiled
    n = d.shape[1]
    half_dt = 0.5 * dt
    inv_dt = 1.0 / dt
    two_pi = 2.0 * math.pi
    for i in range(n):
        x, y, yaw, vx, vy, r, steer = d[0, i], d[1, i], d[2, i], d[3, i], d[4, i], d[5, i], \
            d[6, i]
        vxw, vyw = d[9, i], d[10, i]
        smax, rdt = c[0, i], c[1, i]
        # Steering: clip to the mechanical limit, rate-limit the move towards it.
        sc = min(max(steer_cmd[i], -smax), smax)
        steer += min(max(sc - steer, -rdt), rdt)
        # Longitudinal command and the lateral friction budget it leaves.
        a = min(max(accel_cmd[i], c[2, i]), c[3, i])
        budget = math.sqrt(c[4, i] - a * a)
        fm_f, fm_r = c[5, i] * budget, c[6, i] * budget
        # Slip angles and saturated linear tyres.
        alpha_f = math.atan2(-c[7, i] * r - vy, vx) + steer
        alpha_r = math.atan2(c[8, i] * r - vy, vx)
        f_f = min(max(c[9, i] * alpha_f, -fm_f), fm_f)
        f_r = min(max(c[10, i] * alpha_r, -fm_r), fm_r)
        # The wheels mostly hold their angle between decisions: reuse its cos and sin.
        if steer == trig[0, i] and steer != 0.0:    # +-0 share a key but not a sine
            cd, sd = trig[1, i], trig[2, i]
        else:
            cd, sd = math.cos(steer), math.sin(steer)
            trig[0, i], trig[1, i], trig[2, i] = steer, cd, sd
        back = f_f * sd
        f_f = f_f * cd
        r = r + f_f * c[11, i]
        r = r + f_r * c[12, i]
        vy = vy + (f_f + f_r) * c[13, i]
        vx = vx + a * dt
        kvx = max(vx, 0.0)
        vx = vx - back * c[13, i]
        # Coriolis: rotate the body velocity by -r dt.
        th = r * dt
        c1, s1 = math.cos(th), math.sin(th)
        vx, vy = vx * c1 + vy * s1, vy * c1 - vx * s1
        vx = max(vx, 0.0)
        # Low-speed blend with the kinematic bicycle (smoothstep weight of the dynamics).
        lam = min(max(kvx * c[15, i] + c[16, i], 0.0), 1.0)
        lam = (lam * -2.0 + 3.0) * lam * lam
        oml = 1.0 - lam
        kr = kvx * (sd / cd) * c[14, i]
        kvy = kr * c[8, i]
        vx = vx * lam + kvx * oml
        vy = vy * lam + kvy * oml
        r = r * lam + kr * oml
        # Pose: yaw by the new yaw rate, position by the trapezoid rule.
        th = r * half_dt
        ymid = yaw + th
        yaw = ymid + th
        cs, sn = math.cos(yaw), math.sin(yaw)
        w0 = cs * vx - sn * vy
        w1 = sn * vx + cs * vy
        x = x + (vxw + w0) * half_dt
        y = y + (vyw + w1) * half_dt
        # Body-frame acceleration: the velocity change rotated by -(mid-step yaw).
        dvx, dvy = w0 - vxw, w1 - vyw
        cm, sm = math.cos(ymid), math.sin(ymid)
        d[7, i] = (dvx * cm + dvy * sm) * inv_dt
        d[8, i] = (dvy * cm - dvx * sm) * inv_dt
        yaw = yaw + math.pi
        yaw = yaw - two_pi * math.floor(yaw / two_pi) - math.pi
        d[0, i], d[1, i], d[2, i], d[3, i], d[4, i], d[5, i], d[6, i] = \
            x, y, yaw, vx, vy, r, steer
        d[9, i], d[10, i] = w0, w1


def _odometer(distance, vx, dt):  # pragma: no cover - compiled
    top = -math.inf
    for i in range(len(vx)):
        v = vx[i]
        distance[i] += v * dt
        if v > top or v != v:           # NaN wins, as in numpy's max
            top = v
    return top


KERNEL = njit(cache=True, fastmath=False, nogil=True)(_step) if njit is not None else None
ODOMETER = njit(cache=True, fastmath=False, nogil=True)(_odometer) if njit is not None else None
