"""Observation types of the environments (``env.observation.type``), by module."""

from envs.observations import kinematics  # noqa: F401  (registers its type)
from envs.observations.base import OBSERVATION_TYPES, ObservationType, build_observation

__all__ = ["OBSERVATION_TYPES", "ObservationType", "build_observation"]
