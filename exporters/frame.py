"""The ``Frame`` record every exporter writes (captured by ``exporters.capture``).

A frame is one time step at which the *key* sensors (cameras and lidars) fire together;
its rate is the slowest key sensor's. Everything captured since the previous frame goes
with it: the key sensors' measurements at the frame time in ``measurements``, and every
measurement of every sensor (GNSS and IMU samples between frames, key-sensor captures of a
faster key sensor) in time order in ``samples``.

Frames: the ego body frame is x forward, y left, z up with its origin on the ground under
the car's centre (``World.ego_pose``); sensor frames are x forward, y left, z up too; a
camera's optical frame is x right, y down, z forward (``ego_from_optical``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sensors.base import Measurement
from sensors.camera_model import R_SENSOR_FROM_OPTICAL
from sensors.rig import Rig
from simulator.pose import Pose
from simulator.scene.semantics import CLASS_NAMES, SEMANTIC_CLASSES

KEY_SENSOR_TYPES = ("camera", "lidar")
TRUCK_MIN_LENGTH_M = 6.0  # a vehicle at least this long is a truck in the exported labels
# Prop types (``scenario.props[].type``) with a category of their own; other props take
# their semantic class name (a ``box`` is ``static_object``).
PROP_CATEGORIES: dict[str, str] = {"cone": "traffic_cone", "barrier": "barrier",
                                   "parked_car": "parked_car"}


@dataclass(frozen=True)
class SensorCalib:
    """Where a sensor sits on the ego and, for cameras, its intrinsics.

    Attributes:
        name / sensor_type: from the scenario (``front_camera``, ``camera``).
        rate_hz: firing rate [Hz].
        ego_from_sensor: (4, 4) transform of the sensor frame (x fwd, y left, z up).
        ego_from_optical: (4, 4) of the camera optical frame (cameras only, else None).
        intrinsics: K (3, 3), cameras only; distortion: (5,) k1 k2 p1 p2 k3.
        width / height: image size [px], cameras only.
        config: the sensor's validated scenario config (pydantic model).
    """

    name: str
    sensor_type: str
    rate_hz: float
    ego_from_sensor: np.ndarray
    ego_from_optical: np.ndarray | None = None
    intrinsics: np.ndarray | None = None
    distortion: np.ndarray | None = None
    width: int | None = None
    height: int | None = None
    config: Any = None


@dataclass(frozen=True)
class ObjectState:
    """One object's exact state at the frame time, world frame.

    Attributes:
        instance_id / name: the world's ids (the same ids as in camera masks and lidar
            ``instance_id``); semantic: class id (``simulator.scene.semantics``).
        category: ``car``, ``van``, ``truck``, ``bus``, ``cyclist``, ``motorcyclist``,
            ``pedestrian``, ``debris``, ``parked_car``, ``traffic_cone``, ``barrier``,
            ``static_object``, ``wall``, ... (``category_of``).
        center: box centre [m] (3,); size_lwh: length, width, height [m]; yaw: [rad].
        velocity: [m/s] (3,) world frame; yaw_rate: [rad/s].
        is_ego: the ego's own box (exporters leave it out of labels).
    """

    instance_id: int
    name: str
    semantic: int
    category: str
    center: np.ndarray
    size_lwh: np.ndarray
    yaw: float
    velocity: np.ndarray
    yaw_rate: float = 0.0
    is_ego: bool = False

    def corners(self) -> np.ndarray:
        """(8, 3) world corners, bottom face first, counter-clockwise (ObjectBox order)."""
        from simulator.scene.objects import ObjectBox

        return ObjectBox(self.instance_id, self.semantic, self.name, self.center,
                         self.size_lwh, self.yaw).corners()


@dataclass
class Frame:
    """All measurements of one frame with their GT, the ego pose and the object states.

    Attributes:
        episode: episode index in the job; seed: the episode's scenario seed.
        index: frame index within the episode (0, 1, ...); time_s: simulation time [s].
        ego_pose: the ego body's world pose (with velocity, acceleration) at ``time_s``.
        measurements: the key sensors' measurements at ``time_s`` by sensor name (and the
            latest sample of every other sensor that fired since the previous frame).
        samples: every measurement since the previous frame, per sensor, in time order.
        objects: every active vehicle (the ego flagged), group actor (pedestrians,
            debris) and prop.
        calibration: per sensor, its ``SensorCalib``.
        traffic_lights: state ("red"/"yellow"/"green") by traffic-light instance id.
    """

    episode: int
    seed: int
    index: int
    time_s: float
    ego_pose: Pose
    measurements: dict[str, Measurement]
    samples: dict[str, list[Measurement]]
    objects: list[ObjectState]
    calibration: dict[str, SensorCalib]
    traffic_lights: dict[int, str] = field(default_factory=dict)

    def of_type(self, sensor_type: str) -> dict[str, Measurement]:
        """The frame's measurements of one sensor type, by sensor name."""
        return {k: m for k, m in self.measurements.items() if m.sensor_type == sensor_type}

    def labelled_objects(self) -> list[ObjectState]:
        """Objects without the ego."""
        return [o for o in self.objects if not o.is_ego]


def _matrix(offset: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = rotation
    m[:3, 3] = offset
    return m


def calibration_of(rig: Rig) -> dict[str, SensorCalib]:
    """Each rig sensor's mount (and camera intrinsics) as a ``SensorCalib``."""
    out: dict[str, SensorCalib] = {}
    for s in rig.sensors:
        ego_from_sensor = _matrix(s.mount_offset, s.mount_rotation)
        kw: dict[str, Any] = {}
        if s.type_name == "camera":
            opt = ego_from_sensor.copy()
            opt[:3, :3] = s.mount_rotation @ R_SENSOR_FROM_OPTICAL
            kw = {"ego_from_optical": opt, "intrinsics": np.asarray(s.model.K, np.float64),
                  "distortion": np.asarray(s.model.distortion, np.float64),
                  "width": int(s.config.width), "height": int(s.config.height)}
        out[s.name] = SensorCalib(s.name, s.type_name, float(s.rate_hz), ego_from_sensor,
                                  config=s.config, **kw)
    return out


def frame_rate_hz(rig: Rig) -> float:
    """The frame rate: the slowest key sensor's (any sensor's without key sensors)."""
    rates = [s.rate_hz for s in rig.sensors if s.type_name in KEY_SENSOR_TYPES]
    if not rates:
        rates = [s.rate_hz for s in rig.sensors]
    return float(min(rates))


def category_of(semantic: int, length_m: float, kind: str | None = None) -> str:
    """The exported category of a box.

    Args:
        semantic: its semantic class id (``simulator.scene.semantics``).
        length_m: its length [m].
        kind: the vehicle kind (``simulator.vehicles.kinds``) of a vehicle's box, the prop
            type of a prop's, None for other boxes (or when the world does not say).

    Returns:
        ``PROP_CATEGORIES[kind]`` for the props listed there (``parked_car``,
        ``traffic_cone``, ``barrier``); else the semantic class name, except for the
        ``vehicle`` class (cars and vans): ``van`` for a van, ``truck`` for one at least
        ``TRUCK_MIN_LENGTH_M`` long (a car whose scenario spec is that long), else ``car``.
    """
    name = CLASS_NAMES[semantic] if semantic < len(CLASS_NAMES) else str(semantic)
    if kind in PROP_CATEGORIES:
        return PROP_CATEGORIES[kind]
    if semantic == SEMANTIC_CLASSES["vehicle"]:
        if kind == "van":
            return "van"
        return "truck" if length_m >= TRUCK_MIN_LENGTH_M else "car"
    return name


def surface_vz(vx, vy, yaw, pitch, roll) -> np.ndarray:
    """(n,) [m/s] vertical velocity of vehicles moving at (vx, vy) (world, horizontal)
    along the road plane they stand on: the plane through the body's x and y axes
    (``rpy_to_matrix(roll, pitch, yaw)``; pitch > 0 nose down, roll > 0 left side up), i.e.
    the velocity orthogonal to the body's z axis n: ``vz = -(n_x vx + n_y vy) / n_z``."""
    vx, vy, yaw, pitch, roll = (np.asarray(a, np.float64) for a in (vx, vy, yaw, pitch, roll))
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    nx = cy * sp * cr + sy * sr
    ny = sy * sp * cr - cy * sr
    nz = cp * cr
    return -(nx * vx + ny * vy) / nz


def object_states(world: Any) -> list[ObjectState]:
    """Every box of ``world.object_boxes()`` with its velocity: vehicles' (of any kind)
    from the state arrays (on a map with elevation with the vertical part that keeps them
    on the road: ``surface_vz``), group actors' (pedestrians, debris) from
    ``world.actor_velocities()``; props stand still."""
    st = world.state
    index_of = {int(iid): i for i, iid in enumerate(world.vehicle_ids)}
    kinds = world.vehicle_kinds
    prop_types = {int(p.instance_id): str(p.type) for p in world.props}
    actors = world.actor_velocities()
    ego_iid = int(world.ego_instance_id)
    elevated = bool(getattr(world, "elevated", False))
    if elevated:
        vz = surface_vz(st.vx_world, st.vy_world, st.yaw, world.vehicle_pitch_rad,
                        world.vehicle_roll_rad)
    out: list[ObjectState] = []
    for b in world.object_boxes():
        iid = int(b.instance_id)
        i = index_of.get(iid)
        vel = np.zeros(3)
        yaw_rate = 0.0
        kind = prop_types.get(iid)      # None: neither a vehicle nor a prop
        if i is not None:
            vel = np.array([float(st.vx_world[i]), float(st.vy_world[i]),
                            float(vz[i]) if elevated else 0.0])
            yaw_rate = float(st.yaw_rate[i])
            kind = str(kinds[i])
        elif iid in actors:
            v, rate = actors[iid]
            vel = np.asarray(v, np.float64).reshape(3).copy()
            yaw_rate = float(rate)
        size = np.asarray(b.size, np.float64)
        out.append(ObjectState(iid, b.name, int(b.semantic),
                               category_of(int(b.semantic), float(size[0]), kind),
                               np.asarray(b.center, np.float64), size, float(b.yaw), vel,
                               yaw_rate, iid == ego_iid))
    return out


# What each exported format calls a category; categories missing here (buildings, trees,
# poles, signs, lights) get no box labels (they stay in the native format and in the masks).
# KITTI has no bus class: a bus is Misc (KITTI's class for vehicles outside its classes,
# like trailers); a motorcyclist is Cyclist (KITTI's rider-on-a-two-wheeler box); nuScenes
# counts vans as vehicle.car (a parked car is one too, attribute vehicle.parked). nuScenes
# names are the official (lidarseg) categories.
LABEL_CLASSES: dict[str, dict[str, str]] = {
    "car": {"kitti": "Car", "nuscenes": "vehicle.car"},
    "van": {"kitti": "Van", "nuscenes": "vehicle.car"},
    "truck": {"kitti": "Truck", "nuscenes": "vehicle.truck"},
    "bus": {"kitti": "Misc", "nuscenes": "vehicle.bus.rigid"},
    "cyclist": {"kitti": "Cyclist", "nuscenes": "vehicle.bicycle"},
    "motorcyclist": {"kitti": "Cyclist", "nuscenes": "vehicle.motorcycle"},
    "pedestrian": {"kitti": "Pedestrian", "nuscenes": "human.pedestrian.adult"},
    "debris": {"kitti": "Misc", "nuscenes": "movable_object.debris"},
    "parked_car": {"kitti": "Car", "nuscenes": "vehicle.car"},
    "traffic_cone": {"kitti": "Misc", "nuscenes": "movable_object.trafficcone"},
    "barrier": {"kitti": "Misc", "nuscenes": "movable_object.barrier"},
    "static_object": {"kitti": "Misc", "nuscenes": "movable_object.pushable_pullable"},
    "wall": {"kitti": "Misc", "nuscenes": "movable_object.barrier"},
}
PARKED_CATEGORIES = ("parked_car",)  # nuScenes attribute vehicle.parked


def label_of(obj: ObjectState, fmt: str) -> str | None:
    """The class name of ``obj`` in format ``fmt`` ("kitti", "nuscenes"), None: no label."""
    row = LABEL_CLASSES.get(obj.category)
    return None if row is None else row.get(fmt)
