"""Gymnasium and PettingZoo environments on the DriveSim world.

``import simulator`` registers the ``drivesim/*`` ids (string entry points into this
package, so the layers stay one way); ``DriveEnv`` is the single-agent env,
``DriveParallelEnv`` (``parallel_env``) the PettingZoo multi-agent one.
"""

from envs.drive_env import DriveEnv
from envs.multi_agent import DriveParallelEnv, parallel_env

__all__ = ["DriveEnv", "DriveParallelEnv", "parallel_env"]
