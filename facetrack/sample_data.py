"""Sample videos bundled with the package (made by calibration/generate.py)."""

from importlib import resources
from pathlib import Path

from facetrack.errors import FacetrackError


def sample_dir() -> Path:
    return Path(str(resources.files("facetrack.samples")))


def sample_path(name: str) -> Path:
    path = sample_dir() / name
    if not path.is_file():
        raise FacetrackError(f"bundled sample {name} is missing; reinstall facetrack")
    return path
