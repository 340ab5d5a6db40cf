"""The bundled tunnel scenario through the world and the sensors: the GNSS loses its fix
under the roof and regains it at the exit; the lidar sees the roof at its height."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios import BUNDLED_DIR, load
from sensors import Rig
from sensors.base import build_sensor
from sensors.gnss import FIX_GPS, FIX_NONE
from simulator.world import World

ENTRY_X, EXIT_X, ROOF_Z = 200.0, 380.0, 5.5      # from scenarios/tunnel.yaml
DEEP_M = 30.0          # this far inside no satellite is seen through a portal


@pytest.fixture(scope="module")
def drive() -> dict:
    """Drive the ego through the tunnel; GNSS every 0.1 s, one lidar sweep mid-tunnel."""
    sc = load(BUNDLED_DIR / "tunnel.yaml")
    gnss_cfg = next(s for s in sc.sensors if s.type == "gnss")
    lidar_cfg = next(s for s in sc.sensors if s.type == "lidar")
    out: dict = {"t": [], "x": [], "fix": [], "sats": []}
    with World(sc.model_copy(update={"sensors": [gnss_cfg]})) as w:
        roof = next(p for p in w.props if not p.on_ground)
        rig = Rig([gnss_cfg], w.sensor_seed_seq)
        lidar = build_sensor(lidar_cfg, np.random.default_rng(0))
        while w.time_s < 32.0:
            w.step()
            for m in rig.capture(w, w.time_s).values():
                out["t"].append(w.time_s)
                out["x"].append(float(m.gt["position_enu_m"][0]))
                out["fix"].append(m.data["fix_quality"])
                out["sats"].append(m.data["num_satellites"])
            if "lidar" not in out and w.state.x[0] > (ENTRY_X + EXIT_X) / 2:
                out["lidar"] = lidar.capture(w, w.time_s)
        out["collisions"] = list(w.collisions)
        out["roof"] = roof
    return {k: np.asarray(v) if k in ("t", "x", "fix", "sats") else v
            for k, v in out.items()}


def test_fix_before_none_deep_inside_and_back_after_the_exit(drive: dict) -> None:
    t, x, fix, sats = drive["t"], drive["x"], drive["fix"], drive["sats"]
    assert drive["collisions"] == []
    assert x.max() > EXIT_X + 50.0                          # drove through
    before = x < ENTRY_X - 20.0
    assert before.sum() > 50
    assert np.all(fix[before] == FIX_GPS) and sats[before].min() >= 4
    deep = (x > ENTRY_X + DEEP_M) & (x < EXIT_X - DEEP_M)
    assert deep.sum() > 30
    assert np.all(fix[deep] == FIX_NONE) and np.all(sats[deep] == 0)
    t_exit = t[np.flatnonzero(x > EXIT_X)[0]]
    t_fix = t[np.flatnonzero((t >= t[deep][-1]) & (fix == FIX_GPS))[0]]
    assert t_fix - t_exit <= 2.0                            # regained within 2 s
    after = x > EXIT_X + 20.0
    assert after.sum() > 20 and np.all(fix[after] == FIX_GPS) and sats[after].min() >= 4


def test_lidar_sees_the_roof_underside_at_its_height(drive: dict) -> None:
    m, roof = drive["lidar"], drive["roof"]
    on_roof = m.gt["instance_id"] == roof.instance_id
    assert on_roof.sum() > 100
    pose = m.gt["pose_sweep_end"]                           # world from sensor, 4x4
    pts = m.gt["points_deskewed"][on_roof].astype(np.float64)
    world_z = pts @ pose[:3, :3].T[:, 2] + pose[2, 3]
    assert np.abs(world_z - ROOF_Z).max() < 0.05
    # The steepest upward beam (+15 deg) meets the roof at (z_roof - z_lidar) / sin(15 deg).
    top = on_roof & (m.data["ring"] == m.data["ring"].max())
    expect = (ROOF_Z - pose[2, 3]) / np.sin(np.radians(15.0))
    assert top.sum() > 100
    assert np.median(m.gt["range_m"][top]) == pytest.approx(expect, abs=0.05)
