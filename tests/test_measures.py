"""Issue 3: the catalogue, the measures, repetitions and symmetry, proven on ground truth."""

import csv
import math

import numpy as np
import pytest
from conftest import DATA, ROOT, cached_still_video, replay_measure, run_cli, synth_case

from facetrack.analysis.offline import run_analysis
from facetrack.analysis.reps import symmetry
from facetrack.errors import FacetrackError
from facetrack.face import landmarks as L
from facetrack.face.movements import CATALOGUE, MOVEMENT_IDS, get_movement
from facetrack.live.routine import parse_routine
from facetrack.tables import REP_SCHEMA

IDS = [
    "frown",
    "brow_raise",
    "eye_close_tight",
    "eye_close_alternate",
    "nostril_flare",
    "nostril_narrow",
    "nose_wrinkle",
    "lip_pucker_u",
    "lip_spread_i",
    "upper_lip_raise",
    "lower_lip_lower",
    "lip_hold",
]


def test_catalogue_has_exactly_the_programme():
    from facetrack.cli.main import MOVEMENT_IDS as PARSER_IDS

    assert list(MOVEMENT_IDS) == IDS == list(PARSER_IDS)  # the parser's copy (no numpy at start-up) too
    for m in CATALOGUE.values():
        assert m.name and m.instruction and m.regions and m.measure_name and m.direction in (1, -1)
    with pytest.raises(FacetrackError, match="unknown movement"):
        get_movement("smile_big")


def test_routine_accepts_only_catalogue_movements():
    assert parse_routine('[[movement]]\nid = "frown"\nreps = 4', "r").steps[0].reps == 4
    for bad, msg in (
        ('[[movement]]\nid = "wink"', "unknown movement"),
        ('[[movement]]\nid = "frown"\nreps = -2', "outside"),
        ('[[movement]]\nid = "frown"\nreps = 100000', "outside"),
        ("[[movement", "not valid TOML"),
        ('name = "x"', "no \\[\\[movement\\]\\]"),
    ):
        with pytest.raises(FacetrackError, match=msg):
            parse_routine(bad, "r")


@pytest.mark.integration
@pytest.mark.parametrize("movement_id", IDS)
def test_each_measure_sees_its_own_movement_on_its_own_side(base_face, movement_id):
    """Moving the landmarks the way the generator does changes this side's measure by the
    imposed amount and leaves the other side alone."""
    from calibration.synth import true_change

    mv = get_movement(movement_id)
    for side, other in (("left", "right"), ("right", "left")):
        assert true_change(movement_id, side, base_face, 0.1) > 0.01  # correct direction, real size
        from calibration.synth import displacement

        moved = base_face.norm_xyz.copy()
        for i, vec in displacement(movement_id, side, base_face).items():
            moved[i, :2] += 0.1 * vec
        assert abs(float(mv.change(moved, base_face.norm_xyz, other))) < 1e-9


def test_symmetry_rules():
    s = symmetry(0.01, 0.012, floor=0.5)
    assert s.status == "no movement" and math.isnan(s.symmetry_pct) and s.weaker_side == "none"
    s = symmetry(2.0, 4.0, floor=0.5, affected="right")
    assert s.symmetry_pct == pytest.approx(50) and s.weaker_side == "left" and s.affected_pct == pytest.approx(200)
    assert symmetry(4.0, 4.1, floor=0.5).weaker_side == "none"
    # a lid closing 80% as far as the other: weaker although the gap is under the movement floor
    assert symmetry(4.0, 5.0, floor=1.5, noise=0.3).weaker_side == "left"
    assert symmetry(4.0, 5.0, floor=1.5, noise=1.2).weaker_side == "none"  # within rest jitter
    assert symmetry(4.6, 5.0, floor=0.5, noise=0.1).weaker_side == "none"  # within 10%: same


def test_amplitude_is_change_from_the_recordings_own_rest():
    """A recording whose reading sits off zero at rest (the skin reference frame's noise does
    that, differently each time) reads the same repetitions as one that sits at zero: a
    weaker side of 3% of IOD against 6% is 50% symmetric whatever the resting offset."""
    from facetrack.analysis.meter import Neutral, Series, results_from_series

    iod = 1.0
    t = np.arange(0, 8, 1 / 30)
    bump = np.clip(1.5 - np.abs(t - 4.5) / 0.5, 0.0, 1.0)  # one repetition held 2 s, rest before it
    rng = np.random.default_rng(0)
    offsets = {"left": 0.003, "right": -0.002}  # x IOD; 0.3% is what a reference frame put in
    raw = {
        s: offsets[s] + amp * bump + 0.0002 * rng.standard_normal(t.size)
        for s, amp in (("left", 0.03), ("right", 0.06))
    }
    series = Series(
        t,
        np.ones(t.size, bool),
        {k: raw for k in ("mesh", "flow", "fused")},
        {s: {r: np.zeros(t.size) for r in L.REGIONS} for s in L.SIDES},
    )
    neutral = Neutral(np.zeros((L.N_LANDMARKS, 3)), 60.0, "iris", iod)
    a = results_from_series(get_movement("lip_spread_i"), neutral, series, rest_s=1.5)
    assert len(a.reps) == 1
    r = a.reps[0]
    assert a.pct_iod(r.amplitude["left"]) == pytest.approx(3.0, abs=0.1)
    assert a.pct_iod(r.amplitude["right"]) == pytest.approx(6.0, abs=0.1)
    assert r.symmetry.symmetry_pct == pytest.approx(50.0, abs=2.0) and r.symmetry.weaker_side == "left"


# A known miss, kept strict with its figure: the day it passes, the xfail must go.
@pytest.mark.xfail(strict=True, reason="the 35% sample 'i' reads 45% (estimator 11): the strong corner is read short")
def test_a_weak_sides_i_spread_is_read_near_its_truth():
    """The demo's first "i" spread (sample_videos/week1_lip_spread_i.mp4, generated: the
    patient's left at 0.35 of the right, true symmetry 35%), its faces replayed
    (tests/data/week1_lip_spread_i.npz), every second frame after the rest.  Bound: every
    repetition within 5 points of the truth, the left named weaker.  Estimator 9 reads the
    first repetition 45%: the dense skin residual at the strong mouth corner is rejected and
    the mesh, standing there, reads the corner at about half its amplitude.  A point tracker
    at such corners read it 37-39% and passed, but read a real chimera's frozen half moving
    (7% -> 17%) and was not kept (calibration/VALIDATION.md, "A point tracker at the mouth
    corners tried")."""
    import json

    truth = json.loads((ROOT / "sample_videos" / "samples.json").read_text())["week1_lip_spread_i.mp4"]
    a = replay_measure(
        ROOT / "sample_videos" / "week1_lip_spread_i.mp4", DATA / "week1_lip_spread_i.npz", "lip_spread_i", rest_s=1.0
    )
    assert len(a.reps) == truth["n_reps"]
    for r in a.reps:
        assert abs(r.symmetry.symmetry_pct - truth["true_symmetry_pct"]) <= 5.0, (r.symmetry, truth)
        assert r.symmetry.weaker_side == truth["weak_side"], r.symmetry


GROUND_TRUTH = [  # a small subset of calibration/validate.py, locked in; tolerance in points
    ("brow_raise", 0.5, "left", 8),
    ("nostril_flare", 0.5, "right", 8),
    # the eye is the weakest measure (validated errors +4 to +17: the stronger lid's closure is
    # under-read); 2-repetition videos here read the 0.25 case at +8.4
    ("eye_close_tight", 0.25, "left", 12),
    # a known miss of estimators 1-3 (the second repetition read 90.2%, the right eye not
    # named); since the landmarks and the flow are mirror-averaged (estimator 4) it passes
    ("eye_close_tight", 0.75, "right", 20),
    ("lip_spread_i", 0.5, "right", 8),
    # Over the tolerance: the symmetric "u" pucker read 92.0% (error 7.99) with estimators 5 and
    # 6, 91.85% (error 8.15) with estimator 7 (amplitudes from the rest level) and reads 91.0%
    # (error 9.0) with estimators 8 and 9, 89.7% (error 10.3) with estimator 11; the
    # validation's 3-repetition clip reads it 86.9% (calibration/VALIDATION.md).  A known miss,
    # kept strict: the day it passes, the xfail must go.
    pytest.param(
        "lip_pucker_u",
        1.0,
        "left",
        8,
        marks=pytest.mark.xfail(strict=True, reason="symmetric pucker reads 89.7% (error 10.3 > 8), estimator 11"),
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("movement,ratio,weak,tolerance", GROUND_TRUTH)
def test_symmetry_on_ground_truth(synth_dir, base_face, movement, ratio, weak, tolerance):
    path, truth = synth_case(synth_dir, base_face, movement, ratio, weak, n_reps=2)
    a, _, _ = run_analysis(str(path), movement)
    assert len(a.reps) == 2
    measured = np.median([r.symmetry.symmetry_pct for r in a.reps])
    # calibration/VALIDATION.md: mean error 3.7 points, these cases within 4 but the eyes;
    # the mesh alone is off by 10-60 points
    assert abs(measured - truth["true_symmetry_pct"]) <= tolerance, (measured, truth)
    if ratio <= 0.75:
        assert all(r.symmetry.weaker_side == weak for r in a.reps)
    # rep timing: each found peak lies inside a true repetition
    for r, (t0, t1) in zip(a.reps, truth["rep_spans_s"]):
        assert t0 - 0.2 <= r.t_peak_s <= t1 + 0.2


# Rest jitter bound per still (mm, std of the smoothed per-side measure, every movement).
# single_face.jpg: 81 px between the eyes, as a webcam at arm's length; measured at most
# 0.19 mm with estimator 4.  astronaut.png is a small face (43 px between the eyes, a quarter of the pixels):
# measured at most 0.41 mm (the "u" pucker; frown 0.33), above the 0.3 mm goal.
# Estimator 8 (each frame turned onto the neutral on points above the mouth) raised the
# mouth's jitter on single_face.jpg from 0.28-0.29 mm (estimator 7) to 0.33-0.34 mm (the
# pucker and the "i"): the fitted turn's own noise, carried down to the mouth.  A known miss of
# the 0.3 mm goal, kept strict with its figure, not a looser bound (calibration/VALIDATION.md).
# Estimators 9 and 11 read it 0.34 mm too; it follows the picture's roll (0.25 mm a degree): the
# skin residual at the nose-bridge midline against the mouth, a rotation of the skin against the
# mesh that the residual head-motion fit leaves.  Anchors further from the outline (tried) met
# the goal and read real frozen halves more moving (calibration/VALIDATION.md).
JITTER_MISSED = pytest.mark.xfail(strict=True, reason="a still face's mouth jitters 0.34 mm (goal 0.3), estimator 11")
STILL_JITTER_MM = {"single_face.jpg": 0.3, "astronaut.png": 0.5}


@pytest.mark.integration
@pytest.mark.parametrize("image", [pytest.param("single_face.jpg", marks=JITTER_MISSED), pytest.param("astronaut.png")])
def test_still_real_face_is_quiet(tmp_path, image):
    """A healthy face that does not move, swaying in front of a still background: for every
    movement no repetition, small resting asymmetry and low jitter at rest."""
    from facetrack.analysis.meter import MovementMeter, Series, build_neutral, results_from_series
    from facetrack.capture.source import FrameSource
    from facetrack.face.pipeline import Tracker

    path = cached_still_video(DATA / image, seconds=5)
    with Tracker() as tracker:
        tracked = list(tracker.run(FrameSource(str(path))))
    neutral = build_neutral([t for t in tracked if t.frame.timestamp_s < 1.0])
    rest = neutral.resting_asymmetry_mm()
    assert all(abs(v) < 3 for v in rest.values()), rest
    times = [t.frame.timestamp_s for t in tracked]
    meters = [MovementMeter(movement, neutral) for movement in CATALOGUE.values()]
    values = list(zip(*[[meter.measure(t) for meter in meters] for t in tracked]))  # flow once a frame
    jitter = {}
    for movement, per_frame in zip(CATALOGUE.values(), values):
        a = results_from_series(movement, neutral, Series.collect(times, list(per_frame)))
        assert a.reps == [], movement.id
        for side in L.SIDES:
            jitter[movement.id, side] = float(np.nanstd(a.mm(1.0) * a.smoothed[side]))
    worst = max(jitter, key=jitter.get)
    assert jitter[worst] < STILL_JITTER_MM[image], (worst, jitter[worst])


@pytest.mark.integration
def test_analyze_cli_outputs(tmp_path, synth_dir, base_face):
    path, _truth = synth_case(synth_dir, base_face, "brow_raise", 0.5, "left", n_reps=2)
    out_csv, out_png, out_mp4 = tmp_path / "reps.csv", tmp_path / "plot.png", tmp_path / "ov.mp4"
    result = run_cli(
        "analyze",
        path,
        "--movement",
        "brow_raise",
        "--affected",
        "left",
        "--csv",
        out_csv,
        "--plot",
        out_png,
        "--overlay",
        out_mp4,
    )
    assert result.returncode == 0, result.stderr
    assert "symmetry" in result.stdout and "weaker: left" in result.stdout
    rows = list(csv.reader(open(out_csv)))
    assert rows[0][:14] == [
        "movement",
        "rep",
        "t_start_s",
        "t_peak_s",
        "t_end_s",
        "left_amplitude_mm",
        "right_amplitude_mm",
        "left_amplitude_pct_iod",
        "right_amplitude_pct_iod",
        "symmetry_pct",
        "weaker_side",
        "left_synkinesis_pct",
        "right_synkinesis_pct",
        "tracked_pct",
    ]
    assert rows[0] == REP_SCHEMA.names and len(rows) == 3
    rep = dict(zip(rows[0], rows[1]))
    assert rep["weaker_side"] == "left" and 30 < float(rep["affected_pct_of_other"]) < 70
    assert float(rep["left_amplitude_mm"]) < float(rep["right_amplitude_mm"])
    assert out_png.read_bytes()[:4] == b"\x89PNG" and out_mp4.stat().st_size > 10_000
    assert (tmp_path / "reps.dictionary.csv").exists()


@pytest.mark.integration
def test_analyze_without_face_or_movement_exits_nonzero(tmp_path):
    result = run_cli("analyze", DATA / "no_face.mp4", "--movement", "frown")
    assert result.returncode == 1 and "no usable neutral face" in result.stderr
    assert "Traceback" not in result.stderr
    still = cached_still_video(DATA / "astronaut.png", seconds=3)
    result = run_cli("analyze", still, "--movement", "brow_raise")
    assert result.returncode == 1 and "no repetition" in result.stderr
    result = run_cli("analyze", still, "--movement", "smile")
    assert result.returncode == 2 and "unknown movement" in result.stderr
