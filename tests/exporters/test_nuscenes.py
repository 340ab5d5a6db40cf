"""nuScenes export, read back by the real nuscenes-devkit (``tests/exporters/devkit.py``).

One dataset of 2 episodes x 4 frames of the small scenario is exported once per module and
read by one devkit script, whose answers the tests check against our ground truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exporters.base import FORMATS
from exporters.files import npz_bytes
from exporters.formats.nuscenes import FRAGMENT_DIR, channel_names
from exporters.formats.nuscenes_labels import points_in_box_count
from exporters.formats.nuscenes_tables import (
    VERSION,
    attribute_of,
    quaternion_wxyz,
    token,
    visibility_token,
)
from exporters.frame import ObjectState, label_of
from exporters.job import plan_job, world_for
from simulator.pose import rpy_to_matrix
from simulator.scene.semantics import CLASS_NAMES, SEMANTIC_CLASSES
from tests.exporters.conftest import small_scenario
from tests.exporters.devkit import run_devkit

TABLES = ("category", "attribute", "visibility", "instance", "sensor", "calibrated_sensor",
          "ego_pose", "log", "scene", "sample", "sample_data", "sample_annotation", "map")
# What the test expects each semantic class to be in nuScenes-lidarseg (objects with a box
# label take their box category instead).
EXPECTED_POINT_CLASS = {
    "none": "noise", "ground": "flat.terrain", "road": "flat.driveable_surface",
    "lane_marking": "flat.driveable_surface", "sidewalk": "flat.sidewalk",
    "building": "static.manmade", "wall": "movable_object.barrier", "pole": "static.manmade",
    "traffic_sign": "static.manmade", "traffic_light": "static.manmade",
    "vegetation": "static.vegetation", "vehicle": "vehicle.car",
    "static_object": "movable_object.pushable_pullable",
    "pedestrian": "human.pedestrian.adult", "cyclist": "vehicle.bicycle",
    "truck": "vehicle.truck", "bus": "vehicle.bus.rigid", "debris": "movable_object.debris",
    "motorcyclist": "vehicle.motorcycle", "rain": "noise",
}


def export(job, order=None):
    """Export every episode of ``job`` (in ``order``); the frames by episode index."""
    captured = {}
    with world_for(job) as (world, frames):
        for k in (order or range(len(job.episodes))):
            ep = job.episodes[k]
            exp = FORMATS["nuscenes"](job)
            exp.open(ep, world)
            captured[k] = []
            for f in frames(ep):
                exp.write(f)
                captured[k].append(f)
            exp.close()
    FORMATS["nuscenes"].finalize(job)
    return captured


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """``(job, frames by episode)`` of an exported 2-episode dataset."""
    job = plan_job(small_scenario(), tmp_path_factory.mktemp("nuscenes"), n_frames=4,
                   episodes=2, seed=7)
    return job, export(job)


DEVKIT_SCRIPT = r"""
import json, os, sys
import numpy as np
from nuscenes.nuscenes import NuScenes
from nuscenes.utils.data_classes import LidarPointCloud
from nuscenes.utils.geometry_utils import points_in_box
from nuscenes.utils.data_io import load_bin_file

root, version, out = sys.argv[1], sys.argv[2], sys.argv[3]
nusc = NuScenes(version=version, dataroot=root, verbose=False)
res = {"rows": {t: len(getattr(nusc, t)) for t in nusc.table_names}}

boxes, counts, n_boxes = {}, [], {}
for s in nusc.sample:
    for ch in ("CAM_FRONT", "LIDAR_TOP"):
        path, bxs, _ = nusc.get_sample_data(s["data"][ch])
        n_boxes[ch] = n_boxes.get(ch, 0) + len(bxs)
        if ch == "LIDAR_TOP":
            pc = LidarPointCloud.from_file(path)
            for b in bxs:
                boxes[b.token] = {"center": b.center.tolist(), "wlh": b.wlh.tolist(),
                                  "rotation": b.rotation_matrix.tolist()}
                ann = nusc.get("sample_annotation", b.token)
                counts.append([int(points_in_box(b, pc.points[:3]).sum()),
                               ann["num_lidar_pts"]])
res.update(boxes=boxes, counts=counts, n_boxes=n_boxes)

labels = {}
for s in nusc.sample:
    sd = s["data"]["LIDAR_TOP"]
    seg = load_bin_file(os.path.join(root, nusc.get("lidarseg", sd)["filename"]), "lidarseg")
    pan = load_bin_file(os.path.join(root, nusc.get("panoptic", sd)["filename"]), "panoptic")
    sd_file = os.path.join(root, nusc.get("sample_data", sd)["filename"])
    n_pts = LidarPointCloud.from_file(sd_file).nbr_points()
    labels[sd] = {"lidarseg": [nusc.lidarseg_idx2name_mapping[int(i)] for i in seg],
                  "panoptic": pan.astype(int).tolist(), "n_points": n_pts}
nusc.get_sample_lidarseg_stats(nusc.sample[0]["token"], sort_by="count")
nusc.get_sample_lidarseg_stats(nusc.sample[0]["token"], sort_by="count", gt_from="panoptic")
res["labels"] = labels

s0 = nusc.sample[0]
renders = []
for ch in ("LIDAR_TOP", "CAM_FRONT"):
    p = os.path.join(out, ch + ".png")
    nusc.render_sample_data(s0["data"][ch], out_path=p, verbose=False)
    renders.append(p)
p = os.path.join(out, "lidarseg.png")
nusc.render_sample_data(s0["data"]["LIDAR_TOP"], with_anns=False, show_lidarseg=True,
                        out_path=p, verbose=False)
renders.append(p)
p = os.path.join(out, "sample.png")
nusc.render_sample(s0["token"], out_path=p, verbose=False)
renders.append(p)
res["renders"] = renders

from nuscenes.eval.common.config import config_factory
from nuscenes.eval.detection.evaluate import DetectionEval
from nuscenes.eval.detection.utils import category_to_detection_name
results, gt_classes = {}, set()
for s in nusc.sample:
    preds = []
    for t in s["anns"]:
        a = nusc.get("sample_annotation", t)
        name = category_to_detection_name(a["category_name"])
        if name is None or a["num_lidar_pts"] == 0:
            continue
        gt_classes.add(name)
        v = nusc.box_velocity(t)[:2]
        attr = [nusc.get("attribute", x)["name"] for x in a["attribute_tokens"]]
        preds.append({"sample_token": s["token"], "translation": a["translation"],
                      "size": a["size"], "rotation": a["rotation"],
                      "velocity": [0.0, 0.0] if np.isnan(v).any() else v.tolist(),
                      "detection_name": name, "detection_score": 1.0,
                      "attribute_name": attr[0] if attr else ""})
    results[s["token"]] = preds
rp = os.path.join(out, "results.json")
with open(rp, "w") as f:
    json.dump({"meta": {"use_camera": False, "use_lidar": True, "use_radar": False,
                        "use_map": False, "use_external": False}, "results": results}, f)
ev = DetectionEval(nusc, config_factory("detection_cvpr_2019"), rp, eval_set=sys.argv[4],
                   output_dir=out, verbose=False)
summary = ev.main(plot_examples=0, render_curves=False)
res["eval"] = {"class_aps": {c: summary["mean_dist_aps"][c] for c in sorted(gt_classes)},
               "n_gt": len(ev.gt_boxes.all), "n_pred": len(ev.pred_boxes.all)}
print(json.dumps(res))
"""


@pytest.fixture(scope="module")
def devkit(dataset, tmp_path_factory):
    """What the devkit read from the dataset (see ``DEVKIT_SCRIPT``)."""
    job, _ = dataset
    out = tmp_path_factory.mktemp("devkit")
    return run_devkit(DEVKIT_SCRIPT, str(job.out_dir), VERSION, str(out), "all")


def table(job, name):
    return json.loads((Path(job.out_dir) / VERSION / f"{name}.json").read_text())


def test_devkit_loads_all_tables(dataset, devkit):
    job, frames = dataset
    rows = devkit["rows"]
    for name in TABLES + ("lidarseg", "panoptic"):
        assert rows[name] == len(table(job, name)), name
    n_samples = sum(len(f) for f in frames.values())
    assert rows["scene"] == rows["log"] == 2
    assert rows["sample"] == rows["lidarseg"] == rows["panoptic"] == n_samples
    assert rows["sample_data"] == rows["ego_pose"] == 2 * n_samples  # CAM_FRONT, LIDAR_TOP
    assert rows["sensor"] == 2 and rows["calibrated_sensor"] == 4
    assert rows["category"] == 32 and rows["attribute"] == 8 and rows["visibility"] == 4
    assert rows["map"] == 1 and len(table(job, "map")[0]["log_tokens"]) == 2
    assert rows["sample_annotation"] > 0 and rows["instance"] > 0
    assert devkit["n_boxes"]["CAM_FRONT"] > 0 and devkit["n_boxes"]["LIDAR_TOP"] > 0


def test_devkit_boxes_equal_gt(dataset, devkit):
    job, frames = dataset
    checked = 0
    for k, eframes in frames.items():
        for f in eframes:
            lidar = f.measurements["roof_lidar"]
            sensor_from_world = np.linalg.inv(lidar.pose.matrix)
            for obj in f.labelled_objects():
                tok = token(f"episode {k} sample {f.index} annotation {obj.instance_id}")
                box = devkit["boxes"].get(tok)
                if box is None:
                    continue
                center = sensor_from_world[:3, :3] @ obj.center + sensor_from_world[:3, 3]
                rot = sensor_from_world[:3, :3] @ rpy_to_matrix(0.0, 0.0, obj.yaw)
                np.testing.assert_allclose(box["center"], center, atol=1e-4)
                np.testing.assert_allclose(box["wlh"], obj.size_lwh[[1, 0, 2]], atol=1e-4)
                np.testing.assert_allclose(box["rotation"], rot, atol=1e-4)
                checked += 1
    assert checked == len(devkit["boxes"]) > 0


def test_num_lidar_pts_is_devkit_points_in_box(devkit):
    counts = np.array(devkit["counts"])
    assert len(counts) > 0 and counts[:, 0].max() > 0
    np.testing.assert_array_equal(counts[:, 0], counts[:, 1])


def test_devkit_renders(devkit):
    for p in devkit["renders"]:
        assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", p


def test_detection_eval_of_gt_is_perfect(devkit):
    ev = devkit["eval"]
    assert ev["n_gt"] > 0 and ev["n_pred"] == ev["n_gt"]
    assert ev["class_aps"] and all(ap == pytest.approx(1.0) for ap in ev["class_aps"].values())


def test_lidarseg_and_panoptic_labels_are_our_gt(dataset, devkit):
    job, frames = dataset
    channel = {v: k for k, v in channel_names(job.calibration).items()}["LIDAR_TOP"]
    for k, eframes in frames.items():
        numbers: dict[int, int] = {}
        for f in eframes:
            sd = token(f"episode {k} sample_data LIDAR_TOP "
                       f"{job.episodes[k].timestamp_us(f.time_s)}")
            got = devkit["labels"][sd]
            gt = f.measurements[channel].gt
            boxed = {o.instance_id: label_of(o, "nuscenes") for o in f.objects
                     if label_of(o, "nuscenes")}
            rain = SEMANTIC_CLASSES["rain"]
            expected = [EXPECTED_POINT_CLASS[CLASS_NAMES[int(s)]] if s == rain else
                        boxed.get(int(i), EXPECTED_POINT_CLASS[CLASS_NAMES[int(s)]])
                        for s, i in zip(gt["semantic"], gt["instance_id"])]
            assert got["n_points"] == len(expected)
            assert got["lidarseg"] == expected
            pan = np.array(got["panoptic"])
            seg_index = pan // 1000
            thing = (seg_index > 0) & (seg_index < 24)
            assert np.all(pan[~thing] % 1000 == 0) and np.all(pan[thing] % 1000 > 0)
            for iid, num in zip(gt["instance_id"][thing].tolist(), (pan[thing] % 1000).tolist()):
                assert numbers.setdefault(iid, num) == num   # one number per object per scene
        assert len(set(numbers.values())) == len(numbers)


def test_any_episode_order_gives_the_same_bytes(dataset, tmp_path):
    job, _ = dataset
    job_b = plan_job(small_scenario(), tmp_path, n_frames=4, episodes=2, seed=7)
    export(job_b, order=[1, 0])
    a_root, b_root = Path(job.out_dir), Path(tmp_path)
    files_a = sorted(p.relative_to(a_root) for p in a_root.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b_root) for p in b_root.rglob("*") if p.is_file())
    assert files_a == files_b
    assert any(str(p).startswith(str(FRAGMENT_DIR)) for p in files_a)
    for rel in files_a:
        assert (a_root / rel).read_bytes() == (b_root / rel).read_bytes(), rel


def test_annotation_links_and_instances(dataset):
    job, _ = dataset
    anns = {a["token"]: a for a in table(job, "sample_annotation")}
    for inst in table(job, "instance"):
        chain, tok = [], inst["first_annotation_token"]
        while tok:
            chain.append(anns[tok])
            tok = anns[tok]["next"]
        assert len(chain) == inst["nbr_annotations"]
        assert chain[-1]["token"] == inst["last_annotation_token"]
        assert {a["instance_token"] for a in chain} == {inst["token"]}
    for a in anns.values():
        assert len(a["attribute_tokens"]) <= 1
        assert a["visibility_token"] in {"1", "2", "3", "4"}


def test_small_helpers():
    rot = rpy_to_matrix(0.1, -0.2, 2.5)
    w, x, y, z = quaternion_wxyz(rot)
    back = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    np.testing.assert_allclose(back, rot, atol=1e-12)
    assert [visibility_token(v) for v in (0.0, 0.4, 0.41, 0.6, 0.79, 0.81, 1.0)] == \
        ["1", "1", "2", "2", "3", "4", "4"]
    assert npz_bytes({"data": np.arange(5, dtype=np.uint16)}) == \
        npz_bytes({"data": np.arange(5, dtype=np.uint16)})


SWEEPS_SCRIPT = r"""
import json, sys
from nuscenes.nuscenes import NuScenes
from nuscenes.utils.data_classes import LidarPointCloud
nusc = NuScenes(version=sys.argv[2], dataroot=sys.argv[1], verbose=False)
s = nusc.sample[-1]
pc, times = LidarPointCloud.from_file_multisweep(nusc, s, "LIDAR_TOP", "LIDAR_TOP", nsweeps=2)
chains = {}
for ch, tok in s["data"].items():
    n = 0
    while tok:
        n, tok = n + 1, nusc.get("sample_data", tok)["prev"]
    chains[ch] = n
print(json.dumps({"channels": sorted(s["data"]), "n_points": pc.nbr_points(),
                  "n_times": len(set(times[0].round(6).tolist())), "chains": chains}))
"""


def test_sweeps_and_second_camera(tmp_path):
    """A 20 Hz lidar beside 10 Hz cameras: one sweep between key frames, which the devkit's
    multi-sweep loader stacks; a second camera is its scenario name upper-cased."""
    scenario = small_scenario()
    sensors = list(scenario.sensors)
    rear = sensors[0].model_copy(update={"name": "rear_camera"})
    lidar = next(s for s in sensors if s.type == "lidar")
    sensors[sensors.index(lidar)] = lidar.model_copy(update={"rate_hz": 20.0})
    scenario = scenario.model_copy(update={"sensors": [*sensors, rear]})
    job = plan_job(scenario, tmp_path, n_frames=3, episodes=1, seed=7)
    frames = export(job)[0]
    assert channel_names(job.calibration) == {"front_camera": "CAM_FRONT",
                                              "roof_lidar": "LIDAR_TOP",
                                              "rear_camera": "REAR_CAMERA"}
    sweeps = sorted((tmp_path / "sweeps" / "LIDAR_TOP").iterdir())
    assert len(sweeps) == len(frames) - 1
    got = run_devkit(SWEEPS_SCRIPT, str(tmp_path), VERSION)
    assert got["channels"] == ["CAM_FRONT", "LIDAR_TOP", "REAR_CAMERA"]
    assert got["chains"] == {"CAM_FRONT": 3, "REAR_CAMERA": 3, "LIDAR_TOP": 5}
    assert got["n_times"] == 2


def test_lidar_file_is_x_y_z_intensity_ring(dataset):
    job, frames = dataset
    f = frames[0][1]
    meas = f.measurements["roof_lidar"]
    ts = job.episodes[0].timestamp_us(f.time_s)
    path = Path(job.out_dir) / "samples" / "LIDAR_TOP" / f"episode_0000__LIDAR_TOP__{ts}.pcd.bin"
    cloud = np.fromfile(path, np.float32).reshape(-1, 5)
    np.testing.assert_array_equal(cloud[:, 4], meas.data["ring"])
    np.testing.assert_allclose(cloud[:, 3], 255.0 * meas.data["intensity"], rtol=1e-6)
    # De-skewed measured points: within the range noise of the exact ones (mixed pixels
    # lie between two surfaces).
    err_m = np.linalg.norm(cloud[:, :3] - meas.gt["points_deskewed"], axis=1)
    assert err_m[~meas.gt["mixed_pixel"]].max() < 0.5


def test_points_in_box_count_and_attributes():
    obj = ObjectState(5, "car_5", 11, "car", np.array([10.0, -2.0, 0.8]),
                      np.array([4.0, 2.0, 1.6]), 0.7, np.array([3.0, 0.0, 0.0]))
    rng = np.random.default_rng(0)
    world = rng.uniform([5, -7, -1], [15, 3, 3], size=(5000, 3))
    local = (world - obj.center) @ rpy_to_matrix(0.0, 0.0, obj.yaw)
    inside = np.all(np.abs(local) <= obj.size_lwh / 2, axis=1)
    world_from_sensor = np.eye(4)
    world_from_sensor[:3, :3] = rpy_to_matrix(0.0, 0.0, 0.3)
    world_from_sensor[:3, 3] = [1.0, 2.0, 1.9]
    sensor_from_world = np.linalg.inv(world_from_sensor)
    points = world @ sensor_from_world[:3, :3].T + sensor_from_world[:3, 3]
    assert points_in_box_count(points, sensor_from_world, obj) == inside.sum() > 0
    assert attribute_of("vehicle.car", 3.0) == "vehicle.moving"
    assert attribute_of("vehicle.truck", 0.1) == "vehicle.stopped"
    assert attribute_of("movable_object.barrier", 0.0) is None
