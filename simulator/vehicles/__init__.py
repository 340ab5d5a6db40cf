"""Vehicles: the dynamic bicycle model (numpy reference + numba kernel), meshes, pose history."""
