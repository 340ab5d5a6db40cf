"""Observation types of the environments (``env.observation.type``), by module."""

# Importing each module registers its type.
from envs.observations import (  # noqa: F401
    camera,
    dict_obs,
    kinematics,
    lidar2d,
    occupancy,
)
from envs.observations.base import OBSERVATION_TYPES, ObservationType, build_observation

__all__ = ["OBSERVATION_TYPES", "ObservationType", "build_observation"]
