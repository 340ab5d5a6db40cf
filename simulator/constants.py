"""Physical constants shared by the world and the sensors (SI units)."""

GRAVITY_MPS2 = 9.80665
"""Standard gravity g_n [m/s^2] (CGPM 1901): vehicle friction limits and the IMU use it."""
