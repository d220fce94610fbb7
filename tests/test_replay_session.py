"""Fast tier: the real session pipeline (runner, session, meter, recorder, store, overlay video,
report) driven by stored MediaPipe faces through the landmarker seam, without the model.

The clip is tests/data/replay_session.mp4 (a generated session: the patient's left moves at
half the right's amplitude; routine replay_session.toml: brow raise x2, "i" spread x1) and
its faces tests/data/replay_session.npz (tests/data/make_replay.py).  To keep the tier
inside a minute the session sees every third frame: a 10 fps camera, real frames with their
own times; the skin flow (the expensive part) runs on each of them.
"""

from __future__ import annotations

import itertools
import math
import pickle
import re
import sqlite3
import stat
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import DATA, shared_once

from facetrack.capture.replay import ReplayLandmarker, load_face_frames
from facetrack.capture.source import Frame, FrameSource
from facetrack.capture.video import VideoSink
from facetrack.errors import FacetrackError
from facetrack.face.pipeline import Tracker
from facetrack.live.audio import AudioGuide
from facetrack.live.routine import load_routine
from facetrack.live.runner import run_session
from facetrack.live.session import ExerciseSession
from facetrack.storage.recorder import Recorder
from facetrack.storage.store import Store
from facetrack.tables import RepRecord

CLIP = DATA / "replay_session.mp4"
FACES = DATA / "replay_session.npz"
ROUTINE = DATA / "replay_session.toml"
EVERY = 3  # of the clip's 30 fps: the session runs at 10 fps
WEAK = "left"  # the generator moved the patient's left at half the amplitude


def every_third(path: Path):
    for frame in FrameSource(str(path)):
        if frame.index % EVERY == 0:
            yield frame


class Spy:
    """A sink after the recorder: what the session handed out, and what another connection
    to the database could see at the moment each repetition was handed over."""

    def __init__(self, db_path: Path):
        self.db_path = db_path
        self.frames: list = []
        self.committed_at_rep: list[tuple[int, int]] = []  # (reps, frames) visible then
        self.closed = 0
        self.keys: Keys | None = None

    def on_frame(self, out):
        self.frames.append(out)

    def on_stored(self, item):
        if isinstance(item, RepRecord):
            db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
            try:
                self.committed_at_rep.append(
                    (
                        db.execute("SELECT count(*) FROM reps").fetchone()[0],
                        db.execute("SELECT count(*) FROM frames").fetchone()[0],
                    )
                )
            finally:
                db.close()

    def on_close(self, end):
        self.closed += 1


class Keys:
    """Presses keys as a patient would, one after the other: each (key, step, phase, reps done
    in the step) is pressed at the first frame that matches, after the previous one."""

    def __init__(self, session: ExerciseSession, plan):
        self.session, self.plan, self.pressed = session, list(plan), []

    def on_frame(self, out):
        s = self.session
        if len(self.pressed) == len(self.plan):
            return None
        key, step, phase, reps_done = self.plan[len(self.pressed)]
        if s.step_index == step and s.phase == phase and s.results and len(s.results[-1].reps) == reps_done:
            self.pressed.append(key)
            return key
        return None


def run(
    data_dir: Path,
    keys=None,
    overlay: Path | None = None,
    audio: Path | None = None,
    routine_file=ROUTINE,
    summary_until_key: bool = False,
    extra_sinks=(),
):
    store = Store(data_dir)
    pid = store.patient_id("Replay Patient", affected=WEAK)
    routine = load_routine(str(routine_file))
    tracker = Tracker(landmarker=ReplayLandmarker(FACES))
    rec = Recorder(store, pid, routine.name, tracker.model_sha256, {"affected": WEAK}, CLIP.name)
    session = ExerciseSession(routine, WEAK, max_calibration_tries=2, summary_until_key=summary_until_key)
    spy = Spy(store.path)
    sinks: list = ([VideoSink(overlay, overlay=True)] if overlay else []) + [rec, spy]
    if audio is not None:  # as `exercise --audio-out` (no sound card needed)
        sinks.append(AudioGuide(play=False, wav=audio))
    spy.keys = Keys(session, keys or [])
    sinks.append(spy.keys)
    sinks += list(extra_sinks)
    with tracker:
        end = run_session(every_third(CLIP), tracker, session, sinks)
    return store, rec, session, end, spy


class Seen:
    """What the sinks saw of the shared run, as kept on disk for the other worker."""

    def __init__(self, spy: Spy):
        self.frames = [
            SimpleNamespace(
                record=o.record,
                title=o.overlay.title,
                symmetry_text=o.overlay.symmetry_text,
                lines=list(o.overlay.lines),
                big_text=o.overlay.big_text,
                rep_text=o.overlay.rep_text,
                t=o.frame.timestamp_s,
            )
            for o in spy.frames
        ]
        self.committed_at_rep, self.closed = spy.committed_at_rep, spy.closed


def _record_whole_session(d: Path) -> None:
    store, rec, _session, end, spy = run(d / "data", overlay=d / "overlay.mp4", audio=d / "guide.wav")
    store.close()
    (d / "run.pkl").write_bytes(pickle.dumps((rec.session_id, end, Seen(spy))))


@pytest.fixture(scope="session")
def recorded(tmp_path_factory):
    """One complete run of the routine, shared by the workers: (dir, store, session id, end, seen)."""
    d = shared_once(tmp_path_factory, "replay_session", _record_whole_session)
    sid, end, seen = pickle.loads((d / "run.pkl").read_bytes())
    store = Store(d / "data")
    yield d, store, sid, end, seen
    store.close()


def test_replay_needs_no_mediapipe_and_refuses_the_wrong_clip(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\nfrom facetrack.capture.replay import ReplayLandmarker\n"
        "from facetrack.face.pipeline import Tracker\nfrom facetrack.live.runner import run_session\n"
        f"t = Tracker(landmarker=ReplayLandmarker({str(FACES)!r}))\n"
        "print('mediapipe' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    faces, sha = load_face_frames(FACES)
    assert len(faces) == 630 and all(f.face_found for f in faces) and len(sha) == 64
    replay = ReplayLandmarker(FACES)
    other = next(iter(FrameSource(str(DATA / "single_face.mp4"))))  # frame 0, another size
    with pytest.raises(FacetrackError, match="not the recorded clip"):
        replay.detect(other)
    with pytest.raises(FacetrackError, match="no stored face"):
        replay.detect(Frame(np.zeros((480, 640, 3), np.uint8), 700 / 30, 700))
    late = next(iter(FrameSource(str(CLIP))))
    with pytest.raises(FacetrackError, match="not the recorded clip"):
        replay.detect(Frame(late.image_bgr, 1.0, 0))  # frame 0 shown at another time: out of step


def test_whole_session_stores_every_rep_with_the_weak_side(recorded):
    _d, store, sid, end, spy = recorded
    assert end.complete and end.failure is None  # (the clip ends on the summary screen)
    assert spy.closed == 1  # every sink closed exactly once
    (s,) = store.sessions()
    assert s["status"] == "complete" and s["ended_at"] and s["kind"] == "exercise"
    assert s["model_sha256"] == load_face_frames(FACES)[1]
    assert s["mm_per_unit"] and 50 < s["iod_mm"] < 75
    reps = store.reps(sid)
    assert [(r["movement"], r["rep"], r["step"]) for r in reps] == [
        ("brow_raise", 1, 0),
        ("brow_raise", 2, 0),
        ("lip_spread_i", 1, 1),
    ]
    for r in reps:
        assert r["status"] == "movement" and r["weaker_side"] == WEAK, r
        assert r["left_amplitude_mm"] < r["right_amplitude_mm"]
        assert 20 < r["symmetry_pct"] < 80, r  # generated at 50%
        assert r["tracked_pct"] > 90


def test_frames_and_landmarks_kept_per_step(recorded):
    _d, store, sid, _end, spy = recorded
    handed = [o.record for o in spy.frames if o.record is not None]
    stored = store.frames(sid)
    assert len(stored) == len(handed) > 150
    assert [(f["step"], f["frame"]) for f in stored] == sorted((r.step, r.frame) for r in handed)
    assert {f["step"] for f in stored} == {-1, 0, 1}
    assert all(f["frame"] % EVERY == 0 for f in stored)  # the real frame numbers of the clip
    lms = store.landmarks(sid)
    per_step = {s: int((lms["step"] == s).sum()) for s in (-1, 0, 1)}
    assert per_step == {s: sum(f["step"] == s for f in stored) for s in (-1, 0, 1)}
    # the stored landmarks are the replayed ones, to the store's 1/16 px
    faces = {f.index: f for f in load_face_frames(FACES)[0]}
    worst = max(float(np.abs(lms["xyz_px"][k] - faces[int(i)].xyz_px).max()) for k, i in enumerate(lms["frame"]))
    assert worst <= 1 / 32 + 1e-6
    # the offline twin recomputes every live mesh measure from those landmarks alone
    from facetrack.analysis.reanalyse import max_difference_mm, mesh_measures

    assert len(mesh_measures(store, sid)) > 80
    assert max_difference_mm(store, sid) < 0.05


def test_each_repetition_is_committed_when_it_finishes(recorded):
    _d, store, sid, _end, spy = recorded
    reps_seen = [n for n, _ in spy.committed_at_rep]
    frames_seen = [n for _, n in spy.committed_at_rep]
    assert reps_seen == [1, 2, 3]  # visible to another process at once
    assert frames_seen == sorted(frames_seen) and frames_seen[0] > 0
    assert frames_seen[-1] < len(store.frames(sid))  # the rest came at the end


def _video_frames(path: Path) -> tuple[float, list[tuple]]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        fps, shapes = cap.get(cv2.CAP_PROP_FPS), []
        while True:
            ok, image = cap.read()
            if not ok:
                return fps, shapes
            shapes.append(image.shape)
    finally:
        cap.release()


def test_overlay_video_is_private_and_at_the_source_rate(recorded):
    d, _store, _sid, end, spy = recorded
    path = d / "overlay.mp4"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    fps, shapes = _video_frames(path)
    assert abs(fps - 30 / EVERY) < 0.5  # 10 fps in, 10 fps out: it plays at the real speed
    assert set(shapes) == {(480, 640, 3)} and abs(len(shapes) - end.frames) <= 1
    titles = [o.title for o in spy.frames]
    assert titles[0].startswith("Relax your face") and titles[-1] == "Session summary"
    assert any(t.startswith("1/2") for t in titles) and any(t.startswith("2/2") for t in titles)
    assert any(
        o.symmetry_text.startswith("last rep symmetry") and "weaker: left" in o.symmetry_text
        for o in spy.frames
        if o.symmetry_text
    )


def test_overlay_video_has_every_frame_once(recorded):
    d, _store, _sid, end, _spy = recorded
    _fps, shapes = _video_frames(d / "overlay.mp4")
    assert len(shapes) == end.frames


def test_report_shows_what_was_stored(recorded, tmp_path):
    _d, store, sid, _end, spy = recorded
    from facetrack.reporting.report import build_report

    page = build_report(store, tmp_path / "report", None, sid).read_text()
    import re

    table = re.findall(
        r"<tr><td>[^<]+</td><td class=num>(\d+)</td><td class=num>([\d.]+)</td>"
        r"<td class=num>([\d.]+)</td><td class=num>([\d.]+)</td><td>(\w+)</td>",
        page,
    )
    reps = store.reps(sid)
    assert [(int(a), b, c, e, w) for a, b, c, e, w in table] == [
        (
            r["rep"],
            f"{r['left_amplitude_mm']:.1f}",
            f"{r['right_amplitude_mm']:.1f}",
            f"{r['symmetry_pct']:.1f}",
            r["weaker_side"],
        )
        for r in reps
    ]
    assert "Replay Patient" in page and (tmp_path / "report" / f"session{sid}_movements.png").exists()
    # the summary screen the patient saw: today's median per movement, no earlier session
    summary = spy.frames[-1].lines
    for line, movement in zip(summary, ("brow_raise", "lip_spread_i"), strict=True):
        today = np.median([r["symmetry_pct"] for r in reps if r["movement"] == movement])
        assert f"{today:3.0f}%" in line and line.count("--") == 2


def test_skip_then_quit(tmp_path):
    """n during the first movement's instructions skips it; q in the next movement ends the
    session: nothing of the skipped movement is stored, the session is incomplete."""
    store, rec, session, end, spy = run(tmp_path / "data", keys=[("n", 0, "instruct", 0), ("q", 1, "move", 0)])
    try:
        assert spy.keys.pressed == ["n", "q"]
        assert end.ended_by_user and not end.complete and spy.closed == 1
        assert session.results[0].skipped and not session.results[0].reps
        assert store.reps(rec.session_id) == []
        (s,) = store.sessions()
        assert s["status"] == "incomplete" and s["ended_at"]  # closed by the user, not killed
        steps = {f["step"] for f in store.frames(rec.session_id)}
        assert steps == {-1, 1}  # kept up to q; skipped at its first frame, step 0 has none
        assert end.frames < 120  # it stopped at q, not at the end of the clip
        # the terminal says what was left undone
        from facetrack.live.session import closing_summary

        assert (
            closing_summary(session)[-1]
            == 'not done: Raise the eyebrows (skipped), Spread: say "i" (0 of 1 repetitions)'
        )
    finally:
        store.close()


def test_redo_keeps_the_first_try_marked_redone(tmp_path):
    """r after the first brow raise: that repetition stays in the database marked 'redone'
    and is left out of the counts; q then ends the session."""
    store, rec, session, end, spy = run(tmp_path / "data", keys=[("r", 0, "move", 1), ("q", 0, "move", 0)])
    try:
        assert spy.keys.pressed == ["r", "q"]
        assert end.ended_by_user and not end.complete
        reps = store.reps(rec.session_id)
        assert [(r["movement"], r["status"]) for r in reps] == [("brow_raise", "redone")]
        assert store.reps(rec.session_id, ("movement", "no movement")) == []
        from facetrack.storage.history import session_symmetry

        assert session_symmetry(store, rec.session_id) == {}
        assert session.results[0].reps == [] and len(session.results) == 1
        assert not math.isnan(reps[0]["left_amplitude_mm"])
    finally:
        store.close()


@pytest.mark.integration
def test_record_video_is_private_at_the_source_rate_and_forgotten(tmp_path):
    """``exercise --record-video``: the raw video is owner-only, plays at the camera's own rate
    (a 15 fps source gives a 15 fps file, not 30), its path is stored, and ``forget`` deletes it."""
    import sqlite3

    import cv2
    from conftest import read_frames, run_cli, write_video

    source = write_video(tmp_path / "webcam15.mp4", read_frames(DATA / "replay_session.mp4")[::2], fps=15.0)
    raw, data = tmp_path / "kept" / "raw.mp4", tmp_path / "data"
    raw.parent.mkdir()
    done = run_cli(
        "exercise",
        "--source",
        source,
        "--routine",
        DATA / "replay_session.toml",
        "--no-window",
        "--record-video",
        raw,
        "--data-dir",
        data,
        "--patient",
        "Vid Eo",
    )
    assert done.returncode == 0, done.stderr
    assert raw.stat().st_mode & 0o777 == 0o600
    cap = cv2.VideoCapture(str(raw))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(15.0, abs=0.5)
    cap.release()
    db = sqlite3.connect(data / "facetrack.sqlite")
    assert db.execute("SELECT video_path FROM sessions").fetchone()[0] == str(raw.resolve())
    db.close()
    gone = run_cli("forget", "--patient", "Vid Eo", "--yes", "--data-dir", data)
    assert gone.returncode == 0 and "1 video files removed" in gone.stdout, gone.stdout + gone.stderr
    assert not raw.exists()


def test_mesh_view_shows_the_tracked_face_and_no_picture(tmp_path):
    """m switches to the mesh view: the window then shows the face as its tracked mesh on a
    plain ground, the same bars and text, and nothing of the camera picture."""
    from facetrack.cli.main import VIEWS as PARSER_VIEWS
    from facetrack.live.overlay import MESH_GROUND_BGR, VIEWS, annotate

    assert PARSER_VIEWS == VIEWS
    store, _rec, _session, _end, spy = run(tmp_path / "data", keys=[("m", 0, "move", 0), ("q", 0, "move", 1)])
    store.close()
    views = [o.overlay.view for o in spy.frames]
    assert views[0] == "camera" and views[-1] == "mesh"
    out = next(o for o in reversed(spy.frames) if o.overlay.view == "mesh" and o.overlay.mesh_xy is not None)
    scene = out.frame.image_bgr
    shown = out.image
    # no picture: the same state drawn over another scene gives the very same image
    assert np.array_equal(shown, annotate(np.zeros_like(scene), out.overlay))
    assert not np.array_equal(shown, annotate(scene, replace_view(out.overlay, "camera")))
    # the face is drawn where it is (mirrored on screen, as the camera view is)
    w = scene.shape[1]
    xy = out.overlay.mesh_xy
    x0, x1 = int(w - xy[:, 0].max()), int(w - xy[:, 0].min())
    y0, y1 = int(xy[:, 1].min()), int(xy[:, 1].max())
    face = shown[y0:y1, x0:x1]
    drawn = (np.abs(face.astype(int) - MESH_GROUND_BGR).sum(axis=2) > 30).mean()
    assert drawn > 0.2, drawn  # mesh lines and outlines cover the face
    assert out.overlay.bars and "m view" in out.overlay.keys_text


def replace_view(state, view):
    from dataclasses import replace

    return replace(state, view=view)


# -- the sound guidance (issue 12): what a patient with the eyes shut hears ------------------
def screen_phase(frame) -> str:
    """The phase as the screen shows it (not as the session names it)."""
    if frame.title.startswith("Relax your face"):
        return "calibrate"
    if frame.title == "Session summary":
        return "summary"
    big = frame.big_text
    return {"get": "instruct", "MOVE": "move", "HOLD": "hold", "relax": "rest"}[big.split()[0]]


def screen_changes(seen) -> list[tuple[float, str, str]]:
    """(time from the first frame, phase, repetition text) of every frame where the screen
    enters a new phase."""
    t0, out, last = seen.frames[0].t, [], None
    for f in seen.frames:
        phase = screen_phase(f)
        if phase != last:
            out.append((f.t - t0, phase, f.rep_text))
        last = phase
    return out


def test_a_cue_sounds_at_each_phase_change_and_counts_the_repetitions(recorded):
    """``--audio-out`` of the whole routine: one cue within 0.2 s of every change the screen
    shows (get ready, move, hold, relax, next movement, done) and at no other time; the same
    sound for the same phase and a different one for each phase (move rises, relax falls);
    after each relax as many short beeps as the repetition the screen shows."""
    from wavcheck import cue_groups, read_wav, sounds

    d, _store, _sid, _end, seen = recorded
    path = d / "guide.wav"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    x, rate = read_wav(path)
    changes = screen_changes(seen)
    assert [p for _, p, _ in changes] == ["calibrate"] + ["instruct", *["move", "hold", "rest"] * 2] + [
        "instruct",
        "move",
        "hold",
        "rest",
        "summary",
    ]
    groups = cue_groups(sounds(x, rate))
    assert len(groups) == len(changes), [round(g[0].start_s, 2) for g in groups]
    for (t, phase, _), g in zip(changes, groups, strict=True):
        assert abs(g[0].start_s - t) < 0.2, (phase, t, g[0].start_s)
    # each phase its own sound: (number of sounds, length, pitch at start and end) of the cue
    # (for relax, of its first sound: the count follows)
    sig = {}
    for (_, phase, _), g in zip(changes, groups, strict=True):
        first = g[:1] if phase == "rest" else g
        s = tuple((round(k.duration_s, 1), round(k.f_start, -1), round(k.f_end, -1)) for k in first)
        assert sig.setdefault(phase, s) == s, (phase, s, sig[phase])  # the same every time
    assert len(set(sig.values())) == len(sig) == 6, sig  # and no two phases alike
    assert sig["move"][0][1] < sig["move"][0][2] and sig["rest"][0][1] > sig["rest"][0][2]
    # the count: short high beeps after the relax sweep, one per repetition shown on screen
    counts = []
    for (_, phase, rep_text), g in zip(changes, groups, strict=True):
        if phase == "rest":
            beeps = g[1:]
            assert all(b.duration_s < 0.1 and b.f_start > 1200 for b in beeps), beeps
            counts.append((len(beeps), int(rep_text.split()[1])))
    assert counts == [(1, 1), (2, 2), (1, 1)]
    # no tone between the cues: none of these movements closes the eyes
    for a, b in itertools.pairwise(groups):
        gap = x[round((a[-1].end_s + 0.02) * rate) : round((b[0].start_s - 0.02) * rate)]
        assert np.abs(gap).max() < 0.01


def test_eye_exercise_tone_follows_the_weaker_lid_of_the_session(tmp_path):
    """A real session of the eye closure over the replayed faces (5 fps, the first 13.5 s of
    the clip; its face does not close its eyes, so the lids read open): the tone sounds
    through the movement, hold and rest and nowhere else, at the pitch of the closure the
    session shows on the affected lid's bar.  (That the pitch rises as a lid shuts:
    tests/test_audio.py, on generated closures.)"""
    from wavcheck import pitch, read_wav

    from facetrack.live import audio as A

    routine = tmp_path / "eyes.toml"
    routine.write_text('name = "eyes"\n[[movement]]\nid = "eye_close_tight"\nreps = 1\nhold_s = 2.0\nrest_s = 2.0\n')
    tracker = Tracker(landmarker=ReplayLandmarker(FACES))
    session = ExerciseSession(load_routine(str(routine)), WEAK, max_calibration_tries=2)
    frames: list = []

    class Keep:
        def on_frame(self, out):
            frames.append(out)

    wav = tmp_path / "eyes.wav"
    sinks = [Keep(), AudioGuide(play=False, wav=wav)]
    with tracker:
        clip = (f for f in FrameSource(str(CLIP)) if f.index % 6 == 0 and f.timestamp_s < 13.5)
        end = run_session(clip, tracker, session, sinks)
    assert end.complete
    x, rate = read_wav(wav)
    t0 = frames[0].frame.timestamp_s
    busy = [
        (c.t - t0, c.t - t0 + len(A.cue_samples(c.kind, c.count, rate)) / rate)
        for c in A.cues([o.progress for o in frames])
    ]
    heard, silent = [], []
    for a, b in itertools.pairwise(frames):
        ta, tb = a.frame.timestamp_s - t0, b.frame.timestamp_s - t0
        if any(s - 0.05 < tb and ta < e + 0.05 for s, e in busy):
            continue
        seg = x[round((ta + 0.05) * rate) : round((tb - 0.05) * rate)]
        shown = a.overlay.big_text.split()[0] if a.overlay.big_text else ""
        if shown in ("MOVE", "HOLD", "relax") and a.overlay.title.endswith("Close the eyes tightly"):
            heard.append((pitch(seg, rate), float(np.sqrt(np.mean(seg**2))), a, b))
        else:
            silent.append(np.abs(seg).max())
    assert len(heard) >= 5 and len(silent) >= 15
    assert max(silent) < 0.01
    for f, loud, a, b in heard:
        assert loud > 0.05
        lid = [o.overlay.bars[WEAK] for o in (a, b)]  # the affected side's bar: share of the lid shut
        expected = (A.closure_pitch(lid[0]) + A.closure_pitch(lid[1])) / 2
        assert abs(np.log2(f / expected)) < 0.03, (f, expected, lid)


def test_massage_step_is_timed_guided_and_not_measured(tmp_path):
    """A routine that starts with the programme's facial massage (10 s here): after the
    calibration the screen names each part of the face in turn, counts the time down, a cue
    sounds at the start of each part, nothing of it is stored, and the first movement starts
    when the massage's time is up."""
    from facetrack.live.audio import cues
    from facetrack.live.routine import MASSAGE_PARTS
    from facetrack.live.session import CALIBRATION_S, closing_summary

    routine = tmp_path / "massage.toml"
    routine.write_text(
        'name = "massage first"\n[[movement]]\nid = "massage"\nduration_s = 10\n'
        '[[movement]]\nid = "brow_raise"\nreps = 1\nhold_s = 1.0\nrest_s = 1.0\n'
    )
    store, rec, session, end, spy = run(tmp_path / "data", routine_file=routine)
    try:
        during = [o for o in spy.frames if o.overlay.title.endswith("Facial massage")]
        assert during, "the massage was never shown"
        t = np.array([o.frame.timestamp_s for o in during])
        assert abs(t[0] - CALIBRATION_S) < 0.15 and abs(t[-1] - (CALIBRATION_S + 10)) < 0.15
        parts = [o.overlay.rep_text for o in during]
        names = [f"part {k + 1} of 4: {name}" for k, (name, _) in enumerate(MASSAGE_PARTS)]
        assert list(dict.fromkeys(parts)) == names  # each part in turn, in order
        # nothing kept of it (the first frame shown with it still closed the calibration)
        assert all(o.record is None for o in during[1:]) and during[0].record.phase == "calibrate"
        assert int(during[0].overlay.big_text.split()[0]) == 10 and during[-1].overlay.big_text == "0 s"
        first_move = next(o for o in spy.frames if "Raise the eyebrows" in o.overlay.title)
        assert abs(first_move.frame.timestamp_s - (CALIBRATION_S + 10)) < 0.15
        kinds = [c.kind for c in cues([o.progress for o in spy.frames])]
        assert kinds[:6] == ["calibrate", "massage", "massage", "massage", "massage", "instruct"]
        steps = {f["step"] for f in store.frames(rec.session_id)}
        assert steps == {-1, 1}  # calibration and the brow raise; the massage (step 0) has no frames
        assert [r["movement"] for r in store.reps(rec.session_id)] == ["brow_raise"]
        summary = closing_summary(session)
        assert any(line.startswith("Facial massage") and line.endswith("done") for line in summary), summary
        assert end.complete
    finally:
        store.close()


def test_the_full_routine_starts_with_the_massage_and_routine_files_can_have_one():
    from facetrack.live.routine import MASSAGE, load_routine, parse_routine

    full = load_routine("full")
    assert full.steps[0].movement == MASSAGE and not full.steps[0].measured
    assert all(s.measured for s in full.steps[1:])
    r = parse_routine('[[movement]]\nid = "massage"\nduration_s = 90\n', "r.toml")
    assert r.steps[0].duration_s == 90
    for bad, needle in (
        ('[[movement]]\nid = "massage"\nreps = 3\n', "unknown key(s) reps"),
        ('[[movement]]\nid = "massage"\nduration_s = 5\n', "duration_s = 5 is outside 10.0..600.0"),
        ('[[movement]]\nid = "brow_raise"\nduration_s = 60\n', "unknown key(s) duration_s"),
    ):
        with pytest.raises(FacetrackError, match=re.escape(needle)):
            parse_routine(bad, "r.toml")


def test_exports_carry_emotrics_measures_at_rest_and_at_each_peak(recorded, tmp_path):
    """Emotrics' per-side measures (brow height, MRD1, MRD2, fissure height, commissure
    excursion, smile angle, dental show) in the sessions export at rest and in the reps export
    at each repetition's peak: a brow raise lifts both brows, the weak left one less; an "i"
    spread lengthens both commissure excursions; the dictionary explains every column."""
    import csv

    from facetrack.face.emotrics import MEASURES
    from facetrack.reporting.export import export

    _d, store, _sid, _end, _seen = recorded
    rows = {}
    for level in ("sessions", "reps"):
        export(store, level, tmp_path / f"{level}.csv")
        rows[level] = [r for r in csv.DictReader(open(tmp_path / f"{level}.csv", encoding="utf-8"))]
    dictionary = {r["column"]: r for r in csv.DictReader(open(tmp_path / "reps.dictionary.csv", encoding="utf-8"))}
    (rest,) = rows["sessions"]
    for name, unit, _, _ in MEASURES:
        for side in ("left", "right"):
            column = f"{side}_{name}_{unit}"
            assert rest[column] != "" and column in dictionary and "Emotrics" in dictionary[column]["source"]
    assert 1.0 < float(rest["left_mrd1_mm"]) < 8.0 and 6.0 < float(rest["right_pfh_mm"]) < 14.0
    assert 95.0 < float(rest["left_smile_angle_deg"]) < 125.0

    def lift(r, name, side):
        return float(r[f"{side}_{name}_mm"]) - float(rest[f"{side}_{name}_mm"])

    brow = [r for r in rows["reps"] if r["movement"] == "brow_raise"]
    assert len(brow) == 2
    for r in brow:
        assert lift(r, "brow_height", "right") > 1.5  # the strong side rises clearly
        assert 0.2 < lift(r, "brow_height", "left") < lift(r, "brow_height", "right")  # the weak one less
    (spread,) = [r for r in rows["reps"] if r["movement"] == "lip_spread_i"]
    assert lift(spread, "commissure_excursion", "left") > 1.0 and lift(spread, "commissure_excursion", "right") > 1.0
    assert all(r["affected_side"] == "left" and r["brow_height_affected_pct_of_healthy"] for r in brow)


@pytest.mark.parametrize("step,movement", [(0, "brow_raise"), (1, "lip_spread_i")])
def test_live_and_offline_read_the_same_repetitions(recorded, step, movement):
    """Issue 11: what the live session stored and what ``facetrack analyze`` reads from the
    same movement's clip (cut from the session: the instructions' rest from where the live
    session learns the step's neutral face, then the repetitions; ``--rest-s`` that whole
    rest, 3 s) agree: the same repetitions, symmetry within 2 points, the same weaker side.
    Before each step had its own neutral the live "i" spread read 62.1% against 43.1%
    (generated 50%): live measured against the calibration's neutral.  Amplitudes are read
    from the rest level (estimator 7), live from the 2 s of rest before the movement: with
    ``--rest-s 1`` (the live neutral's second alone) offline read the "i" from another rest,
    44.6% against live 47.1%; with the whole rest, 47.1% both."""
    from facetrack.analysis.meter import analyze_tracked
    from facetrack.face.movements import get_movement
    from facetrack.live.session import LIVE_REST_S, SETTLE_S

    _d, store, sid, _end, seen = recorded
    shown = [f for f in seen.frames if f.record is not None and f.record.step == step]
    first_move = min(f.t for f in shown if f.record.phase == "move")
    start, end = first_move - LIVE_REST_S - SETTLE_S, max(f.t for f in shown) + 1e-6
    # the cut as its own video: time from 0, the rest first (as `analyze --rest-s 2` reads it)
    with Tracker(landmarker=ReplayLandmarker(FACES)) as tracker:
        tracked = [tracker.process(f) for f in every_third(CLIP) if start - 1e-6 <= f.timestamp_s <= end]
    cut = [replace(t, frame=replace(t.frame, timestamp_s=t.frame.timestamp_s - start)) for t in tracked]
    offline = analyze_tracked(cut, get_movement(movement), affected=WEAK, rest_s=SETTLE_S + LIVE_REST_S)
    live = [r for r in store.reps(sid) if r["step"] == step]
    assert len(offline.reps) == len(live), (movement, len(offline.reps), len(live))
    for r_off, r_live in zip(offline.reps, live, strict=True):
        diff = abs(r_off.symmetry.symmetry_pct - r_live["symmetry_pct"])
        assert diff <= 2.0, (movement, r_off.symmetry.symmetry_pct, r_live["symmetry_pct"])
        assert r_off.symmetry.weaker_side == r_live["weaker_side"]


def test_in_a_window_q_shows_the_summary_until_a_key(tmp_path):
    """In a window (``summary_until_key``, as ``exercise`` sets it when it shows one) q during a
    movement shows the summary, with what was left undone; it stays, frame after frame, until
    the next key."""

    class Reader:
        """Looks at the summary for a while, then presses space."""

        seen = 0

        def on_frame(self, out):
            if out.overlay.title == "Session summary":
                self.seen += 1
                return "space" if self.seen == 12 else None
            return None

    reader = Reader()
    store, _rec, session, end, spy = run(
        tmp_path / "data", keys=[("q", 1, "move", 0)], summary_until_key=True, extra_sinks=[reader]
    )
    try:
        assert spy.keys.pressed == ["q"] and end.ended_by_user and not end.complete
        shown = [o for o in spy.frames if o.overlay.title == "Session summary"]
        assert len(shown) == 12 and session.done  # shown until the key, closed by it
        assert end.frames < 190  # before the clip's end (210 frames at this rate)
        lines = shown[-1].overlay.lines
        assert any(line.startswith("Raise the eyebrows") for line in lines)
        assert lines[-1].startswith("not done: ") and 'Spread: say "i"' in lines[-1]
    finally:
        store.close()


def test_a_finished_steps_measuring_state_is_freed_at_once():
    """Each routine step measures against its own neutral face with its own skin flow state
    (tens of MB on the 180 px nose crop).  When the step ends it must be freed then, not
    whenever Python's cyclic garbage collector runs (it counts objects, not bytes): a reference
    cycle made a live routine of 20 s steps grow 440 MB in 4 minutes (benchmarks/live.py
    --step-s 20).  The garbage collector is off here, so only references count."""
    import gc
    import weakref

    from facetrack.analysis.meter import MovementMeter, build_neutral
    from facetrack.face.movements import get_movement

    with Tracker(landmarker=ReplayLandmarker(FACES)) as tracker:
        tracked = [tracker.process(f) for f in itertools.islice(every_third(CLIP), 12)]
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for movement in ("brow_raise", "nostril_flare"):
            meter = MovementMeter(get_movement(movement), build_neutral(tracked[:8]))
            for t in tracked[8:]:
                meter.measure(t)
            assert meter.skin is not None and meter.skin._correcter is not None  # the state was built
            left = [weakref.ref(meter.neutral), weakref.ref(meter.skin), weakref.ref(meter.skin._correcter)]
            del meter
            assert [r() is None for r in left] == [True, True, True], movement
    finally:
        if was_enabled:
            gc.enable()


def test_the_screen_says_when_the_loop_measures_fewer_frames_than_the_camera_gives():
    """A loop that keeps up with every third frame of a 30 frames/s camera says so on screen
    once it has a second of frames to judge by, and the session's end counts the frames it
    missed; the same frames from a 10 frames/s camera are all measured, and nothing is said."""
    frames = list(itertools.islice(every_third(CLIP), 40))  # 4 s of the clip
    for camera_fps, behind in ((30.0, True), (10.0, False)):

        class Screen:
            def __init__(self):
                self.said: list[tuple[float, list[str]]] = []

            def on_frame(self, out):
                self.said.append((out.frame.timestamp_s, list(out.overlay.warnings)))

        screen = Screen()
        session = ExerciseSession(load_routine(str(ROUTINE)), WEAK, max_calibration_tries=2)
        with Tracker(landmarker=ReplayLandmarker(FACES)) as tracker:
            end = run_session(iter(frames), tracker, session, [screen], source_fps=camera_fps)
        said = screen.said
        slow = [t for t, warnings in said if any("measuring 10 of 30 frames/s" in w for w in warnings)]
        if behind:
            assert slow and min(slow) >= 1.0 and max(slow) == said[-1][0], slow
            assert end.missed_frames == (EVERY - 1) * (len(frames) - 1)
        else:
            assert not slow and not any("frames/s" in w for _, ws in said for w in ws)
            assert end.missed_frames == 0
