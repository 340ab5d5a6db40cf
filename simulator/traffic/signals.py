"""Traffic lights: a two-phase fixed-time cycle per signalised intersection.

Phase order: group 0 (east/west arms) green, yellow, all red; then group 1 (north/south
arms) green, yellow, all red. Light states are plain integers so they live in arrays.
"""

from __future__ import annotations

import numpy as np

from scenarios.schema import Signal

RED, YELLOW, GREEN = 0, 1, 2
STATE_NAMES = {RED: "red", YELLOW: "yellow", GREEN: "green"}


def light_state(signal: Signal, group: int, time_s: float) -> int:
    """State of a signal group (0 = east/west, 1 = north/south) at ``time_s``."""
    half = signal.green_s + signal.yellow_s + signal.all_red_s
    t = (time_s + signal.offset_s) % (2 * half)
    t -= group * half
    if t < 0:
        t += 2 * half
    if t < signal.green_s:
        return GREEN
    if t < signal.green_s + signal.yellow_s:
        return YELLOW
    return RED


class SignalTable:
    """Maps each lane to the light at its end (or none), for array lookups.

    Args:
        lanes: the HD map's lanes (``junction`` and ``signal_group`` are read).
        signals: intersection id -> its ``Signal`` (or None when unsignalised).
    """

    def __init__(self, lanes, signals: dict[str, Signal | None]):
        self._signals = [(jid, sig) for jid, sig in signals.items() if sig is not None]
        index = {jid: k for k, (jid, _) in enumerate(self._signals)}
        n = len(lanes)
        self.lane_light = np.full(n, -1, np.int64)   # row into states(), -1: no light
        for lane in lanes:
            if lane.signal_group is not None and lane.junction in index:
                self.lane_light[lane.index] = 2 * index[lane.junction] + lane.signal_group
        self._states = np.full(2 * max(len(self._signals), 1), GREEN, np.int64)
        self._lit = np.flatnonzero(self.lane_light >= 0)
        self._lane_states: np.ndarray | None = None

    def update(self, time_s: float) -> np.ndarray:
        """Recompute all light states; returns the (2 * n_signals,) state array."""
        states = self._states
        for k, (_, sig) in enumerate(self._signals):
            for row, state in ((2 * k, light_state(sig, 0, time_s)),
                               (2 * k + 1, light_state(sig, 1, time_s))):
                if states[row] != state:
                    states[row] = state
                    self._lane_states = None
        return states

    def lane_states(self) -> np.ndarray:
        """Per lane: the state of the light at its end, GREEN where there is none.

        The same array is returned until a light changes (then a new one): read it, do not
        write into it."""
        if self._lane_states is None:
            out = np.full(len(self.lane_light), GREEN, np.int64)
            out[self._lit] = self._states[self.lane_light[self._lit]]
            self._lane_states = out
        return self._lane_states

    def snapshot(self) -> dict[str, dict[str, str]]:
        """Light states by intersection and arm group, for GT and summaries."""
        return {jid: {"east_west": STATE_NAMES[int(self._states[2 * k])],
                      "north_south": STATE_NAMES[int(self._states[2 * k + 1])]}
                for k, (jid, _) in enumerate(self._signals)}
