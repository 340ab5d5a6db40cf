"""Checked writes of a run's outputs: a file that cannot be written is an error naming it.

OpenCV reports little: ``cv2.imwrite`` returns True on a full disk (it ignores the failed
``fwrite``) and a ``VideoWriter`` drops frames silently. So images are encoded in memory
and written by Python (which raises on ``ENOSPC``), a video is checked to have opened and,
after release, to read back with every frame, and JSON is strict (no NaN or infinity).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np


class OutputError(Exception):
    """An output file could not be written (disk full, not writable, encoder failure).

    Attributes:
        path: the file.
        reason: why, in one line.
    """

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: cannot write: {reason}")
        self.path = Path(path)
        self.reason = reason


def _reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def write_bytes(path: Path, data: bytes) -> None:
    """Write a whole file, or raise :class:`OutputError`."""
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise OutputError(path, _reason(exc)) from None


def write_image(path: Path, image: np.ndarray) -> None:
    """Encode an image by its file extension (same bytes as ``cv2.imwrite``) and write it.

    Raises:
        OutputError: the encoder failed or the file could not be written.
    """
    try:
        ok, buf = cv2.imencode(Path(path).suffix, image)
    except cv2.error as exc:
        raise OutputError(path, "cannot encode the image: "
                          f"{str(exc).strip().splitlines()[-1]}") from None
    if not ok:
        raise OutputError(path, "cannot encode the image")
    write_bytes(path, buf.tobytes())


def write_json(path: Path, obj: Any) -> None:
    """Write strict JSON (indented, newline-terminated).

    Raises:
        OutputError: a value is NaN or infinite, or the file could not be written.
    """
    try:
        text = json.dumps(obj, indent=2, allow_nan=False) + "\n"
    except ValueError as exc:
        where = _non_finite(obj)
        reason = f"{where[0]} is {where[1]}" if where else str(exc)
        raise OutputError(path, f"not strict JSON: {reason}") from None
    write_bytes(path, text.encode("utf-8"))


def _non_finite(obj: Any, path: str = "") -> tuple[str, float] | None:
    """The first NaN or infinite float in nested dicts/lists, with its path."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return path or "<value>", obj
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) \
        if isinstance(obj, (list, tuple)) else ()
    for k, v in items:
        found = _non_finite(v, f"{path}[{k}]" if isinstance(k, int) else
                            f"{path}.{k}" if path else str(k))
        if found:
            return found
    return None


class TextOutput:
    """A text file open for writing whose write and close errors name the file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._f = open(self.path, "w", newline="", encoding="utf-8")
        except OSError as exc:
            raise OutputError(self.path, _reason(exc)) from None

    def write(self, text: str) -> int:
        try:
            return self._f.write(text)
        except OSError as exc:
            raise OutputError(self.path, _reason(exc)) from None

    def close(self) -> None:
        if self._f.closed:
            return
        try:
            self._f.close()
        except OSError as exc:
            raise OutputError(self.path, _reason(exc)) from None


class VideoOutput:
    """An mp4 (``mp4v``) video writer that fails loudly.

    Args:
        path: the file.
        fps: frame rate [Hz].
        frame_size: (width, height) [px] of every frame.

    Raises:
        OutputError: the writer did not open (folder missing, not writable, no codec).
    """

    def __init__(self, path: Path, fps: float, frame_size: tuple[int, int]):
        self.path = Path(path)
        self.frame_size = (int(frame_size[0]), int(frame_size[1]))
        self.frames = 0
        self._writer: cv2.VideoWriter | None = cv2.VideoWriter(
            str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), fps, self.frame_size)
        if not self._writer.isOpened():
            self._writer = None
            raise OutputError(self.path, "the video writer did not open")

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR frame of ``frame_size``."""
        if self._writer is None:
            raise OutputError(self.path, "the video is closed")
        self._writer.write(frame)
        self.frames += 1

    def release(self) -> None:
        """Finish the file without checking it (idempotent; for clean-up paths)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def close(self) -> None:
        """Finish the file and check that it reads back with every frame written.

        Raises:
            OutputError: the file is missing, unreadable or short (e.g. the disk filled up).
        """
        self.release()
        cap = cv2.VideoCapture(str(self.path))
        try:
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else -1
        finally:
            cap.release()
        if count != self.frames:
            got = "is unreadable" if count < 0 else f"has {count}"
            raise OutputError(self.path, f"{self.frames} frames written but the file {got}"
                              f"{'' if count < 0 else ' frames'} (disk full?)")
