"""The HD map: lanes, geometry, routes, markings; map sources (``procedural/``) build it."""
