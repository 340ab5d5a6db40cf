"""GNSS preview image: true path and fixes drawn where the scale puts them."""

from __future__ import annotations

import numpy as np

from scenarios.sensor_schema import GnssConfig, GnssNoise
from sensors.base import build_sensor
from tests.fakes import FakeWorld
from viz.gnss_preview import gnss_plot


def _run(world: FakeWorld, n: int = 30):
    sensor = build_sensor(GnssConfig(name="g", type="gnss", noise=GnssNoise()),
                          np.random.default_rng(0))
    return [sensor.capture(world, 0.5 * k) for k in range(n)]


def test_plot_shape_and_content():
    world = FakeWorld(ego_position=np.array([0.0, -20.0, 0.0]),
                      ego_velocity=np.array([0.0, 3.0, 0.0]))
    ms = _run(world)
    img = gnss_plot(ms, size_px=600)
    assert img.shape == (600, 600, 3) and img.dtype == np.uint8
    # Coloured (non-grey) pixels: the fix dots and the colour bar.
    chroma = img.max(axis=2).astype(int) - img.min(axis=2)
    assert (chroma > 60).sum() > 1000


def _red_pixels(img: np.ndarray) -> int:
    return int(((img[..., 2] > 180) & (img[..., 1] < 80) & (img[..., 0] < 80)).sum())


def test_tunnel_epochs_are_marked_as_no_fix_in_red():
    covered = FakeWorld()
    covered.add_box("wall", (0.0, 0.0), (30.0, 30.0, 0.5), z0=4.0)     # a roof over the ego
    covered.add_box("wall", (-5.0, 0.0), (0.5, 30.0, 4.0))
    covered.add_box("wall", (5.0, 0.0), (0.5, 30.0, 4.0))
    ms = _run(covered, 5)
    assert all(m.data["fix_quality"] == 0 for m in ms)
    open_sky = _run(FakeWorld(), 5)
    assert all(m.data["fix_quality"] == 1 for m in open_sky)
    # Only the legend's cross is red in open sky; the tunnel adds crosses on the path.
    assert _red_pixels(gnss_plot(ms)) > _red_pixels(gnss_plot(open_sky)) + 20


def test_empty_input_gives_a_blank_canvas():
    img = gnss_plot([], size_px=200)
    assert img.shape == (200, 200, 3)
