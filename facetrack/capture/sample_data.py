"""Sample videos bundled with the package (made by calibration/make_samples.py).

Installed, they are the package ``facetrack.samples``; run from a source checkout (tests,
``python -m facetrack`` in the repository) they are the repository's ``sample_videos/``.
"""

from importlib import resources
from pathlib import Path

from facetrack.errors import FacetrackError

_CHECKOUT = Path(__file__).resolve().parents[2] / "sample_videos"  # facetrack/capture/ -> the repository


def sample_dir() -> Path:
    try:
        return Path(str(resources.files("facetrack.samples")))
    except ModuleNotFoundError:
        if _CHECKOUT.is_dir():
            return _CHECKOUT
        raise FacetrackError("the bundled sample videos are missing; reinstall facetrack") from None


def sample_path(name: str) -> Path:
    path = sample_dir() / name
    if not path.is_file():
        raise FacetrackError(f"bundled sample {name} is missing; reinstall facetrack")
    return path
