"""Gymnasium and PettingZoo environments on the DriveSim world.

``import simulator`` registers the ``drivesim/*`` ids (string entry points into this
package, so the layers stay one way); ``DriveEnv`` is the single-agent env.
"""

from envs.drive_env import DriveEnv

__all__ = ["DriveEnv"]
