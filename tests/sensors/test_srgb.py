"""The sRGB transfer curve (IEC 61966-2-1): known values, the knee, and the fast uint8
encoder against the exact formula."""

from __future__ import annotations

import numpy as np
import pytest

from sensors import srgb
from sensors.srgb import encode_srgb, linear_colors, srgb_decode, srgb_encode


def test_known_values() -> None:
    # 1.055 * 0.5^(1/2.4) - 0.055 = 0.735357 -> 187.516 -> 188
    assert float(srgb_encode(0.5)) == pytest.approx(0.735357, abs=1e-6)
    assert float(srgb_encode(0.18)) == pytest.approx(0.461356, abs=1e-6)  # mid grey
    assert float(srgb_encode(0.001)) == pytest.approx(0.01292, abs=1e-12)  # straight part
    assert float(srgb_decode(0.735357)) == pytest.approx(0.5, abs=1e-6)
    assert float(srgb_decode(0.04)) == pytest.approx(0.04 / 12.92, abs=1e-15)


def test_the_knee_joins_both_branches() -> None:
    knee = srgb.LINEAR_KNEE
    power = 1.055 * knee ** (1 / 2.4) - 0.055
    assert 12.92 * knee == pytest.approx(power, abs=1e-7)
    assert float(srgb_encode(knee)) == pytest.approx(srgb.ENCODED_KNEE, abs=1e-6)
    x = np.linspace(0.0, 1.0, 10001)
    np.testing.assert_allclose(srgb_decode(srgb_encode(x)), x, atol=1e-12)


def test_uint8_known_answers() -> None:
    lin = np.array([0.5, srgb.LINEAR_KNEE, 1.0, 0.0, 0.001, 0.18, -0.3, 4.0], np.float32)
    np.testing.assert_array_equal(encode_srgb(lin), [188, 10, 255, 0, 3, 118, 0, 255])


def test_fast_encoder_matches_the_exact_curve() -> None:
    x = np.linspace(-0.01, 1.01, 1_000_001, dtype=np.float32)
    exact = np.rint(255.0 * srgb_encode(x.astype(np.float64)))
    got = encode_srgb(x).astype(float)
    assert np.abs(got - exact).max() <= 1.0
    assert (got != exact).mean() < 1e-3         # off by one only at rounding boundaries
    assert (np.diff(got) >= 0).all()            # monotonic


def test_every_code_round_trips_through_linear() -> None:
    # A material lit at full scale reproduces its nominal colour exactly.
    codes = np.arange(256)
    np.testing.assert_array_equal(encode_srgb(linear_colors(codes / 255.0)), codes)


def test_image_shape_and_input_untouched() -> None:
    img = np.random.default_rng(0).random((4, 5, 3), dtype=np.float32)
    before = img.copy()
    out = encode_srgb(img)
    assert out.shape == (4, 5, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(img, before)
    into = np.empty((4, 5, 3), np.uint8)
    assert encode_srgb(img, into) is into
    np.testing.assert_array_equal(into, out)


def test_numpy_fallback_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.linspace(0.0, 1.0, 100_001, dtype=np.float32)
    fast = encode_srgb(x).astype(int)
    monkeypatch.setattr(srgb, "_ENCODE_U8", None)
    slow = encode_srgb(x).astype(int)
    np.testing.assert_array_equal(slow, np.rint(255.0 * srgb_encode(x.astype(np.float64))))
    assert np.abs(fast - slow).max() <= 1 and (fast != slow).mean() < 1e-3
