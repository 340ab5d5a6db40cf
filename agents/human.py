"""Human imperfections, vectorised over drivers: reaction delay and desired-speed wander.

Both are stepped once per driver decision (period ``dt_s``) and return a read-only array that
is reused between calls (no per-step allocation): copy it if you keep it across steps.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


class ReactionDelay:
    """Delays each driver's command by its own reaction time, quantised to the period.

    Driver ``i``'s delay is ``k_i = round(reaction_time_s[i] / dt_s)`` decision periods: the
    command pushed at call ``t`` is returned by call ``t + k_i`` (``k_i = 0``: at once). Before
    a driver has history the output is its ``initial`` value.
    """

    def __init__(self, reaction_time_s: npt.ArrayLike, dt_s: float,
                 initial: npt.ArrayLike = 0.0) -> None:
        """Set up the ring buffer.

        Args:
            reaction_time_s: per-driver reaction time [s], shape ``(n,)``, >= 0.
            dt_s: decision period [s], > 0.
            initial: command assumed in the past [same unit as the commands], scalar or
                ``(n,)``.

        Raises:
            ValueError: negative reaction time or non-positive period.
        """
        rt = np.asarray(reaction_time_s, dtype=np.float64).reshape(-1)
        if dt_s <= 0.0:
            raise ValueError("dt_s must be > 0")
        if np.any(rt < 0.0):
            raise ValueError("reaction times must be >= 0")
        self.n = rt.size
        self.dt_s = float(dt_s)
        self.delay_steps = np.rint(rt / dt_s).astype(np.int64)
        self._len = int(self.delay_steps.max(initial=0)) + 1
        self._buf = np.empty((self._len, self.n))
        self._buf[:] = initial
        self._flat = self._buf.reshape(-1)
        self._head = 0
        # Flat index of driver i's output is (head - k_i) * n + i, modulo the buffer size.
        self._offset = np.arange(self.n) - self.delay_steps * self.n
        self._idx = np.empty(self.n, dtype=np.int64)
        self._out = np.empty(self.n)
        self._out_ro = _read_only(self._out)

    @property
    def delay_s(self) -> np.ndarray:
        """Effective (quantised) delay per driver [s]."""
        return self.delay_steps * self.dt_s

    def step(self, command: npt.ArrayLike) -> np.ndarray:
        """Push this decision's commands and return the delayed ones.

        Args:
            command: per-driver command now, shape ``(n,)`` (e.g. acceleration [m/s^2]).

        Returns:
            Per-driver command issued ``delay_steps`` calls ago, shape ``(n,)``, read-only and
            reused by the next call.
        """
        self._buf[self._head] = command
        np.add(self._offset, self._head * self.n, out=self._idx)
        np.mod(self._idx, self._flat.size, out=self._idx)
        np.take(self._flat, self._idx, out=self._out)
        self._head = (self._head + 1) % self._len
        return self._out_ro

    def reset(self, index: npt.ArrayLike, value: npt.ArrayLike = 0.0) -> None:
        """Forget the history of drivers ``index`` (e.g. a respawned vehicle).

        Args:
            index: driver indices or bool mask.
            value: command assumed in their past, scalar or matching ``index``.
        """
        self._buf[:, index] = value


class SpeedWander:
    """Ornstein-Uhlenbeck wander of each driver's desired-speed multiplier around 1.

    ``x_{k+1} = phi x_k + sigma_i sqrt(1 - phi^2) eps``, ``phi = exp(-dt / tau)``: the exact
    discretisation, so ``x`` has std ``sigma_i`` at any step size; it starts from that
    stationary law. The multiplier ``1 + x`` is floored at ``min_multiplier``. Driver ``i``'s
    normals come only from ``rngs[i]``, drawn ``block`` at a time so a step is an array
    index, not a Generator call per driver.
    """

    def __init__(self, speed_imperfection: npt.ArrayLike, rngs: list[np.random.Generator],
                 dt_s: float, time_constant_s: float = 10.0, block: int = 256,
                 min_multiplier: float = 0.1) -> None:
        """Set up the processes and draw each driver's starting value.

        Args:
            speed_imperfection: per-driver stationary std of the multiplier [-], ``(n,)``.
            rngs: one Generator per driver (``len(rngs) == n``).
            dt_s: decision period [s], > 0.
            time_constant_s: correlation time tau [s], > 0.
            block: normals drawn per driver per refill.
            min_multiplier: lower bound of the returned multiplier [-].

        Raises:
            ValueError: mismatched sizes or non-positive times.
        """
        sigma = np.asarray(speed_imperfection, dtype=np.float64).reshape(-1)
        if len(rngs) != sigma.size:
            raise ValueError(f"need one Generator per driver: {len(rngs)} != {sigma.size}")
        if dt_s <= 0.0 or time_constant_s <= 0.0 or block < 1:
            raise ValueError("dt_s, time_constant_s and block must be > 0")
        self.n = sigma.size
        self.sigma = sigma
        self.min_multiplier = float(min_multiplier)
        self._rngs = list(rngs)
        self.phi = math.exp(-dt_s / time_constant_s)
        self._scale = sigma * math.sqrt(1.0 - self.phi * self.phi)
        self._eps = np.empty((self.n, block))  # row i is driver i's block (contiguous fill)
        self._k = block
        self._x = np.zeros(self.n)
        self._tmp = np.empty(self.n)
        self._mult = np.ones(self.n)
        self._mult_ro = _read_only(self._mult)
        self._x[:] = sigma * self._next_normals()
        self._update_multiplier()

    def _next_normals(self) -> np.ndarray:
        if self._k == self._eps.shape[1]:
            for i, rng in enumerate(self._rngs):  # every `block` steps only
                rng.standard_normal(out=self._eps[i])
            self._k = 0
        col = self._eps[:, self._k]
        self._k += 1
        return col

    def _update_multiplier(self) -> None:
        np.add(self._x, 1.0, out=self._mult)
        np.maximum(self._mult, self.min_multiplier, out=self._mult)

    @property
    def multiplier(self) -> np.ndarray:
        """Current desired-speed multiplier per driver [-], read-only."""
        return self._mult_ro

    def step(self) -> np.ndarray:
        """Advance one decision period.

        Returns:
            Desired-speed multiplier per driver [-], ``(n,)``, read-only and reused.
        """
        np.multiply(self._scale, self._next_normals(), out=self._tmp)
        self._x *= self.phi
        self._x += self._tmp
        self._update_multiplier()
        return self._mult_ro
