"""Exceptions of the simulator package."""


class WorldError(ValueError):
    """The scenario cannot be built into a world (e.g. an unknown lane id)."""
