"""Import pybullet without its build banner (it would clutter CLI output and JSON)."""

from __future__ import annotations

import os
import sys


def _flush_c_stdio() -> None:
    """Flush C stdio buffers so the banner goes to /dev/null now, not at exit."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


def _import_quietly():
    try:
        fds = [sys.stdout.fileno(), sys.stderr.fileno()]
    except (AttributeError, OSError, ValueError):  # no real streams (e.g. captured)
        import pybullet
        return pybullet
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(fd) for fd in fds]
    try:
        with open(os.devnull, "w") as null:
            for fd in fds:
                os.dup2(null.fileno(), fd)
            import pybullet
            _flush_c_stdio()
    finally:
        for fd, keep in zip(fds, saved):
            os.dup2(keep, fd)
            os.close(keep)
    return pybullet


p = _import_quietly()
