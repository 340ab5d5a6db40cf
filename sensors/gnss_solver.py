"""Single-epoch GNSS position fix: Gauss-Newton least squares and dilution of precision.

The unknowns are the receiver's ECEF position [m] and its clock bias expressed in metres
(c * dt). Pseudoranges are modelled as ``|sat - rx| + clock``; the errors the sensor adds
(noise, biases, NLOS delays) are what the least-squares fit spreads into the solution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymap3d

MIN_SATELLITES = 4
"""Unknowns of a fix: x, y, z and the clock bias."""


class NoFixError(RuntimeError):
    """Raised when the pseudoranges do not determine a position."""


@dataclass(frozen=True)
class LeastSquaresFix:
    """Result of ``solve_position``.

    Attributes:
        position_ecef_m: (3,) receiver position [m].
        clock_bias_m: receiver clock bias times the speed of light [m].
        residuals_m: (n,) post-fit pseudorange residuals [m].
        iterations: Gauss-Newton iterations used.
    """

    position_ecef_m: np.ndarray
    clock_bias_m: float
    residuals_m: np.ndarray
    iterations: int


@dataclass(frozen=True)
class Dop:
    """Dilution of precision in the local ENU frame (dimensionless)."""

    hdop: float
    vdop: float
    pdop: float
    gdop: float

    @classmethod
    def nan(cls) -> Dop:
        return cls(np.nan, np.nan, np.nan, np.nan)


def _geometry(sat_ecef: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranges (n,) and unit line-of-sight vectors receiver->satellite (n, 3)."""
    diff = sat_ecef - x
    rng = np.linalg.norm(diff, axis=1)
    return rng, diff / rng[:, None]


def solve_position(sat_ecef: np.ndarray, pseudorange_m: np.ndarray,
                   initial_ecef_m: np.ndarray, initial_clock_m: float = 0.0,
                   max_iterations: int = 12, tolerance_m: float = 1e-5) -> LeastSquaresFix:
    """Iterative least squares (Gauss-Newton) for position and clock bias.

    Args:
        sat_ecef: (n, 3) satellite positions [m], n >= 4.
        pseudorange_m: (n,) measured pseudoranges [m].
        initial_ecef_m: (3,) linearisation point to start from [m]; anywhere within a few
            hundred km of the truth converges in a handful of iterations.
        initial_clock_m: starting clock bias [m].
        max_iterations: give up after this many updates.
        tolerance_m: stop when the update's norm falls below this [m].

    Raises:
        NoFixError: fewer than 4 satellites, singular geometry, or no convergence.
    """
    n = len(pseudorange_m)
    if n < MIN_SATELLITES:
        raise NoFixError(f"{n} satellites; a fix needs {MIN_SATELLITES}")
    x = np.asarray(initial_ecef_m, np.float64).copy()
    clock = float(initial_clock_m)
    h = np.ones((n, 4))
    for it in range(1, max_iterations + 1):
        rng, unit = _geometry(sat_ecef, x)
        residual = pseudorange_m - (rng + clock)
        h[:, :3] = -unit
        step, _, rank, _ = np.linalg.lstsq(h, residual, rcond=None)
        if rank < 4:
            raise NoFixError("degenerate satellite geometry")
        x += step[:3]
        clock += step[3]
        if np.linalg.norm(step) < tolerance_m:
            rng, _ = _geometry(sat_ecef, x)
            return LeastSquaresFix(x, clock, pseudorange_m - (rng + clock), it)
    raise NoFixError(f"least squares did not converge in {max_iterations} iterations")


def dilution_of_precision(sat_ecef: np.ndarray, receiver_ecef_m: np.ndarray,
                          lat_deg: float, lon_deg: float) -> Dop:
    """HDOP, VDOP, PDOP, GDOP of the satellites seen from a receiver.

    The geometry matrix rows are ``[-e, -n, -u, 1]``, the unit line of sight expressed in
    the receiver's local ENU frame (at ``lat_deg``, ``lon_deg``), so that the cofactor
    matrix ``(G^T G)^-1`` separates horizontal and vertical precision.
    """
    if len(sat_ecef) < MIN_SATELLITES:
        return Dop.nan()
    _, unit = _geometry(sat_ecef, np.asarray(receiver_ecef_m, np.float64))
    e, n, u = pymap3d.ecef2enuv(unit[:, 0], unit[:, 1], unit[:, 2], lat_deg, lon_deg)
    g = np.column_stack([-np.asarray(e), -np.asarray(n), -np.asarray(u),
                         np.ones(len(unit))])
    try:
        q = np.linalg.inv(g.T @ g)
    except np.linalg.LinAlgError:
        return Dop(np.inf, np.inf, np.inf, np.inf)
    d = np.diag(q)
    return Dop(hdop=float(np.sqrt(d[0] + d[1])), vdop=float(np.sqrt(d[2])),
               pdop=float(np.sqrt(d[:3].sum())), gdop=float(np.sqrt(d.sum())))
