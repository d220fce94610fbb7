"""The bundled MediaPipe Face Landmarker model: where it is and proof it is the right file."""

import hashlib
import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

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


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of one protobuf message, no nesting (wire types 0,
    1, 2, 5 only: all the geometry metadata uses)."""
    import struct

    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i : i + n], i + n
        elif wire == 5:
            value, i = struct.unpack("<f", buf[i : i + 4])[0], i + 4
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        else:
            raise ValueError(f"protobuf wire type {wire} not expected in the face geometry")
        yield number, wire, value


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def canonical_face_xyz(override: str | os.PathLike | None = None):
    """(468, 3) vertices of MediaPipe's canonical face, read from the model bundle's
    geometry metadata (``geometry_pipeline_metadata_landmarks.binarypb``: a
    GeometryPipelineMetadata whose mesh's vertex buffer holds x, y, z, u, v per vertex).
    It is exactly left-right symmetric; ``landmarks.MIRROR`` is checked against it."""
    import io
    import zipfile

    import numpy as np

    data, _ = load_model_bytes(override)
    meta = zipfile.ZipFile(io.BytesIO(data)).read("geometry_pipeline_metadata_landmarks.binarypb")
    mesh = next(v for n, w, v in _fields(meta) if n == 1 and w == 2)
    floats = [v for n, w, v in _fields(mesh) if n == 3 and w == 5]
    return np.array(floats, dtype=np.float64).reshape(-1, 5)[:, :3]
