"""Driver models: pure, vectorised functions and small stateful helpers over vehicle arrays.

- ``idm``: Intelligent Driver Model car following, stop lines, equilibrium gap.
- ``mobil``: MOBIL lane-change decision with politeness, safety and keep-right bias.
- ``profiles``: per-driver parameters drawn from the scenario's driver profiles.
- ``human``: reaction delay and desired-speed wander.
- ``controllers``: pure pursuit steering and a speed PID (ego autopilot).
"""

from agents.controllers import SpeedPID, pure_pursuit_steer
from agents.human import ReactionDelay, SpeedWander
from agents.idm import idm_acceleration, idm_desired_gap, idm_equilibrium_gap
from agents.mobil import LEFT, NO_CHANGE, RIGHT, MobilResult, choose_side, mobil_decision
from agents.profiles import PARAM_NAMES, DriverParams, sample_drivers, truncnorm_from_uniform

__all__ = [
    "LEFT", "NO_CHANGE", "PARAM_NAMES", "RIGHT", "DriverParams", "MobilResult",
    "ReactionDelay", "SpeedPID", "SpeedWander", "choose_side", "idm_acceleration",
    "idm_desired_gap", "idm_equilibrium_gap", "mobil_decision", "pure_pursuit_steer",
    "sample_drivers", "truncnorm_from_uniform",
]
