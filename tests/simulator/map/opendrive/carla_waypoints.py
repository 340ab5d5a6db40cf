"""Every waypoint CARLA builds from an OpenDRIVE file, as JSON, in OpenDRIVE's own frame.

Run with the side venv's interpreter (``make carla-venv``), not the project's::

    .venv-carla/bin/python tests/simulator/map/opendrive/carla_waypoints.py \
        FILE.xodr SPACING_M [OUT.json]

``carla.Map(name, xodr_text)`` parses the file and builds its waypoints without a CARLA
server. CARLA's frame is left-handed: its ``Location.y`` is OpenDRIVE's ``-y`` and its yaw is
``-heading`` (degrees); x and z are OpenDRIVE's. Both are flipped back here, so the output
is in the file's frame: one record per waypoint of ``generate_waypoints(spacing)`` (the
centre line of every driving lane, every ``spacing`` metres; ``generated`` true), then of
every other lane beside one of those at the same ``s``, reached by ``get_left_lane`` /
``get_right_lane`` (sidewalks, shoulders, borders, ...; ``generated`` false). Each has
``road_id``, ``section_id``, ``lane_id``, ``s`` [m], ``lane_type``, ``lane_width`` [m],
``x``, ``y``, ``z`` [m] and ``heading`` [rad]. Written to OUT.json, or printed as one line
on stdout.

Only the standard library and ``carla``: this file is never imported by the project.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path


def _key(wp) -> tuple:
    return wp.road_id, wp.section_id, wp.lane_id, round(float(wp.s), 6)


def carla_waypoints(xodr_path: Path, spacing_m: float) -> dict:
    """The waypoints of ``xodr_path`` every ``spacing_m`` metres, in OpenDRIVE's frame."""
    import carla

    text = Path(xodr_path).read_text(encoding="utf-8")
    cmap = carla.Map(Path(xodr_path).stem, text)
    generated = cmap.generate_waypoints(spacing_m)
    seen = {_key(wp) for wp in generated}
    beside = []
    for wp in generated:
        for step in ("get_left_lane", "get_right_lane"):
            # Left of a lane of one direction is the other direction's lane, whose left
            # leads back: a walk ends at the road's edge or at a lane it has already met.
            walked = {wp.lane_id}
            other = getattr(wp, step)()
            while other is not None and other.lane_id not in walked:
                walked.add(other.lane_id)
                if _key(other) not in seen:
                    seen.add(_key(other))
                    beside.append(other)
                other = getattr(other, step)()
    records = []
    for wp in [*generated, *beside]:
        loc = wp.transform.location
        records.append({
            "generated": len(records) < len(generated),
            "road_id": int(wp.road_id),
            "section_id": int(wp.section_id),
            "lane_id": int(wp.lane_id),
            "s": float(wp.s),
            "lane_type": str(wp.lane_type),
            "lane_width": float(wp.lane_width),
            "x": float(loc.x),
            "y": -float(loc.y),
            "z": float(loc.z),
            "heading": -math.radians(float(wp.transform.rotation.yaw)),
        })
    return {"file": str(xodr_path), "spacing_m": spacing_m,
            "carla_version": getattr(carla, "__version__", "unknown"),
            "waypoints": records}


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    out = carla_waypoints(Path(argv[0]), float(argv[1]))
    text = json.dumps(out)
    if len(argv) == 3:
        Path(argv[2]).write_text(text, encoding="utf-8")
        print(json.dumps({"written": argv[2], "n": len(out["waypoints"])}))
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
