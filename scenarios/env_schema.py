"""The ``env:`` section of a scenario: what the Gymnasium / PettingZoo environments observe,
how the policy acts, what it is rewarded for and when an episode ends.

Every field can also be given as a keyword to ``gymnasium.make(id, ...)``
(``observation={"type": "lidar2d"}``, ``max_episode_steps=200``, ...). The observation and
action types are discriminated by ``type``; ``dict`` combines observations by name.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from scenarios.limits import FieldError, Strict

KINEMATIC_FEATURES = ("presence", "x", "y", "vx", "vy", "heading", "cos_h", "sin_h",
                      "long_off", "lat_off", "ang_off")


class KinematicsObservation(Strict):
    """Ego and its N-1 nearest vehicles, one row each, like highway-env's ``Kinematics``.

    Row 0 is the ego; the others are the nearest active vehicles (within ``range_m``),
    sorted by distance; missing rows are zeros with ``presence`` 0. Positions and
    velocities are relative to the ego (``absolute: false``) in the ego frame
    (``frame: ego``: x forward, y left) or in the world frame (``frame: world``, which is
    highway-env's convention). With ``normalize``, each feature is scaled from its range to
    [-1, 1] and clipped.
    """

    type: Literal["kinematics"] = "kinematics"
    vehicles_count: int = Field(5, ge=1, le=200, description="Rows, the ego included.")
    features: list[Literal[KINEMATIC_FEATURES]] = Field(   # type: ignore[valid-type]
        ["presence", "x", "y", "vx", "vy"], min_length=1, max_length=len(KINEMATIC_FEATURES))
    absolute: bool = False
    frame: Literal["ego", "world"] = "ego"
    normalize: bool = True
    range_m: float = Field(100.0, gt=0, le=2000, description="Vehicles beyond are unseen.")
    x_range_m: float = Field(100.0, gt=0, le=5000, description="|x| that maps to 1.")
    y_range_m: float = Field(15.0, gt=0, le=5000, description="|y| that maps to 1.")
    v_range_mps: float = Field(40.0, gt=0, le=200, description="|vx|, |vy| that map to 1.")

    @model_validator(mode="after")
    def _unique(self) -> KinematicsObservation:
        if len(set(self.features)) != len(self.features):
            raise FieldError(("features",), "a feature is listed twice")
        return self


class Lidar2DObservation(Strict):
    """A horizontal ring of ``beams`` ranges from the ego's ray-cast scene (MetaDrive's
    lidar: 240 beams, 50 m), normalised to [0, 1] (1 = nothing within range)."""

    type: Literal["lidar2d"] = "lidar2d"
    beams: int = Field(240, ge=4, le=4096)
    max_range_m: float = Field(50.0, gt=0, le=500)
    height_m: float = Field(0.8, gt=0, le=5, description="Height of the ring above ground.")


class OccupancyGridObservation(Strict):
    """An ego-centred bird's-eye raster, ego heading up (rows: ahead at the top).

    Channels in order: ``vehicles`` (other vehicles' footprints), ``drivable`` (asphalt)
    and ``lane_lines`` (painted markings); values 0 or 1, shape (channels, H, W).
    """

    type: Literal["occupancy_grid"] = "occupancy_grid"
    size_m: tuple[Annotated[float, Field(gt=0, le=500)],
                  Annotated[float, Field(gt=0, le=500)]] = Field(
        (64.0, 64.0), description="(ahead-behind, left-right) extent [m].")
    resolution_m: float = Field(0.5, gt=0.01, le=10, description="Cell side [m].")
    channels: list[Literal["vehicles", "drivable", "lane_lines"]] = Field(
        ["vehicles", "drivable", "lane_lines"], min_length=1, max_length=3)

    @model_validator(mode="after")
    def _cells(self) -> OccupancyGridObservation:
        rows = self.size_m[0] / self.resolution_m
        cols = self.size_m[1] / self.resolution_m
        if rows * cols > 1024 * 1024:
            raise FieldError(("size_m",), f"{rows:.0f} x {cols:.0f} cells; at most 1024^2")
        if len(set(self.channels)) != len(self.channels):
            raise FieldError(("channels",), "a channel is listed twice")
        return self


class CameraObservation(Strict):
    """One camera of the scenario rig (by ``sensor`` name; default the first camera), at
    its own or the given resolution: ``rgb`` (H, W, 3) uint8, ``depth`` (H, W, 1) float32
    in metres up to ``max_depth_m`` (farther reads max_depth_m), or ``semantic`` (H, W, 1)
    uint8 class ids."""

    type: Literal["camera"] = "camera"
    sensor: str | None = Field(None, max_length=64)
    channel: Literal["rgb", "depth", "semantic"] = "rgb"
    width: int | None = Field(None, ge=16, le=4096, description="[px]; null: the camera's.")
    height: int | None = Field(None, ge=16, le=4096, description="[px]; null: the camera's.")
    max_depth_m: float = Field(200.0, gt=0, le=10_000)


SingleObservation = Annotated[
    Union[KinematicsObservation, Lidar2DObservation, OccupancyGridObservation,
          CameraObservation], Field(discriminator="type")]


class DictObservation(Strict):
    """Several observations at once, as a ``gymnasium.spaces.Dict`` keyed by name."""

    type: Literal["dict"] = "dict"
    spaces: dict[Annotated[str, Field(min_length=1, max_length=64)], SingleObservation] = \
        Field(min_length=1, max_length=16)


ObservationConfig = Annotated[
    Union[KinematicsObservation, Lidar2DObservation, OccupancyGridObservation,
          CameraObservation, DictObservation], Field(discriminator="type")]


class ContinuousAction(Strict):
    """``Box([-1, 1]^2)``: (steering, acceleration). Steering scales to the vehicle's
    ``max_steer_deg`` (positive turns left); acceleration to ``max_accel_mps2`` when
    positive and ``max_decel_mps2`` when negative."""

    type: Literal["continuous"] = "continuous"


class DiscreteMetaAction(Strict):
    """``Discrete(5)``, highway-env's meta-actions: 0 LANE_LEFT, 1 IDLE, 2 LANE_RIGHT,
    3 FASTER, 4 SLOWER. FASTER / SLOWER step through ``target_speeds_mps``; the autopilot's
    controllers carry the action out (lane changes when MOBIL's safety test allows)."""

    type: Literal["discrete_meta"] = "discrete_meta"
    target_speeds_mps: list[Annotated[float, Field(ge=0, le=70)]] = Field(
        [20.0, 25.0, 30.0], min_length=1, max_length=32)

    @model_validator(mode="after")
    def _increasing(self) -> DiscreteMetaAction:
        v = self.target_speeds_mps
        if any(b <= a for a, b in zip(v, v[1:])):
            raise FieldError(("target_speeds_mps",), "speeds must increase")
        return self


ActionConfig = Annotated[Union[ContinuousAction, DiscreteMetaAction],
                         Field(discriminator="type")]

Weight = Annotated[float, Field(ge=-1e3, le=1e3)]


class RewardConfig(Strict):
    """Weighted reward terms; each term's value is in ``info["reward_terms"]``.

    Terms per policy step: ``progress`` metres driven along the route (or the lane without
    a destination) divided by ``progress_scale_m``; ``speed`` 1 at ``target_speed_mps``
    falling linearly to 0 at 0 and at twice the target; ``lane_centering``
    1 - (lateral offset / half lane width)^2, floored at 0; ``collision`` 1 in the step the
    ego crashed; ``off_road`` 1 while its centre is off the asphalt; ``comfort``
    (jerk / 10 m/s^3)^2 of the ego's longitudinal acceleration (weight it negatively).
    """

    progress: Weight = 1.0
    speed: Weight = 0.2
    lane_centering: Weight = 0.1
    collision: Weight = -5.0
    off_road: Weight = -5.0
    comfort: Weight = -0.01
    target_speed_mps: float | None = Field(
        None, gt=0, le=70, description="null: the ego autopilot's cruise speed.")
    progress_scale_m: float = Field(10.0, gt=0, le=1e4)


class EnvConfig(Strict):
    """The environment around a scenario."""

    observation: ObservationConfig = KinematicsObservation()
    action: ActionConfig = ContinuousAction()
    reward: RewardConfig = RewardConfig()
    policy_hz: float | None = Field(
        None, gt=0, le=1000, description="Policy decisions per second; null: the "
        "simulation's control_hz. Must divide physics_hz.")
    max_episode_steps: int = Field(400, ge=1, le=10_000_000,
                                   description="Truncation after this many policy steps.")
    terminate_on_collision: bool = True
    terminate_off_road: bool = True
    terminate_at_route_end: bool = True
    render: Literal["bev", "chase"] = Field(
        "bev", description="render(): bird's-eye view around the ego, or a chase camera.")
    render_size: tuple[Annotated[int, Field(ge=32, le=2048)],
                       Annotated[int, Field(ge=32, le=2048)]] = Field(
        (400, 400), description="(width, height) of render() frames [px].")


class TrafficPolicy(Strict):
    """NPCs driven by a policy (obs -> action) instead of their IDM/MOBIL drivers.

    ``source`` is a Python callable ``"package.module:function"`` or a stable-baselines3
    model file (``.zip``, path relative to the scenario file). The policy gets the
    observation of ``observation`` (default: the env's) from its own car and answers an
    action of ``action`` (default: the env's). ``count`` or ``fraction`` of the NPCs (the
    first ones by index) are driven this way.
    """

    source: str = Field(min_length=1, max_length=1000)
    count: int | None = Field(None, ge=0, le=2000)
    fraction: float | None = Field(None, ge=0, le=1)
    observation: ObservationConfig | None = None
    action: ActionConfig | None = None
    deterministic: bool = Field(True, description="stable-baselines3 predict(deterministic=)")

    @model_validator(mode="after")
    def _how_many(self) -> TrafficPolicy:
        if (self.count is None) == (self.fraction is None):
            raise ValueError("give exactly one of 'count' and 'fraction'")
        if ":" not in self.source and not self.source.endswith(".zip"):
            raise FieldError(("source",), "expected 'module:function' or a .zip model file")
        return self
