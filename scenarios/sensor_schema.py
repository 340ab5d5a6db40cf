"""Sensor entries of a scenario's ``sensors:`` list (one model per ``type``).

Every sensor is mounted on the ego vehicle: the mount pose is in the vehicle frame
(x forward, y left, z up, origin on the ground below the vehicle's centre). ``noise: null``
or ``noise: {enabled: false}`` switches a sensor's noise off; GT is always exact.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

_Offset = Annotated[float, Field(ge=-100, le=100)]
_Angle = Annotated[float, Field(ge=-360, le=360)]
_Coefficient = Annotated[float, Field(ge=-100, le=100)]
_Elevation = Annotated[float, Field(ge=-90, le=90)]
Vec3 = tuple[_Offset, _Offset, _Offset]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Mount(_Strict):
    position: Vec3 = Field((0.0, 0.0, 1.5), description="x forward, y left, z up [m].")
    rpy_deg: tuple[_Angle, _Angle, _Angle] = Field(
        (0.0, 0.0, 0.0), description="Roll, pitch, yaw [deg]; "
                                     "positive pitch looks down (nose-down rotation about y).")


class _SensorBase(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    mount: Mount = Mount()
    rate_hz: float = Field(10.0, gt=0, le=1000)


# --------------------------------------------------------------------------- camera
class CameraNoise(_Strict):
    enabled: bool = True
    exposure_gain: float = Field(1.0, gt=0, le=1000, description="Multiplies linear radiance.")
    full_well_electrons: float = Field(
        4000.0, gt=0, le=1e12,
        description="Electrons at full scale; shot noise is Poisson in these.")
    read_noise_std: float = Field(2.0 / 255, ge=0, le=1, description="Std of additive read noise "
                                  "as a fraction of full scale.")
    vignetting: float = Field(0.3, ge=0, le=1, description="Relative darkening at the "
                              "image corners (cos^4-like falloff scaled to this).")
    exposure_time_s: float = Field(0.0, ge=0, le=0.1, description="Motion blur from ego "
                                   "motion during the exposure; 0 = none.")


class CameraConfig(_SensorBase):
    type: Literal["camera"]
    width: int = Field(1280, ge=16, le=4096)
    height: int = Field(720, ge=16, le=4096)
    fov_deg: float = Field(90.0, gt=1, lt=179, description="Horizontal field of view.")
    distortion: tuple[_Coefficient, _Coefficient, _Coefficient, _Coefficient,
                      _Coefficient] = Field(
        (0.0, 0.0, 0.0, 0.0, 0.0), description="Brown-Conrady k1 k2 p1 p2 k3 (OpenCV).")
    max_range_m: float = Field(500.0, gt=0, le=10_000)
    shadows: bool = True
    sun_azimuth_deg: _Angle | None = Field(
        None, description="Overrides the scenario's weather sun for this camera, measured "
        "from +x towards +y (= 90 - compass azimuth); null: the weather's sun.")
    sun_elevation_deg: float | None = Field(
        None, gt=0, le=90, description="Overrides weather.sun_elevation_deg for this camera; "
        "null: the weather's.")
    min_box_pixels: int = Field(20, ge=1, le=4096 * 4096, description="Objects with fewer "
                                "visible pixels get no 2D box.")
    noise: CameraNoise | None = CameraNoise()


# --------------------------------------------------------------------------- lidar
LidarPreset = Literal["vlp16", "hdl32e", "hdl64e", "os1_64", "os1_128"]


class LidarNoise(_Strict):
    enabled: bool = True
    range_std_m: float = Field(0.02, ge=0, le=10)
    dropout_prob: float = Field(0.0, ge=0, le=1, description="Uniform chance a return is lost.")
    intensity_dropout: float = Field(
        0.05, ge=0, le=1, description="Returns with intensity below this are lost with a "
        "probability falling linearly from 1 at 0 intensity to 0 at this value. The "
        "intensity here is the signal strength before the near-field cap (see "
        "intensity_ref_range_m); beyond that range it equals the reported intensity.")
    mixed_pixel_prob: float = Field(
        0.5, ge=0, le=1, description="Chance that a beam straddling a depth edge returns a "
        "point between the two surfaces.")
    mixed_pixel_min_jump_m: float = Field(
        1.0, gt=0, le=1000, description="Range difference between neighbouring beams of a ring "
        "above which the pair straddles a depth edge [m].")
    intensity_std: float = Field(0.02, ge=0, le=1, description="Additive intensity noise.")


class LidarConfig(_SensorBase):
    type: Literal["lidar"]
    # On the roof: from inside the body every beam would first hit the ego itself (such
    # returns are dropped), so the generic 1.5 m default would see almost nothing.
    mount: Mount = Field(Mount(position=(0.0, 0.0, 1.9)),
                         description="Default: on the roof, 1.9 m above the ground.")
    preset: LidarPreset | None = None
    channels: int | None = Field(None, ge=1, le=256)
    vertical_fov_deg: tuple[_Elevation, _Elevation] | None = Field(
        None, description="(lowest, highest) elevation; channels spread evenly.")
    columns: int | None = Field(None, ge=8, le=8192, description="Firings per rotation.")
    horizontal_fov_deg: float = Field(360.0, gt=0, le=360)
    rotation_hz: float | None = Field(None, gt=0, le=50)
    range_m: float | None = Field(None, gt=0, le=2000)
    min_range_m: float = Field(0.5, ge=0, le=100)
    atmospheric_attenuation_per_m: float = Field(
        0.002, ge=0, le=1,
        description="Two-way extinction coefficient alpha in exp(-2 alpha r).")
    intensity_ref_range_m: float = Field(
        30.0, gt=0, le=2000, description="Range r_ref within which the receiver saturates: "
        "intensity = rho cos(theta) exp(-2 alpha r) min(1, (r_ref/r)^2).")
    noise: LidarNoise | None = LidarNoise()

    @model_validator(mode="after")
    def _complete(self) -> LidarConfig:
        if self.preset is None and (self.channels is None or self.vertical_fov_deg is None):
            raise ValueError("give a preset, or channels and vertical_fov_deg")
        if self.vertical_fov_deg is not None and self.vertical_fov_deg[1] < \
                self.vertical_fov_deg[0]:
            raise ValueError("vertical_fov_deg must be (lowest, highest)")
        return self


# --------------------------------------------------------------------------- gnss
class Constellation(_Strict):
    num_satellites: int = Field(30, ge=4, le=120)
    elevation_mask_deg: float = Field(10.0, ge=0, lt=90)
    orbit_period_s: float = Field(43080.0, ge=3600, le=1e6,
                                  description="GPS: half a sidereal day.")
    num_planes: int = Field(6, ge=1, le=12, description="Orbital planes, evenly spread.")
    inclination_deg: float = Field(55.0, ge=0, le=90)
    phase_jitter_deg: float = Field(
        5.0, ge=0, le=180, description="Std of each satellite's random offset from even "
        "spacing within its plane.")


class GnssNoise(_Strict):
    enabled: bool = True
    pseudorange_std_m: float = Field(0.5, ge=0, le=1000,
                                     description="White noise per pseudorange.")
    bias_sigma_m: float = Field(1.0, ge=0, le=1000, description="Steady-state std of each "
                                "satellite's Gauss-Markov pseudorange bias (atmosphere, "
                                "orbit and clock errors lumped).")
    bias_time_constant_s: float = Field(60.0, gt=0, le=1e6)
    multipath: bool = Field(True, description="Receive blocked satellites via one facade "
                            "reflection (NLOS delay); false: blocked ones are just lost.")
    clock_bias_m: float = Field(100.0, ge=-3e5, le=3e5, description="Receiver clock bias "
                                "(solved for); receivers keep it within 1 ms (300 km).")


class GnssConfig(_SensorBase):
    type: Literal["gnss"]
    rate_hz: float = Field(10.0, ge=1, le=20)
    constellation: Constellation = Constellation()
    noise: GnssNoise | None = GnssNoise()


# --------------------------------------------------------------------------- imu
class ImuNoise(_Strict):
    enabled: bool = True
    accel_noise_density: float = Field(2.0e-3, ge=0, le=10, description="[m/s^2/sqrt(Hz)]")
    accel_bias_instability: float = Field(1.0e-3, ge=0, le=10, description="[m/s^2]")
    accel_random_walk: float = Field(3.0e-4, ge=0, le=10, description="[m/s^3/sqrt(Hz)]")
    gyro_noise_density: float = Field(1.7e-4, ge=0, le=10, description="[rad/s/sqrt(Hz)]")
    gyro_bias_instability: float = Field(2.0e-5, ge=0, le=10, description="[rad/s]")
    gyro_random_walk: float = Field(2.0e-5, ge=0, le=10, description="[rad/s^2/sqrt(Hz)]")
    bias_time_constant_s: float = Field(300.0, gt=0, le=1e6)


class ImuConfig(_SensorBase):
    type: Literal["imu"]
    rate_hz: float = Field(100.0, gt=0, le=1000)
    noise: ImuNoise | None = ImuNoise()


# Every sensor type's config, in one place: a new type is one model here plus its class
# registered in ``sensors`` (tests/sensors/test_registry.py checks the two agree).
SENSOR_CONFIGS: tuple[type[_SensorBase], ...] = (CameraConfig, LidarConfig, GnssConfig,
                                                 ImuConfig)
SensorConfig = Annotated[Union[SENSOR_CONFIGS], Field(discriminator="type")]
