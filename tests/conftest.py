import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

DATA = Path(__file__).parent / "data"


def run_cli(*args, cwd=None, env=None, timeout=600):
    """Run ``facetrack`` as a user does, in a fresh process; returns CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "facetrack", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=timeout)


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
    """Generate (once per test session) a ground-truth video; returns (path, truth)."""
    from calibration.synth import Case, make_video
    case = Case(movement, ratio, weak_side, n_reps=n_reps, **kw)
    path = directory / f"{case.name}_{n_reps}.mp4"
    cache = path.with_suffix(".truth")
    if not path.exists():
        import json
        cache.write_text(json.dumps(make_video(case, path, base)))
    import json
    return path, json.loads(cache.read_text())
