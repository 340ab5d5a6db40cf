"""Everything ``run`` builds before it simulates, checked without simulating: the map and
route (``simulator.checks``) and the sensor rig.

The sensors are built exactly as a run builds them (each constructor does its own
precomputation: a camera inverts its distortion for every pixel), and each GNSS receiver
solves noise-free fixes under open sky at the geo origin over the scenario's duration, so
that a constellation its solver cannot use fails here and not as a run without fixes.
"""

from __future__ import annotations

import numpy as np

from scenarios.schema import Scenario
from scenarios.sensor_schema import GnssConfig
from sensors.camera_model import DistortionError
from sensors.gnss import Gnss, geodetic_to_ecef
from sensors.gnss_solver import MIN_SATELLITES, NoFixError, solve_position
from sensors.rig import Rig
from simulator.checks import CheckError, check_scenario
from simulator.seeds import sensor_seed_seq

GNSS_PROBES = 8
"""Times over the run at which a GNSS constellation must give a fix."""

_PROBE_OFFSET_M = np.array([300.0, -200.0, 50.0])
"""The probe receiver sits this far (ECEF) from the linearisation point, like a car some
way from the origin at its first fix."""


def check_runnable(scenario: Scenario, sensors: bool = True) -> None:
    """Check the map, the route and (``sensors``) the sensor rig.

    Raises:
        CheckError: naming the field of the first problem.
    """
    check_scenario(scenario)
    if sensors:
        check_sensors(scenario)


def check_sensors(scenario: Scenario) -> None:
    """Build every sensor and probe every GNSS receiver.

    Raises:
        CheckError: ``sensors[i]...`` of the first sensor that cannot be built or used.
    """
    # The sensor branch of the run's seed tree (the one World uses): each
    # sensor is built with the very draws of a run (a GNSS sky is one of them).
    seed_seq = sensor_seed_seq(scenario.simulation.seed)
    for i, cfg in enumerate(scenario.sensors):
        try:
            sensor = Rig([cfg], seed_seq).sensors[0]
        except DistortionError:
            raise CheckError(("sensors", i, "distortion"), f"cannot be inverted over the "
                             f"{cfg.width}x{cfg.height} image at fov_deg {cfg.fov_deg:g} "
                             "(the model folds back inside the image); use smaller "
                             "coefficients or a narrower field of view") from None
        except (ValueError, ArithmeticError) as exc:
            raise CheckError(("sensors", i), f"cannot be built: {exc}") from None
        if isinstance(sensor, Gnss):
            _probe_gnss(i, cfg, sensor, scenario)


def _probe_gnss(i: int, cfg: GnssConfig, sensor: Gnss, scenario: Scenario) -> None:
    origin = scenario.map.geo_origin
    start = geodetic_to_ecef(origin.lat_deg, origin.lon_deg, origin.alt_m)
    truth = start + _PROBE_OFFSET_M
    clock = cfg.noise.clock_bias_m if cfg.noise is not None and cfg.noise.enabled else 0.0
    constellation = sensor.constellation
    seen = []
    for t in np.linspace(0.0, scenario.simulation.duration_s, GNSS_PROBES):
        sat = constellation.positions_ecef(float(t))
        _, el, _ = constellation.look_angles(sat, origin.lat_deg, origin.lon_deg, origin.alt_m)
        tracked = sat[constellation.above_mask(el)]
        seen.append(len(tracked))
        if len(tracked) < MIN_SATELLITES:
            continue
        try:
            solve_position(tracked, np.linalg.norm(tracked - truth, axis=1) + clock, start)
        except NoFixError as exc:
            raise CheckError(("sensors", i, "constellation"), f"no fix under open sky at "
                             f"t = {t:g} s ({exc}); the satellites' geometry is degenerate "
                             "(inclination, planes)") from None
    if max(seen) < MIN_SATELLITES:
        raise CheckError(("sensors", i, "constellation"), f"at most {max(seen)} satellites "
                         f"above the {cfg.constellation.elevation_mask_deg:g} deg mask at the "
                         f"geo origin; a fix needs {MIN_SATELLITES}")
