"""Weather and light physics for the sensors: extinction, airlight, daylight, rain clutter.

Pure functions (and small frozen records) over the scenario's ``Weather``
(``scenarios.weather_schema``); the camera and the lidar call them once per weather and
keep the answers, so a capture in clear weather does no extra work. Per-pixel passes are
float32, in place, mask-free (DESIGN.md: a naive numpy pass costs more than the ray cast).

**Extinction.** Fog of meteorological visibility V [m] has, at 550 nm, the extinction
coefficient ``beta = 3.912 / V`` (Koschmieder 1924: V is where the contrast of a black
object against the horizon sky falls to 2 %, ``exp(-beta V) = 0.02``). At other
wavelengths (the 905 nm lidar) Kim et al. (2001) / Kruse et al. (1962):
``beta(lambda) = 3.912 / V * (lambda / 550 nm)^-q`` with q = 1.6 for V > 50 km, 1.3 for
6-50 km, 0.16 V + 0.34 for 1-6 km, V - 0.5 for 0.5-1 km and 0 below 0.5 km (V in km).
Rain of rate R [mm/h] attenuates near-infrared light by ``1.076 R^0.67`` dB/km (Carbonneau
1998, the model used for free-space optics in Kim et al. 2001): ``beta_rain = 1.076
R^0.67 * ln(10) / 10 / 1000`` per metre (1.16e-3 /m at 10 mm/h, a 3.4 km visibility).
Raindrops are far larger than visible and near-infrared wavelengths (extinction efficiency
~2 whatever the wavelength), so the same coefficient serves the camera.

**Camera** (Koschmieder's law, per pixel in linear radiance before noise and sRGB):
``L = L0 exp(-beta d) + A (1 - exp(-beta d))``, d the ray's path length to its hit (sky:
infinite, so it takes the airlight A). A = fog colour (linear) x the horizontal
illuminance of a white Lambertian surface under the scene's light (``ambient + sun
sin(elevation)`` in the shader's units). Contrast against the horizon therefore falls as
``exp(-beta d)``.

**Daylight** (``Daylight``, relative to the clear day at 45 deg that the shader's
constants describe): direct normal illuminance ``E_dn = 127.5 klx exp(-c m)`` with air
mass m (Kasten & Young 1989) and c = 0.21 for a clear sky; diffuse horizontal illuminance
``E_kh = 0.8 + 15.5 sin(h)^0.5`` klx for a clear sky and ``0.3 + 21 sin(h)`` klx for an
overcast one (rain), no direct sun under overcast (IES RP-21 "Calculation of daylight
availability", 1984). Below the horizon the sky term falls by 0.4 decades per degree
(a fit to typical twilight levels: ~800 lx at sunset, ~3 lx at -6 deg, ~0.01 lx at
-12 deg) to a night floor of ``NIGHT_SKY_KLX`` (1 lx: an urban night sky; no street lights are
modelled). Fog scatters the direct beam: through a fog layer of ``FOG_LAYER_M`` it keeps
``exp(-beta H / sin h)``, and the scattered part joins the sky term (a direct sun below
``MIN_SUN`` of the reference's is counted as sky light: no shadows). The sun term scales by
``E_dn / E_dn(45)``, the sky term by ``E_kh / E_kh(45)``.

**Exposure**: with k the illuminance of a white horizontal surface relative to the
reference (in the shader's balance of sun and sky, ``SHADER_SUN``, ``SHADER_AMBIENT``), the
camera's
auto-exposure shortens the exposure when k > 1 (radiance x 1/k before the noise, the same
electrons) and raises the analogue gain when k < 1, up to ``AUTO_GAIN_MAX`` (x8, 18 dB)
after the shot and read noise. So dim light means fewer photo-electrons (shot noise
relative to the signal grows as 1/sqrt(k)) and the gain amplifies them with the read
noise; past the gain limit the image also darkens.

**Lidar**: received power carries ``exp(-2 beta r)`` (two-way), folded into the existing
extinction ``alpha`` of ``sensors.lidar_intensity`` so the existing signal-dependent
detection (``sensors.lidar_noise.keep_mask``) drops the weak returns; range jitter grows
as ``1/sqrt(received power)`` (shot-noise-limited timing): ``range_std x exp(beta r)``,
capped at 10x. Rain adds spurious near returns (``RainClutter``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scenarios.weather_schema import CIVIL_TWILIGHT_DEG, Weather

KOSCHMIEDER = 3.912
"""-ln(0.02): visibility V is where the contrast has fallen to 2 %."""
VISIBLE_NM = 550.0
LIDAR_NM = 905.0
AUTO_GAIN_MAX = 8.0
"""Largest analogue gain the camera's auto-exposure applies (18 dB)."""
NIGHT_SKY_KLX = 1.0e-3
"""Night-time horizontal illuminance [klx] (1 lx: an urban night sky)."""
FOG_LAYER_M = 100.0
"""Thickness of the fog layer the direct sun crosses [m]."""
REF_ELEVATION_DEG = 45.0
"""Sun elevation of the reference light (the shader's constants)."""
MAX_RANGE_NOISE_GAIN = 10.0
MIN_SUN = 0.01
"""Direct sun below this share of the reference's is folded into the sky light (no shadow
pass for a sun that fog or the horizon has all but put out)."""
SHADER_SUN = 0.85
SHADER_AMBIENT = 0.32
"""The reference light's direct-sun and sky terms (``sensors.camera_shading.Lighting``)."""

# IES RP-21 (1984) clear / overcast sky coefficients.
_E_XN_KLX = 127.5
_C_CLEAR = 0.21
_CLEAR_DIFFUSE = (0.8, 15.5, 0.5)
_OVERCAST_DIFFUSE = (0.3, 21.0, 1.0)
_TWILIGHT_DECADES_PER_DEG = 0.4


# --------------------------------------------------------------------------- extinction
def kim_exponent(visibility_m: float) -> float:
    """q of Kim et al. (2001) for visibility V (module docstring)."""
    v = visibility_m / 1000.0
    if v > 50.0:
        return 1.6
    if v > 6.0:
        return 1.3
    if v > 1.0:
        return 0.16 * v + 0.34
    if v > 0.5:
        return v - 0.5
    return 0.0


def fog_extinction_per_m(visibility_m: float | None, wavelength_nm: float = VISIBLE_NM
                         ) -> float:
    """Fog extinction coefficient beta [1/m] at ``wavelength_nm``; 0 without fog."""
    if visibility_m is None:
        return 0.0
    q = kim_exponent(visibility_m)
    return KOSCHMIEDER / visibility_m * (wavelength_nm / VISIBLE_NM) ** (-q)


def rain_extinction_per_m(rain_rate_mm_h: float) -> float:
    """Rain extinction coefficient [1/m]: 1.076 R^0.67 dB/km (Carbonneau 1998)."""
    if rain_rate_mm_h <= 0:
        return 0.0
    db_per_km = 1.076 * rain_rate_mm_h ** 0.67
    return db_per_km * math.log(10.0) / 10.0 / 1000.0


def visible_extinction_per_m(weather: Weather) -> float:
    """beta for the camera (550 nm): fog + rain."""
    return fog_extinction_per_m(weather.fog_visibility_m) + \
        rain_extinction_per_m(weather.rain_rate_mm_h)


def lidar_extinction_per_m(weather: Weather, wavelength_nm: float = LIDAR_NM) -> float:
    """beta for a lidar at ``wavelength_nm``: fog (Kim's correction) + rain."""
    return fog_extinction_per_m(weather.fog_visibility_m, wavelength_nm) + \
        rain_extinction_per_m(weather.rain_rate_mm_h)


def transmittance(distance_m: np.ndarray, beta_per_m: float,
                  out: np.ndarray | None = None) -> np.ndarray:
    """exp(-beta d), float32 (``inf`` -> 0), into ``out`` if given."""
    out = np.multiply(distance_m, np.float32(-beta_per_m), out=out, dtype=np.float32)
    return np.exp(out, out=out)


# --------------------------------------------------------------------------- sun, daylight
def math_azimuth_deg(compass_deg: float) -> float:
    """Compass azimuth (clockwise from north = +y) -> angle from +x towards +y [deg]."""
    return (90.0 - compass_deg) % 360.0


def sun_direction(compass_azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """(3,) unit vector towards the sun in the ENU world frame."""
    az, el = np.radians(math_azimuth_deg(compass_azimuth_deg)), np.radians(elevation_deg)
    return np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def air_mass(elevation_deg: float) -> float:
    """Relative optical air mass (Kasten & Young 1989), for elevation > -0.5 deg."""
    h = max(elevation_deg, 0.0)
    return 1.0 / (math.sin(math.radians(h)) + 0.50572 * (h + 6.07995) ** -1.6364)


def direct_normal_klx(elevation_deg: float, overcast: bool = False) -> float:
    """Direct normal illuminance [klx] of the sun (0 below the horizon or overcast)."""
    if overcast or elevation_deg <= 0.0:
        return 0.0
    return _E_XN_KLX * math.exp(-_C_CLEAR * air_mass(elevation_deg))


def diffuse_horizontal_klx(elevation_deg: float, overcast: bool = False) -> float:
    """Sky (diffuse) illuminance on a horizontal surface [klx]; twilight and night below
    the horizon."""
    a, b, c = _OVERCAST_DIFFUSE if overcast else _CLEAR_DIFFUSE
    if elevation_deg >= 0.0:
        return a + b * math.sin(math.radians(elevation_deg)) ** c
    twilight = a * 10.0 ** (_TWILIGHT_DECADES_PER_DEG * elevation_deg)
    return max(twilight, NIGHT_SKY_KLX)


@dataclass(frozen=True)
class Daylight:
    """The scene light relative to the reference clear day (sun 45 deg up).

    Attributes:
        sun: factor on the shader's direct-sun term (0: no direct sun).
        sky: factor on its ambient and sky terms.
        exposure: radiance factor before the noise (auto-exposure's shorter exposure, <= 1).
        gain: analogue gain after the noise (>= 1, <= ``AUTO_GAIN_MAX``).
        relative_illuminance: k, horizontal illuminance / the reference's.
    """

    sun: float = 1.0
    sky: float = 1.0
    exposure: float = 1.0
    gain: float = 1.0
    relative_illuminance: float = 1.0

    @property
    def is_reference(self) -> bool:
        return self == Daylight()


def _illuminance(elevation_deg: float, overcast: bool, fog_beta: float
                 ) -> tuple[float, float]:
    """(direct normal, diffuse horizontal) [klx] after the fog layer."""
    dn = direct_normal_klx(elevation_deg, overcast)
    kh = diffuse_horizontal_klx(elevation_deg, overcast)
    if dn > 0.0 and fog_beta > 0.0:
        s = math.sin(math.radians(elevation_deg))
        kept = math.exp(-fog_beta * FOG_LAYER_M / s)
        kh += dn * s * (1.0 - kept)      # what the fog scatters lights it from all sides
        dn *= kept
    return dn, kh


def daylight(weather: Weather, elevation_deg: float | None = None) -> Daylight:
    """The light of ``weather`` (sun elevation ``elevation_deg`` if given, e.g. a camera's
    override). Exactly ``Daylight()`` for the reference: clear, 45 deg."""
    el = weather.sun_elevation_deg if elevation_deg is None else elevation_deg
    overcast = weather.rain_rate_mm_h > 0
    fog_beta = fog_extinction_per_m(weather.fog_visibility_m)
    if el == REF_ELEVATION_DEG and not overcast and fog_beta == 0.0:
        return Daylight()
    dn0, kh0 = _illuminance(REF_ELEVATION_DEG, False, 0.0)
    dn, kh = _illuminance(el, overcast, fog_beta)
    sun, sky = dn / dn0, kh / kh0
    if sun < MIN_SUN:                    # a sun this faint casts no visible shadow
        kh += dn
        sun, sky = 0.0, kh / kh0
    s0 = math.sin(math.radians(REF_ELEVATION_DEG))
    s = max(math.sin(math.radians(el)), 0.0)
    # A white horizontal surface in the shader's units (its sun and ambient constants).
    k = (SHADER_SUN * sun * s + SHADER_AMBIENT * sky) / (SHADER_SUN * s0 + SHADER_AMBIENT)
    exposure = min(1.0, 1.0 / k)
    gain = min(max(1.0 / k, 1.0), AUTO_GAIN_MAX)
    return Daylight(sun=sun, sky=sky, exposure=exposure, gain=gain, relative_illuminance=k)


def is_night(elevation_deg: float) -> bool:
    return elevation_deg < CIVIL_TWILIGHT_DEG


# --------------------------------------------------------------------------- camera fog
def apply_airlight(out: np.ndarray, t_hit: np.ndarray, beta_per_m: float,
                   airlight_rgb: np.ndarray, gain: np.ndarray | None,
                   trans: np.ndarray, scratch: np.ndarray, scratch3: np.ndarray) -> None:
    """Koschmieder in place: ``out = out t + A g (1 - t)``, ``t = exp(-beta d)``.

    Args:
        out: (n, 3) float32 linear radiance (already multiplied by ``gain``).
        t_hit: (n,) float32 path length [m] (``inf``: sky, takes A).
        beta_per_m: extinction coefficient.
        airlight_rgb: (3,) linear airlight A.
        gain: optional (n,) float32 per-pixel factor (exposure x vignetting).
        trans, scratch: (n,) float32 buffers; scratch3: (n, 1, 3) float32 buffer.
    """
    import cv2

    n = len(t_hit)
    transmittance(t_hit, beta_per_m, out=trans)
    out3 = out.reshape(n, 1, 3)
    t1 = trans.reshape(n, 1)
    cv2.merge([t1, t1, t1], dst=scratch3)
    cv2.multiply(out3, scratch3, dst=out3)
    np.subtract(np.float32(1.0), trans, out=scratch)
    if gain is not None:
        scratch *= gain
    cv2.transform(scratch.reshape(n, 1, 1), np.asarray(airlight_rgb, np.float32).reshape(3, 1),
                  dst=scratch3)
    cv2.add(out3, scratch3, dst=out3)


# --------------------------------------------------------------------------- rain clutter
# Marshall & Palmer (1948) drop sizes: N(D) = N0 exp(-Lambda D), Lambda = 4.1 R^-0.21 /mm.
_MP_N0_PER_M3_MM = 8000.0
_MP_LAMBDA = 4.1
_MP_EXP = -0.21
CLUTTER_DROP_MM = 2.0
"""Drops at least this large echo strongly enough near the sensor to trigger a return."""
LIDAR_BEAM_DIAMETER_M = 0.01
"""Beam diameter near the sensor's window (~1 cm for spinning automotive lidars)."""
WATER_BACKSCATTER = 0.02
"""Fresnel reflectance of water at normal incidence, ((n - 1) / (n + 1))^2, n = 1.33."""


def drops_per_m3(rain_rate_mm_h: float, min_diameter_mm: float) -> float:
    """Marshall-Palmer number density of drops larger than ``min_diameter_mm`` [1/m^3]."""
    if rain_rate_mm_h <= 0:
        return 0.0
    lam = _MP_LAMBDA * rain_rate_mm_h ** _MP_EXP
    return _MP_N0_PER_M3_MM / lam * math.exp(-lam * min_diameter_mm)


@dataclass(frozen=True)
class RainClutter:
    """Spurious lidar returns from raindrops just outside the sensor.

    A drop of diameter D >= ``CLUTTER_DROP_MM`` inside the beam (diameter b) reflects
    ``WATER_BACKSCATTER * (D / b)^2`` of a white target's echo, so its signal strength is
    ``S = 0.02 (D / b)^2 (r_ref / r)^2``: above the detection threshold T
    (``intensity_dropout``) out to ``r_max = r_ref sqrt(0.02 (D / b)^2 / T)`` (3.8 m for
    the defaults). A beam meets such a drop before ``r_max`` with probability
    ``p = 1 - exp(-N A (r_max - r_min))``, N the Marshall-Palmer density of those drops
    and A the beam's cross-section (p = 0.5 % at 10 mm/h, 3 % at 50 mm/h), at a range
    uniform in [r_min, r_max] (the density is uniform; the first drop is nearly so). The
    first echo wins: a clutter return replaces the beam's farther one.
    """

    probability: float
    near_m: float
    far_m: float
    reflectivity: float

    @classmethod
    def for_lidar(cls, rain_rate_mm_h: float, min_range_m: float, ref_range_m: float,
                  threshold: float) -> RainClutter | None:
        if rain_rate_mm_h <= 0:
            return None
        frac = (CLUTTER_DROP_MM / 1000.0 / LIDAR_BEAM_DIAMETER_M) ** 2
        rho = WATER_BACKSCATTER * frac
        far = ref_range_m * math.sqrt(rho / (threshold if threshold > 0 else 0.05))
        near = max(min_range_m, 1e-3)
        if far <= near:
            return None
        area = math.pi * (LIDAR_BEAM_DIAMETER_M / 2.0) ** 2
        p = 1.0 - math.exp(-drops_per_m3(rain_rate_mm_h, CLUTTER_DROP_MM) * area
                           * (far - near))
        return cls(probability=p, near_m=near, far_m=far, reflectivity=rho)

    def draw(self, rng: np.random.Generator, first_hit_m: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        """Beams (flat indices) with a clutter return and its range [m] (float32).

        One uniform draw per beam: u < p picks the beam, u / p is then uniform and gives
        the range. A beam whose surface is nearer than the drop keeps its surface echo.
        """
        u = rng.random(len(first_hit_m), dtype=np.float32)
        beams = np.flatnonzero(u < np.float32(self.probability))
        r = np.take(u, beams)
        r *= np.float32((self.far_m - self.near_m) / self.probability)
        r += np.float32(self.near_m)
        keep = r < np.take(first_hit_m, beams)
        return beams[keep], r[keep]
