"""The HD map of a scenario whose ``map.opendrive`` names an .xodr file."""

from __future__ import annotations

import functools
import logging
import math
import os
import re

import numpy as np
import pymap3d

from scenarios.schema import GeoOrigin, MapConfig
from simulator.errors import MapFileError
from simulator.map.hdmap import HDMap
from simulator.map.opendrive.junction_lights import assign_signal_groups
from simulator.map.opendrive.map_signals import map_objects, map_signals
from simulator.map.opendrive.network import build_opendrive_network
from simulator.map.opendrive.records import OpenDriveError
from simulator.map.opendrive.road_marks import build_road_marks
from simulator.map.opendrive.xodr import read_xodr

log = logging.getLogger(__name__)

GROUND_MARGIN_M = 200.0


def geo_origin_of(geo_reference: str | None, origin: np.ndarray) -> GeoOrigin | None:
    """WGS84 point of our world origin (file point ``origin``) from a geoReference's
    ``+lat_0`` / ``+lon_0`` (taken as the file origin, with a local tangent plane around
    it: a full map projection is not modelled); None without them."""
    if not geo_reference:
        return None
    lat = re.search(r"\+lat_0=([-+0-9.eE]+)", geo_reference)
    lon = re.search(r"\+lon_0=([-+0-9.eE]+)", geo_reference)
    if lat is None or lon is None:
        return None
    lat0, lon0 = float(lat.group(1)), float(lon.group(1))
    if not (-90 <= lat0 <= 90 and -180 <= lon0 <= 180):
        return None
    la, lo, _ = pymap3d.enu2geodetic(float(origin[0]), float(origin[1]), 0.0, lat0, lon0, 0.0)
    return GeoOrigin(lat_deg=float(la), lon_deg=float(lo), alt_m=0.0)


@functools.lru_cache(maxsize=4)
def _read(path: str, mtime_ns: int, size: int):
    """The parsed file, once per version of it (``validate``'s checks and the World read
    the same file: parsed and warned about once)."""
    return read_xodr(path)


def build_opendrive_hdmap(cfg: MapConfig) -> HDMap:
    """Lanes, strips, markings and lights of the file; raises MapFileError."""
    try:
        st = os.stat(cfg.opendrive)
        odr = _read(str(cfg.opendrive), st.st_mtime_ns, st.st_size)
        net = build_opendrive_network(odr)
        markings = build_road_marks(odr, net.origin)
    except OpenDriveError as exc:
        raise MapFileError(str(exc)) from None
    except OSError as exc:
        raise MapFileError(f"{cfg.opendrive}: cannot read: {exc.strerror}") from None
    except ValueError as exc:       # geometry the records allow but the roads cannot use
        raise MapFileError(f"{cfg.opendrive}: {exc}") from None
    if not net.lanes:
        raise MapFileError(f"{cfg.opendrive}: no driving lanes")
    lanes, signalised = (assign_signal_groups(net.lanes, net.conflicts)
                         if cfg.signal is not None
                         else (net.lanes, []))
    pts = np.concatenate([np.concatenate([s.left[:, :2], s.right[:, :2]])
                          for s in net.strips] + [ln.centerline for ln in lanes])
    extent = 2.0 * float(np.abs(pts).max()) + GROUND_MARGIN_M
    ground = max(cfg.ground_size_m if "ground_size_m" in cfg.model_fields_set else 0.0,
                 math.ceil(extent / 100.0) * 100.0)
    geo = geo_origin_of(odr.header.geo_reference, net.origin)
    log.info("OpenDRIVE %s: %d roads, %d lanes (%d connectors), %d signalised junctions",
             cfg.opendrive, len(odr.roads), len(lanes),
             sum(ln.kind == "connector" for ln in lanes), len(signalised))
    return HDMap(lanes, net.conflicts, markings, net.edges, [], [], ground,
                 strips=net.strips, origin=net.origin, source=str(cfg.opendrive),
                 extra={"signalised_junctions": signalised, "geo_origin": geo,
                        "file_lanes": net.piece_lane,
                        "warnings": list(odr.warnings), "header": odr.header,
                        "map_signals": map_signals(odr, lanes, net.origin),
                        "map_objects": map_objects(odr, net.origin)})
