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
