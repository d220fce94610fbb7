"""Shared helpers, the test tiers and the cache of generated clips.

Tiers (``--tier``, default ``fast``; or $FACETRACK_TEST_TIER):
  fast         unmarked tests: no MediaPipe model, no generated video (under a minute)
  integration  ``@pytest.mark.integration``: MediaPipe on tests/data and small cached clips
  slow         ``@pytest.mark.slow``: the demo, whole sessions, kill -9, disk full, the window,
               ground truth, the notebook
  all          every tier
Several may be given with commas (``--tier fast,integration``).

Generated clips are cached across runs under $FACETRACK_TEST_CACHE (default
~/.cache/facetrack-tests), keyed on a hash of the generator (calibration/synth.py, its face
image, the landmarker model and the measures that give the truth) and the case's parameters.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
TIERS = ("fast", "integration", "slow")
CACHE_ENV = "FACETRACK_TEST_CACHE"
# what a generated clip and its truth depend on, besides the case's own parameters
GENERATOR_FILES = (
    "calibration/synth.py",
    "calibration/astronaut.png",
    "facetrack/face/movements.py",
    "facetrack/face/measures.py",
    "facetrack/face/landmarks.py",
    "facetrack/face/geometry.py",
)


def pytest_addoption(parser):
    parser.addoption(
        "--tier",
        default=os.environ.get("FACETRACK_TEST_TIER", "fast"),
        help="which tests to run: fast (default), integration, slow, all, or a comma list",
    )


def pytest_configure(config):
    chosen = {t.strip() for t in config.getoption("--tier").split(",") if t.strip()}
    if "all" in chosen:
        chosen = set(TIERS)
    unknown = chosen - set(TIERS)
    if unknown or not chosen:
        raise pytest.UsageError(f"--tier: unknown {sorted(unknown)}; choose from {', '.join(TIERS)}, all")
    config._facetrack_tiers = chosen


def tier_of(item) -> str:
    if item.get_closest_marker("slow"):
        return "slow"
    if item.get_closest_marker("integration"):
        return "integration"
    return "fast"


def pytest_collection_modifyitems(config, items):
    chosen = config._facetrack_tiers
    keep, drop = [], []
    for item in items:
        (keep if tier_of(item) in chosen else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config):
    return f"facetrack test tiers: {', '.join(t for t in TIERS if t in config._facetrack_tiers)}"


@pytest.fixture(autouse=True)
def _fast_tier_never_loads_mediapipe(request):
    """In a fast-only run no test may load MediaPipe (the tier's promise): checked after each test."""
    yield
    if request.config._facetrack_tiers == {"fast"} and tier_of(request.node) == "fast":
        assert "mediapipe" not in sys.modules, f"{request.node.nodeid} loaded mediapipe: it is not a fast test"


# -- the cache of generated clips ---------------------------------------------------------
def cache_dir() -> Path:
    d = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "facetrack-tests")
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def generator_hash() -> str:
    from facetrack.capture.model import MODEL_SHA256

    h = hashlib.sha256(MODEL_SHA256.encode())
    for rel in GENERATOR_FILES:
        h.update(rel.encode() + b"\0" + (ROOT / rel).read_bytes())
    try:
        from importlib.metadata import version

        h.update(version("mediapipe").encode())  # the base face's landmarks come from it
    except Exception:
        pass
    return h.hexdigest()


def cached(name: str, params: dict, make, suffix: str = ".mp4"):
    """A generated file, made once for every run with the same generator and ``params``:
    ``make(path)`` writes it and returns JSON-able info; returns (path, info).  Workers
    wanting the same file wait for the one making it; a half-made file is never used."""
    key = hashlib.sha256((generator_hash() + json.dumps(params, sort_keys=True, default=str)).encode()).hexdigest()[:16]
    d = cache_dir()
    path, info_path = d / f"{name}-{key}{suffix}", d / f"{name}-{key}.json"
    with open(d / f"{name}-{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (path.exists() and info_path.exists()):
                tmp = path.with_name(f".{path.stem}.{os.getpid()}{suffix}")
                old = os.umask(0o077)
                try:
                    info = make(tmp)
                    os.replace(tmp, path)
                    info_path.write_text(json.dumps({"params": params, "info": info}, default=str))
                finally:
                    os.umask(old)
                    with contextlib.suppress(FileNotFoundError):
                        tmp.unlink()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path, json.loads(info_path.read_text())["info"]


def shared_once(tmp_path_factory, name: str, make) -> Path:
    """A directory made once per test run by whichever worker gets there first (``make(dir)``
    fills it); the other workers wait and reuse it.  (pytest-xdist's ``loadgroup`` does not
    keep groups together with pytest 9 here, so fixtures too dear to repeat share this way.)"""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run
    d, done = root / f"shared-{name}", root / f"shared-{name}.done"
    with open(root / f"shared-{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                d.mkdir(exist_ok=True)
                make(d)
                done.write_text("ok")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return d


def file_sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_cli(*args, cwd=None, env=None, timeout=600):
    """Run ``facetrack`` as a user does, in a fresh process; returns CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "facetrack", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def run_main(*args) -> subprocess.CompletedProcess:
    """``facetrack`` run in this process (the fast tier: no interpreter start-up and imports per
    call); the same exit code, stdout and stderr as :func:`run_cli` gives for the commands
    that fail or finish before any native library prints."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from facetrack.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in args])
    return subprocess.CompletedProcess(["facetrack", *map(str, args)], code, out.getvalue(), err.getvalue())


def write_video(path: Path, frames, fps: float = 30.0, fourcc: str = "mp4v") -> Path:
    frames = list(frames)
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    for f in frames:
        out.write(f)
    out.release()
    return path


def read_frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            return frames
        frames.append(f)


@pytest.fixture(scope="session")
def data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("synth")


@pytest.fixture(scope="session")
def base_face():
    from calibration.synth import load_base_face

    return load_base_face()


def synth_case(directory: Path, base, movement: str, ratio: float, weak_side: str, n_reps: int = 3, **kw):
    """A ground-truth video (calibration.synth.make_video), from the cache; returns (path, truth).
    ``directory`` is unused (kept for the callers); ``base`` is the base face to draw."""
    from calibration.synth import Case, make_video

    case = Case(movement, ratio, weak_side, n_reps=n_reps, **kw)
    return cached(f"{case.name}_{n_reps}", {"case": repr(case)}, lambda p: make_video(case, p, base))


def cached_session_video(steps, **kw):
    """A whole guided session (calibration.synth.session_video), from the cache: (path, info)."""
    from calibration.synth import load_base_face, session_video

    return cached(
        "session", {"steps": [list(s) for s in steps], **kw}, lambda p: session_video(steps, p, load_base_face(), **kw)
    )


def cached_still_video(image_path: Path, seconds: float):
    """A still face swaying (calibration.synth.still_video), from the cache: its path."""
    import cv2

    from calibration.synth import still_video

    path, _ = cached(
        f"still_{Path(image_path).stem}",
        {"image": file_sha(image_path), "seconds": seconds},
        lambda p: (still_video(cv2.imread(str(image_path)), p, seconds=seconds), None)[1],
    )
    return path


def replay_measure(
    video: Path, faces: Path, movement_id: str, rest_s: float, stride: int = 2, method=None, mirrored: bool = False
):
    """One movement measured on ``video`` with the landmarker's faces replayed from ``faces``
    (tests/data/make_replay.py), as ``analyze`` measures it: the neutral from every rest
    frame, then every ``stride``-th frame after the rest (fast tier: no model).  ``mirrored``:
    the video flipped left-right as ``analyze --mirrored`` reads it, with the stored faces
    flipped as the mirror-averaged landmarker reads a flipped video (capture/mirror.py:
    exactly, by construction)."""
    from facetrack.analysis.meter import MovementMeter, Series, build_neutral, results_from_series
    from facetrack.capture.mirror import unflip
    from facetrack.capture.replay import ReplayLandmarker, load_face_frames
    from facetrack.capture.source import FrameSource
    from facetrack.face.movements import get_movement
    from facetrack.face.pipeline import Tracker

    stored, sha = load_face_frames(faces)
    landmarker = ReplayLandmarker([unflip(f) for f in stored] if mirrored else stored, sha)
    with Tracker(landmarker=landmarker) as tracker:
        tracked = list(tracker.run(FrameSource(str(video), mirrored=mirrored)))
    movement = get_movement(movement_id)
    rest = [t for t in tracked if t.frame.timestamp_s < rest_s]
    frames = rest + [t for t in tracked if t.frame.timestamp_s >= rest_s][::stride]
    meter = MovementMeter(movement, build_neutral(rest), method)
    values = [meter.measure(t) for t in frames]
    return results_from_series(
        movement, meter.neutral, Series.collect([t.frame.timestamp_s for t in frames], values), rest_s=rest_s
    )
