"""Rigid poses: world-from-body rotation + translation, and the sensor mount composition.

Frames: world is ENU (x east, y north, z up). A vehicle's body frame is x forward, y left,
z up with its origin on the ground below the vehicle centre. Angles in radians.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def rot_z(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rpy_to_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Rotation R = Rz(yaw) Ry(pitch) Rx(roll) (extrinsic x, then y, then z)."""
    cr, sr = np.cos(roll), np.sin(roll)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cy, sy = np.cos(yaw), np.sin(yaw)
    return np.array([
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ])


@dataclass(frozen=True)
class Pose:
    """A body's pose and motion at one instant, all in the world frame.

    Attributes:
        position: origin of the body frame [m], shape (3,).
        rotation: world-from-body rotation matrix, shape (3, 3).
        velocity: velocity of the origin [m/s], shape (3,).
        angular_velocity: [rad/s], shape (3,).
        acceleration: acceleration of the origin, gravity not included [m/s^2], shape (3,).
        time_s: simulation time of this pose [s].
    """

    position: np.ndarray
    rotation: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))
    angular_velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))
    acceleration: np.ndarray = field(default_factory=lambda: np.zeros(3))
    time_s: float = 0.0

    @property
    def matrix(self) -> np.ndarray:
        """4x4 homogeneous world-from-body transform."""
        m = np.eye(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = self.position
        return m

    def compose(self, offset: np.ndarray, rotation: np.ndarray) -> Pose:
        """Pose of a frame mounted at ``offset`` with ``rotation`` in this body's frame.

        The mounted frame's velocity and acceleration follow from rigid-body kinematics
        (v + w x r, a + w' x r + w x (w x r); w' is neglected, it is not tracked).
        """
        r_world = self.rotation @ offset
        w = self.angular_velocity
        return Pose(
            position=self.position + r_world,
            rotation=self.rotation @ rotation,
            velocity=self.velocity + np.cross(w, r_world),
            angular_velocity=w,
            acceleration=self.acceleration + np.cross(w, np.cross(w, r_world)),
            time_s=self.time_s,
        )

    def transform_points(self, points_body: np.ndarray) -> np.ndarray:
        """Body-frame points (N, 3) -> world frame."""
        return points_body @ self.rotation.T + self.position

    def inverse_transform_points(self, points_world: np.ndarray) -> np.ndarray:
        """World-frame points (N, 3) -> body frame."""
        return (points_world - self.position) @ self.rotation
