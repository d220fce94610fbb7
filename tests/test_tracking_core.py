"""Issue 2: the tracking core on real faces."""

import cv2
import numpy as np
import pytest
from conftest import DATA, read_frames, run_cli, run_main, write_video

from facetrack.capture.model import MODEL_SHA256, load_model_bytes
from facetrack.capture.source import Frame, FrameSource
from facetrack.errors import FacetrackError
from facetrack.face import geometry
from facetrack.face import landmarks as L
from facetrack.face.pipeline import Tracker


def track_all(spec, **kw):
    with Tracker() as tracker:
        return list(tracker.run(FrameSource(spec, **kw)))


@pytest.fixture(scope="module")
def single_face():
    return track_all(str(DATA / "single_face.mp4"))


def test_bundled_model_is_verified():
    data, digest = load_model_bytes()
    assert digest == MODEL_SHA256 and len(data) == 3_758_596


def test_wrong_model_is_refused(tmp_path):
    fake = tmp_path / "fake.task"
    fake.write_bytes(b"not a model")
    with pytest.raises(FacetrackError, match="sha256"):
        load_model_bytes(fake)
    result = run_main("track", DATA / "single_face.jpg", "--out", tmp_path / "x.csv", "--model", fake)
    assert result.returncode == 2 and "sha256" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.integration
def test_single_face_found_and_anatomically_sane(single_face):
    found = [t for t in single_face if t.face.face_found]
    assert len(found) >= 0.95 * len(single_face)
    for t in found:
        xy = t.face.xy
        eyes_y = xy[[L.LEFT.iris_center, L.RIGHT.iris_center], 1].mean()
        assert eyes_y < xy[1, 1] < xy[L.UPPER_LIP_CENTER, 1] < xy[L.CHIN, 1]  # eyes, nose, mouth, chin
        # unmirrored camera frame: the patient's left eye is at larger image x
        assert xy[L.LEFT.iris_center, 0] > xy[L.RIGHT.iris_center, 0]
        assert t.norm.xyz[L.LEFT.iris_center, 0] > 0 > t.norm.xyz[L.RIGHT.iris_center, 0]


@pytest.mark.integration
def test_timestamps_from_index_and_fps(single_face):
    stamps = np.array([t.frame.timestamp_s for t in single_face])
    assert np.allclose(stamps, np.arange(len(stamps)) / 30.0)


@pytest.mark.integration
def test_mirrored_input_keeps_patient_sides(tmp_path, single_face):
    mirrored = write_video(
        tmp_path / "mirrored.avi", [f[:, ::-1] for f in read_frames(DATA / "single_face.mp4")], fourcc="MJPG"
    )
    flipped = track_all(str(mirrored), mirrored=True)
    a, b = single_face[10], flipped[10]
    assert b.face.face_found
    # the same physical eye is called left: in the mirrored file it sits at w - x
    w = b.face.resolution_wh[0]
    out = tmp_path / "m.csv"
    assert run_cli("track", mirrored, "--mirrored", "--out", out, "--max-frames", 12).returncode == 0
    import csv

    rows = list(csv.DictReader(open(out)))
    x_left_in_file = float(rows[10][f"x_{L.LEFT.iris_center}_px"])
    x_right_in_file = float(rows[10][f"x_{L.RIGHT.iris_center}_px"])
    assert x_left_in_file < x_right_in_file  # image sides swap ...
    assert abs(x_left_in_file - (w - a.face.xy[L.LEFT.iris_center, 0])) < 4  # ... patient sides do not
    # without --mirrored the tool cannot know, and it would call the other eye left
    assert abs(b.norm.xyz[L.LEFT.iris_center, 0] - a.norm.xyz[L.LEFT.iris_center, 0]) < 0.05


@pytest.mark.integration
def test_face_then_no_face(tmp_path):
    tracked = track_all(str(DATA / "face_noface.mov"))
    found = np.array([t.face.face_found for t in tracked])
    # 72 frames of a man, then cartoon frames: a llama may pass for a face once in a while
    assert found[:72].all() and found[80:].mean() < 0.05
    assert all(t.flags["no_face"] for t in tracked if not t.face.face_found)


@pytest.mark.integration
def test_no_face_video_flags_every_frame_and_says_so(tmp_path):
    out = tmp_path / "nf.csv"
    result = run_cli("track", DATA / "no_face.mp4", "--out", out)
    assert result.returncode == 1
    assert "no face was found" in result.stderr.strip().splitlines()[-1]
    import csv

    rows = list(csv.DictReader(open(out)))
    assert len(rows) > 90 and all(r["face_found"] == "0" and r["q_no_face"] == "1" for r in rows)


@pytest.mark.integration
def test_multi_face_follows_one_face_the_largest():
    tracked = track_all(str(DATA / "multi_face.jpg"), repeat=8)
    centres = np.array([t.face.xy.mean(axis=0) for t in tracked])
    assert all(t.face.n_faces >= 2 for t in tracked)
    assert np.ptp(centres, axis=0).max() < 5  # the same face every time


@pytest.mark.integration
def test_two_faces_swapping_places_keeps_the_same_person(tmp_path):
    """The patient (larger face) and a visitor swap sides half-way: facetrack keeps
    measuring the patient, not whoever now stands where the patient was."""
    patient = cv2.resize(cv2.imread(str(DATA / "astronaut.png"))[20:300, 100:380], (330, 330))
    visitor = cv2.resize(cv2.imread(str(DATA / "single_face.jpg")), (270, 270))
    frames = []
    for i in range(24):
        canvas = np.full((400, 800, 3), 90, np.uint8)
        left, right = (patient, visitor) if i < 12 else (visitor, patient)
        canvas[30 : 30 + left.shape[0], 30 : 30 + left.shape[1]] = left
        canvas[30 : 30 + right.shape[0], 770 - right.shape[1] : 770] = right
        frames.append(canvas)
    tracked = track_all(str(write_video(tmp_path / "swap.avi", frames, fourcc="MJPG")))
    assert all(t.face.n_faces == 2 for t in tracked)
    side = ["left" if t.face.xy[:, 0].mean() < 400 else "right" for t in tracked]
    assert side == ["left"] * 12 + ["right"] * 12, side


@pytest.mark.integration
def test_head_roll_and_pose_normalisation():
    image = cv2.imread(str(DATA / "single_face.jpg"))
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 15, 0.9)
    m[:, 2] += (25, -15)
    moved = cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    with Tracker() as tracker:
        a = tracker.process(Frame(image, 0.0, 0))
    with Tracker() as tracker:
        b = tracker.process(Frame(moved, 0.0, 0))
    assert abs((b.face.roll_deg - a.face.roll_deg) - 15) < 3
    # the frontal plane is where every measure is taken
    shift = np.linalg.norm(a.norm.xyz[:, :2] - b.norm.xyz[:, :2], axis=1) / a.norm.iod
    assert shift.mean() < 0.02


@pytest.mark.integration
def test_quality_flags_on_turned_and_cut_faces():
    image = cv2.imread(str(DATA / "single_face.jpg"))
    h, w = image.shape[:2]
    tilted = cv2.warpAffine(image, cv2.getRotationMatrix2D((w / 2, h / 2), 35, 1.0), (w, h))
    with Tracker() as tracker:
        t = tracker.process(Frame(tilted, 0.0, 0))
    assert t.face.face_found and t.flags["head_tilted"] and not t.usable
    cut = image[:, : w // 2 + 20]
    with Tracker() as tracker:
        t = tracker.process(Frame(np.ascontiguousarray(cut), 0.0, 0))
    assert not t.face.face_found or t.flags["out_of_frame"]
    small = cv2.resize(image, (w // 6, h // 6))
    with Tracker() as tracker:
        t = tracker.process(Frame(small, 0.0, 0))
    assert not t.face.face_found or t.flags["too_small"]


@pytest.mark.integration
def test_mm_scale_is_plausible(single_face):
    mm, how = geometry.mm_per_unit([t.norm for t in single_face])
    iod_mm = np.median([t.norm.iod for t in single_face if t.norm]) * mm
    assert how == "iris" and 50 < iod_mm < 75  # adult eye-centre distance


@pytest.mark.integration
def test_track_csv_columns(tmp_path):
    out = tmp_path / "t.csv"
    result = run_cli("track", DATA / "single_face.mp4", "--out", out)
    assert result.returncode == 0, result.stderr
    import csv

    reader = csv.reader(open(out))
    header = next(reader)
    assert header[:6] == ["frame", "timestamp_s", "face_found", "yaw_deg", "pitch_deg", "roll_deg"]
    assert "x_477_px" in header and "bs_jawOpen" in header
    rows = list(reader)
    assert len(rows) == 72 and all(len(r) == len(header) for r in rows)
    dictionary = list(csv.reader(open(tmp_path / "t.dictionary.csv")))
    assert [r[0] for r in dictionary[1:]] == header


@pytest.mark.integration
@pytest.mark.parametrize("case", ["missing", "text", "truncated_start", "truncated_part", "camera", "directory"])
def test_bad_sources_give_one_line_and_exit_2(tmp_path, case):
    frames = read_frames(DATA / "single_face.mp4")
    if case == "missing":
        src = tmp_path / "nope.mp4"
    elif case == "text":
        src = tmp_path / "notes.mp4"
        src.write_text("this is not a video\n" * 50)
    elif case == "truncated_start":  # mp4 with its index at the end: cut, it cannot open
        full = write_video(tmp_path / "full.mp4", frames)
        src = tmp_path / "cut.mp4"
        src.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    elif case == "truncated_part":  # avi: cut, it plays part-way
        full = write_video(tmp_path / "full.avi", frames, fourcc="MJPG")
        src = tmp_path / "cut.avi"
        src.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
    elif case == "camera":
        src = "7"
    else:
        src = tmp_path
    out = tmp_path / "o.csv"
    result = run_cli("track", src, "--out", out)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("facetrack: error:"), result.stderr
    if case == "truncated_part":
        assert "truncated" in lines[0]
        rows = open(out).read().splitlines()
        assert 30 < len(rows) - 1 < 72  # the frames read are kept
    if case == "camera":
        assert "camera 7" in lines[0] and "tried" in lines[0]
