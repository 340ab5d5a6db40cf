"""MOBIL lane-change decision (Kesting, Treiber & Helbing 2007), vectorised.

Inputs are accelerations [m/s^2] the caller computed with the car-following model (IDM) for
each vehicle ``i`` and candidate side, arrays of shape ``(n, 2)``: column ``LEFT`` (0) is a
change to the left neighbour lane, column ``RIGHT`` (1) to the right one. Per-driver
parameters are scalars or shape ``(n,)``.

- ``a_c``: self, now.            ``a_c_new``: self in the target lane (behind its new leader).
- ``a_n``: new follower (target lane, behind the gap), now; ``a_n_new``: with self ahead.
- ``a_o``: old follower (own lane, behind self), now;       ``a_o_new``: after self leaves.

Where a follower does not exist pass 0 for both of its values; where the target lane does
not exist pass ``available=False`` (any finite values).

Incentive (symmetric MOBIL plus a keep-right bias)::

    incentive = (a_c_new - a_c) + p [(a_n_new - a_n) + (a_o_new - a_o)] +/- bias

with ``+bias`` for a change to the right and ``-bias`` to the left. A change is made where
``incentive > a_th`` and it is safe, ``a_n_new >= -b_safe``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

LEFT = 0
"""Column of the left candidate lane."""
RIGHT = 1
"""Column of the right candidate lane."""
NO_CHANGE = -1
"""``choose_side`` result for "stay in lane"."""

_SIDE_SIGN = np.array([-1.0, 1.0])


class MobilResult(NamedTuple):
    """MOBIL outcome per vehicle and side, each of shape ``(n, 2)``.

    Attributes:
        incentive: net advantage incl. politeness and keep-right bias [m/s^2].
        is_safe: the new follower would brake no harder than ``b_safe``.
        change: the change is wanted (``incentive > a_th``), safe and the lane exists.
    """

    incentive: np.ndarray
    is_safe: np.ndarray
    change: np.ndarray


def _per_driver(x: npt.ArrayLike) -> np.ndarray:
    """Give a per-driver scalar or ``(n,)`` array a trailing side axis to meet ``(n, 2)``."""
    x = np.asarray(x, dtype=np.float64)
    return x[..., None] if x.ndim else x


def mobil_decision(a_c: npt.ArrayLike, a_c_new: npt.ArrayLike, a_n: npt.ArrayLike,
                   a_n_new: npt.ArrayLike, a_o: npt.ArrayLike, a_o_new: npt.ArrayLike,
                   politeness: npt.ArrayLike, threshold: npt.ArrayLike, b_safe: npt.ArrayLike,
                   keep_right_bias: npt.ArrayLike = 0.0,
                   available: npt.ArrayLike | None = None) -> MobilResult:
    """Decide lane changes for every vehicle and side.

    Args:
        a_c: own acceleration now [m/s^2], shape ``(n, 2)`` or ``(n, 1)``.
        a_c_new: own acceleration in the target lane [m/s^2], ``(n, 2)``.
        a_n: new follower's acceleration now [m/s^2], ``(n, 2)``.
        a_n_new: new follower's acceleration after the change [m/s^2], ``(n, 2)``.
        a_o: old follower's acceleration now [m/s^2], ``(n, 2)`` or ``(n, 1)``.
        a_o_new: old follower's acceleration after the change [m/s^2], ``(n, 2)`` or
            ``(n, 1)``.
        politeness: p, weight of the others' advantage [-], scalar or ``(n,)``.
        threshold: a_th, minimum net advantage for a change [m/s^2], scalar or ``(n,)``.
        b_safe: largest braking imposed on the new follower [m/s^2], positive, scalar or
            ``(n,)``.
        keep_right_bias: a_bias, added for right and subtracted for left changes [m/s^2],
            scalar or ``(n,)``; 0 gives symmetric MOBIL.
        available: bool ``(n, 2)``, whether the target lane exists and may be entered; None:
            all exist.

    Returns:
        ``MobilResult(incentive, is_safe, change)``, each ``(n, 2)``.
    """
    a_n_new = np.asarray(a_n_new, dtype=np.float64)
    others = (a_n_new - a_n) + np.subtract(a_o_new, a_o)
    incentive = np.subtract(a_c_new, a_c) + _per_driver(politeness) * others
    incentive = incentive + _per_driver(keep_right_bias) * _SIDE_SIGN
    is_safe = np.broadcast_to(a_n_new >= -_per_driver(b_safe), incentive.shape)
    change = (incentive > _per_driver(threshold)) & is_safe
    if available is not None:
        change &= np.asarray(available, dtype=bool)
    return MobilResult(incentive, is_safe, change)


def choose_side(result: MobilResult) -> np.ndarray:
    """Pick one side per vehicle: the changing side with the larger incentive.

    Args:
        result: the ``mobil_decision`` outcome.

    Returns:
        int8 array ``(n,)``: ``LEFT``, ``RIGHT`` or ``NO_CHANGE``.
    """
    score = np.where(result.change, result.incentive, -np.inf)
    side = np.argmax(score, axis=-1).astype(np.int8)
    side[~result.change.any(axis=-1)] = NO_CHANGE
    return side
