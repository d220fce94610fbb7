"""The bundled MediaPipe Face Landmarker model: where it is and proof it is the right file."""

import hashlib
import os
from importlib import resources
from pathlib import Path

from facetrack.errors import FacetrackError

MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_ENV = "FACETRACK_MODEL"


def model_path(override: str | os.PathLike | None = None) -> Path:
    """The model file to load: ``override``, else ``$FACETRACK_MODEL``, else the bundled one."""
    chosen = override or os.environ.get(MODEL_ENV)
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise FacetrackError(f"model file not found: {path}")
        return path
    return Path(str(resources.files(__name__).joinpath("face_landmarker.task")))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_model_bytes(override: str | os.PathLike | None = None) -> tuple[bytes, str]:
    """Read the model and check it is the official bundle; returns (bytes, sha256).

    Any other file is refused: measurements are only comparable across sessions when
    they come from the same model, and the sha256 is recorded with every session.
    """
    path = model_path(override)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        raise FacetrackError(
            f"model {path} has sha256 {digest[:16]}..., expected the official Face Landmarker "
            f"bundle {MODEL_SHA256[:16]}...; reinstall facetrack or fix --model / ${MODEL_ENV}"
        )
    return data, digest
