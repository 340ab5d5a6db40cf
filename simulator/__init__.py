"""The world: HD map, vehicles, traffic, scene (ray casting, collisions) and the World.

Importing this package registers the Gymnasium ids ``drivesim/Highway-v0``,
``drivesim/Urban-v0``, ``drivesim/LaneKeep-v0`` and ``drivesim/Merge-v0``. Their entry
points are strings into ``envs`` (which sits above this package), so nothing here imports
it; ``gymnasium.make("simulator:drivesim/Highway-v0")`` imports this package first.
"""

ENV_IDS = {
    "drivesim/Highway-v0": "highway",
    "drivesim/Urban-v0": "urban",
    "drivesim/LaneKeep-v0": "lanekeep",
    "drivesim/Merge-v0": "merge",
}


def _register_envs() -> None:
    try:
        import gymnasium
    except ImportError:  # pragma: no cover - gymnasium is a core dependency
        return
    for env_id, scenario in ENV_IDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point="envs.drive_env:DriveEnv",
                               kwargs={"scenario": scenario})


_register_envs()
