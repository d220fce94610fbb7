"""Issue 4: the guided session, its recording, its keys and a real window."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_cli
from facetrack.routine import Routine, Step
from facetrack.movements import MOVEMENT_IDS

STEPS = [(m, 1, 1.0, 1.0) for m in MOVEMENT_IDS]  # every movement of the programme, one rep each


@pytest.fixture(scope="module")
def session_video(tmp_path_factory, base_face):
    from calibration.synth import session_video
    d = tmp_path_factory.mktemp("session")
    path = d / "session.mp4"
    session_video(STEPS, path, base_face, ratio=0.5, weak_side="left")
    routine = d / "all_once.toml"
    routine.write_text('name = "all once"\n' + "".join(
        f'[[movement]]\nid = "{m}"\nreps = {n}\nhold_s = {h}\nrest_s = {r}\n' for m, n, h, r in STEPS))
    return path, routine


def db_rows(data_dir: Path, sql: str, args=()):
    db = sqlite3.connect(f"file:{data_dir / 'facetrack.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def test_whole_session_headless(tmp_path, session_video):
    video, routine = session_video
    out = tmp_path / "overlay.mp4"
    result = run_cli("exercise", "--source", video, "--routine", routine, "--no-window", "--overlay-out", out,
                     "--data-dir", tmp_path / "data", "--patient", "Ann Example", "--affected", "left")
    assert result.returncode == 0, result.stderr
    (status, ended), = db_rows(tmp_path / "data", "SELECT status, ended_at FROM sessions")
    assert status == "complete" and ended
    reps = db_rows(tmp_path / "data", "SELECT movement, weaker_side, symmetry_pct FROM reps")
    assert sorted(r[0] for r in reps) == sorted(MOVEMENT_IDS)
    assert sum(r[1] == "left" for r in reps) >= 10, reps  # the generated weak side, found
    frames = db_rows(tmp_path / "data", "SELECT count(*) FROM frames")[0][0]
    chunks = db_rows(tmp_path / "data", "SELECT sum(n) FROM landmark_chunks")[0][0]
    assert frames == chunks > 2000  # every frame's measures and landmarks kept
    assert out.stat().st_size > 100_000
    assert not list((tmp_path / "data").glob("*.mp4"))  # no video kept unless asked
    listing = run_cli("sessions", "--data-dir", tmp_path / "data")
    assert "Ann Example" in listing.stdout and "complete" in listing.stdout
    # the offline twin: every live mesh measure recomputed from the raw landmarks alone
    from facetrack.reanalyse import max_difference_mm, mesh_measures
    from facetrack.store import Store
    with Store(tmp_path / "data") as store:
        assert len(mesh_measures(store, 1)) > 1000
        assert max_difference_mm(store, 1) < 0.05


def test_sigkill_halfway_keeps_finished_reps(tmp_path, session_video):
    video, routine = session_video
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "facetrack", "exercise", "--source", str(video), "--routine",
                             str(routine), "--no-window", "--data-dir", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    n = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
        if (data / "facetrack.sqlite").exists():
            try:
                n = db_rows(data, "SELECT count(*) FROM reps")[0][0]
            except sqlite3.OperationalError:
                continue
            if n >= 4:
                break
    assert proc.poll() is None, "the session ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert db_rows(data, "PRAGMA integrity_check")[0][0] == "ok"
    (status, ended), = db_rows(data, "SELECT status, ended_at FROM sessions")
    assert status == "incomplete" and ended is None
    assert db_rows(data, "SELECT count(*) FROM reps")[0][0] >= n >= 4
    listing = run_cli("sessions", "--data-dir", data)
    assert listing.returncode == 0 and "incomplete" in listing.stdout


def test_keys_skip_redo_quit(tmp_path, session_video):
    from facetrack.pipeline import Tracker
    from facetrack.recorder import Recorder
    from facetrack.session import ExerciseSession
    from facetrack.source import FrameSource
    from facetrack.store import Store

    video, _ = session_video
    routine = Routine("keys", tuple(Step(m, 1, 1.0, 1.0) for m, *_ in STEPS))
    store = Store(tmp_path / "data")
    pid = store.patient_id("Keys Test")
    rec = Recorder(store, pid, routine.name, "x", {}, "test")
    session = ExerciseSession(routine, rec, mirrored=True, max_calibration_tries=3)
    pressed = set()
    with Tracker() as tracker:
        for frame in FrameSource(str(video)):
            session.step(tracker.process(frame))
            if session.step_index == 1 and session.phase == "instruct" and "r" not in pressed:
                session.key("r")  # redo the second movement before it started: nothing lost
                pressed.add("r")
            if session.step_index == 2 and session.phase == "move" and "n" not in pressed:
                session.key("n")  # skip the third movement
                pressed.add("n")
            if session.step_index == 4 and "q" not in pressed:
                session.key("q")
                pressed.add("q")
            if session.done:
                break
    assert session.done and session.ended_by_user
    reps = store.reps(rec.session_id)
    movements = [r["movement"] for r in reps]
    assert movements[:2] == list(MOVEMENT_IDS[:2]) and MOVEMENT_IDS[2] not in movements
    status = store.db.execute("SELECT status FROM sessions").fetchone()[0]
    assert status == "incomplete"  # ended early, what was done is kept
    store.close()


@pytest.mark.skipif(shutil.which("Xvfb") is None or shutil.which("xdotool") is None,
                    reason="needs Xvfb and xdotool (.ci/run installs them)")
def test_real_window_under_xvfb_ends_on_q(tmp_path, session_video):
    video, routine = session_video
    display = ":97"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x768x24"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        env = dict(os.environ, DISPLAY=display)
        proc = subprocess.Popen([sys.executable, "-m", "facetrack", "exercise", "--source", str(video),
                                 "--routine", str(routine), "--realtime", "--data-dir", str(tmp_path / "d")],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        window = ""
        deadline = time.time() + 60
        while time.time() < deadline and not window:
            time.sleep(0.5)
            window = subprocess.run(["xdotool", "search", "--name", "facetrack"], env=env,
                                    capture_output=True, text=True).stdout.split()
            window = window[0] if window else ""
        assert window, "the window never appeared"
        time.sleep(5)  # the session runs and shows frames
        subprocess.run(["xdotool", "windowactivate", "--sync", window], env=env, capture_output=True)
        subprocess.run(["xdotool", "key", "--window", window, "q"], env=env, check=True)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "session 1" in out
        (status,), = db_rows(tmp_path / "d", "SELECT status FROM sessions")
        assert status == "incomplete"  # ended by the user before the routine's end
    finally:
        xvfb.terminate()
        xvfb.wait()
