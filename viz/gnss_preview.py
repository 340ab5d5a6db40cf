"""Top-down preview of a GNSS run: true path vs fixes in local ENU metres (cv2 only).

Fixes are dots coloured by the number of satellites used (colour bar on the right); epochs
without a fix are red crosses on the true path. The title gives the fix count and the RMS
horizontal error.
"""

from __future__ import annotations

import cv2
import numpy as np

from sensors.base import Measurement

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_WHITE = (255, 255, 255)
_GRID = (225, 225, 225)
_AXIS_TEXT = (60, 60, 60)
_TRUTH = (90, 90, 90)
_NOFIX = (30, 30, 220)
_COLORMAP = cv2.COLORMAP_VIRIDIS


def _nice_step(span: float, target_ticks: int = 6) -> float:
    """A 1-2-5 x 10^k grid step giving about ``target_ticks`` lines over ``span``."""
    raw = span / max(target_ticks, 1)
    mag = 10.0 ** np.floor(np.log10(raw))
    for f in (1.0, 2.0, 5.0, 10.0):
        if f * mag >= raw:
            return float(f * mag)
    return float(10.0 * mag)


def _colors(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """BGR colours (N, 3) uint8 of ``values`` on the colour map between vmin and vmax."""
    x = np.clip((values - vmin) / max(vmax - vmin, 1e-9), 0.0, 1.0)
    idx = np.round(x * 255).astype(np.uint8).reshape(-1, 1)
    return cv2.applyColorMap(idx, _COLORMAP).reshape(-1, 3)


def _extract(measurements: list[Measurement]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    truth = np.array([m.gt["position_enu_m"] for m in measurements], np.float64)
    err = np.array([m.gt["error_enu_m"] for m in measurements], np.float64)
    nsat = np.array([m.data["num_satellites"] for m in measurements], np.float64)
    return truth[:, :2], truth[:, :2] + err[:, :2], nsat


def gnss_plot(measurements: list[Measurement], size_px: int = 800) -> np.ndarray:
    """Draw the true path (line) and the fixes (dots) of a GNSS run.

    Args:
        measurements: GNSS ``Measurement``s in time order (from ``sensors.gnss.Gnss``).
        size_px: side of the square image [px].

    Returns:
        (size_px, size_px, 3) BGR uint8 image.
    """
    img = np.full((size_px, size_px, 3), 255, np.uint8)
    k = size_px / 800.0
    fs, th = 0.45 * k, max(1, int(round(k)))
    if not measurements:
        cv2.putText(img, "no GNSS measurements", (int(20 * k), size_px // 2), _FONT,
                    2 * fs, _AXIS_TEXT, th, cv2.LINE_AA)
        return img
    truth, fix, nsat = _extract(measurements)
    has_fix = np.all(np.isfinite(fix), axis=1)

    left, right, top, bottom = int(70 * k), int(120 * k), int(50 * k), int(55 * k)
    w_px, h_px = size_px - left - right, size_px - top - bottom
    pts = np.concatenate([truth, fix[has_fix]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    center = (lo + hi) / 2.0
    span = max(float((hi - lo).max()) * 1.1, 10.0)
    scale = min(w_px, h_px) / span                                 # px per metre
    x0 = left + w_px / 2.0 - center[0] * scale
    y0 = top + h_px / 2.0 + center[1] * scale

    def to_px(xy: np.ndarray) -> np.ndarray:
        return np.stack([x0 + xy[:, 0] * scale, y0 - xy[:, 1] * scale], axis=1)

    # Grid and axis labels in metres.
    step = _nice_step(span)
    e_lo, e_hi = (left - x0) / scale, (left + w_px - x0) / scale
    n_lo, n_hi = (y0 - top - h_px) / scale, (y0 - top) / scale
    for e in np.arange(np.ceil(e_lo / step) * step, e_hi + 1e-9, step):
        px = int(round(x0 + e * scale))
        cv2.line(img, (px, top), (px, top + h_px), _GRID, 1)
        cv2.putText(img, f"{e:g}", (px - int(12 * k), top + h_px + int(18 * k)), _FONT, fs,
                    _AXIS_TEXT, th, cv2.LINE_AA)
    for n in np.arange(np.ceil(n_lo / step) * step, n_hi + 1e-9, step):
        py = int(round(y0 - n * scale))
        cv2.line(img, (left, py), (left + w_px, py), _GRID, 1)
        cv2.putText(img, f"{n:g}", (int(8 * k), py + int(5 * k)), _FONT, fs, _AXIS_TEXT, th,
                    cv2.LINE_AA)
    cv2.rectangle(img, (left, top), (left + w_px, top + h_px), _AXIS_TEXT, 1)
    cv2.putText(img, "east [m]", (left + w_px // 2 - int(30 * k), size_px - int(12 * k)),
                _FONT, fs, _AXIS_TEXT, th, cv2.LINE_AA)
    cv2.putText(img, "north [m]", (int(8 * k), top - int(10 * k)), _FONT, fs, _AXIS_TEXT,
                th, cv2.LINE_AA)

    # Truth path, fixes, missing fixes.
    tp = np.round(to_px(truth)).astype(np.int32)
    vmin, vmax = 4.0, max(12.0, float(nsat.max()))
    cols = _colors(nsat, vmin, vmax)
    fp = np.round(to_px(np.where(has_fix[:, None], fix, 0.0))).astype(np.int32)
    radius = max(2, int(round(3.5 * k)))
    for i in np.nonzero(has_fix)[0]:
        cv2.circle(img, tuple(int(v) for v in fp[i]), radius, tuple(int(c) for c in cols[i]),
                   -1, cv2.LINE_AA)
    # The path goes on top of the dots so it stays visible where fixes crowd it.
    if len(tp) > 1:
        cv2.polylines(img, [tp.reshape(-1, 1, 2)], False, _TRUTH, max(2, th), cv2.LINE_AA)
    arm = max(3, int(round(5 * k)))
    for i in np.nonzero(~has_fix)[0]:
        x, y = int(tp[i, 0]), int(tp[i, 1])
        cv2.line(img, (x - arm, y - arm), (x + arm, y + arm), _NOFIX, th, cv2.LINE_AA)
        cv2.line(img, (x - arm, y + arm), (x + arm, y - arm), _NOFIX, th, cv2.LINE_AA)

    # Colour bar: satellites used.
    bx, bw = size_px - right + int(35 * k), int(22 * k)
    bar_h = h_px
    ramp = np.linspace(vmax, vmin, bar_h)
    img[top:top + bar_h, bx:bx + bw] = _colors(ramp, vmin, vmax)[:, None, :]
    cv2.rectangle(img, (bx, top), (bx + bw, top + bar_h), _AXIS_TEXT, 1)
    tick = max(1.0, _nice_step(vmax - vmin, 5))
    for v in np.arange(vmin, vmax + 1e-9, tick):
        py = int(round(top + (vmax - v) / (vmax - vmin) * (bar_h - 1)))
        cv2.line(img, (bx + bw, py), (bx + bw + int(5 * k), py), _AXIS_TEXT, 1)
        cv2.putText(img, f"{v:g}", (bx + bw + int(8 * k), py + int(5 * k)), _FONT, fs,
                    _AXIS_TEXT, th, cv2.LINE_AA)
    cv2.putText(img, "sats used", (bx - int(30 * k), top - int(10 * k)), _FONT, fs,
                _AXIS_TEXT, th, cv2.LINE_AA)

    # Legend and title.
    lx, ly = left + int(12 * k), top + int(20 * k)
    cv2.rectangle(img, (lx - int(6 * k), ly - int(14 * k)),
                  (lx + int(130 * k), ly + int(50 * k)), _WHITE, -1)
    cv2.rectangle(img, (lx - int(6 * k), ly - int(14 * k)),
                  (lx + int(130 * k), ly + int(50 * k)), _AXIS_TEXT, 1)
    cv2.line(img, (lx, ly - int(4 * k)), (lx + int(24 * k), ly - int(4 * k)), _TRUTH,
             max(2, th), cv2.LINE_AA)
    cv2.putText(img, "true path", (lx + int(32 * k), ly), _FONT, fs, _AXIS_TEXT, th,
                cv2.LINE_AA)
    mid = tuple(int(c) for c in _colors(np.array([(vmin + vmax) / 2]), vmin, vmax)[0])
    cv2.circle(img, (lx + int(12 * k), ly + int(16 * k)), radius, mid, -1, cv2.LINE_AA)
    cv2.putText(img, "fix", (lx + int(32 * k), ly + int(20 * k)), _FONT, fs, _AXIS_TEXT, th,
                cv2.LINE_AA)
    cx, cy = lx + int(12 * k), ly + int(36 * k)
    cv2.line(img, (cx - arm, cy - arm), (cx + arm, cy + arm), _NOFIX, th, cv2.LINE_AA)
    cv2.line(img, (cx - arm, cy + arm), (cx + arm, cy - arm), _NOFIX, th, cv2.LINE_AA)
    cv2.putText(img, "no fix", (lx + int(32 * k), ly + int(40 * k)), _FONT, fs, _AXIS_TEXT,
                th, cv2.LINE_AA)
    herr = np.linalg.norm(fix[has_fix] - truth[has_fix], axis=1)
    rms = f"{np.sqrt(np.mean(herr ** 2)):.2f} m" if len(herr) else "n/a"
    title = (f"GNSS {measurements[0].sensor}: {int(has_fix.sum())}/{len(measurements)} "
             f"fixes, RMS horizontal error {rms}")
    cv2.putText(img, title, (left, int(22 * k)), _FONT, 1.2 * fs, (0, 0, 0), th, cv2.LINE_AA)
    return img
