"""Exceptions of the simulator package."""


class WorldError(ValueError):
    """The scenario cannot be built into a world (e.g. an unknown lane id)."""


class MapFileError(WorldError):
    """A map file that cannot be read (the message names the file, the road and the
    element, or the line of malformed XML)."""
