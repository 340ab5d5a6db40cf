"""Camera previews of the bundled scenarios for the README (docs/images/scenario_*.png).

``python docs/make_previews.py NAME T [SENSOR]`` drives scenario ``scenarios/NAME.yaml``
(without sensors) to T simulated seconds, then captures the front camera once (RGB with
GT boxes) into ``docs/images/scenario_NAME.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scenarios import load  # noqa: E402
from sensors import Rig  # noqa: E402
from simulator.world import World  # noqa: E402
from viz.camera_preview import rgb_with_boxes  # noqa: E402


def main(name: str, t_s: float, sensor: str = "front_camera") -> Path:
    sc = load(ROOT / "scenarios" / f"{name}.yaml")
    cams = [s for s in sc.sensors if s.name == sensor]
    with World(sc) as w:
        rig = Rig(cams, w.sensor_seed_seq)
        for _ in range(int(round(t_s / w.dt_s))):
            w.step()
        m = rig.capture(w, w.time_s)[sensor]
    out = ROOT / "docs" / "images" / f"scenario_{name}.png"
    img = rgb_with_boxes(m)
    cv2.imwrite(str(out), cv2.resize(img, (640, 360), interpolation=cv2.INTER_AREA))
    return out


if __name__ == "__main__":
    print(main(sys.argv[1], float(sys.argv[2]), *sys.argv[3:]))
