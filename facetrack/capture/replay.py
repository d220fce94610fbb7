"""A landmarker that replays stored faces: the pipeline without MediaPipe.

:func:`save_face_frames` keeps the :class:`FaceFrame` s a real landmarker found in a clip
(``.npz``: landmarks in pixels (to 1/256 px), transformation matrix, blendshapes, found flag,
face count, head angles, frame index, timestamp, resolution); :class:`ReplayLandmarker`
gives them back, frame by frame, to a :class:`facetrack.face.pipeline.Tracker`.  Sessions,
the recorder, the overlay and the reports then run on real landmarks in tests that never
load the model.  This module must not import ``mediapipe`` (only ``capture/landmarker.py``
does).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from facetrack.capture.landmarker import FaceFrame
from facetrack.capture.source import Frame
from facetrack.errors import FacetrackError

FORMAT_VERSION = 1
TIME_TOLERANCE_S = 1e-3  # a replayed face belongs to the frame at the same time
# Landmarks are kept to 1/256 px (the store keeps 1/16 px; MediaPipe's own frame-to-frame
# jitter is ~0.1 px) as int32 differences from the previous frame: a third of the size.
XYZ_STEP_PX = 1 / 256


def _pack_xyz(frames: list[FaceFrame]) -> np.ndarray:
    q = np.zeros((len(frames), 478, 3), np.int64)
    for k, f in enumerate(frames):
        if f.face_found:
            q[k] = np.round(np.asarray(f.xyz_px, np.float64) / XYZ_STEP_PX)
    return np.diff(q, axis=0, prepend=0).astype(np.int32)


def _unpack_xyz(delta: np.ndarray, found: np.ndarray) -> np.ndarray:
    xyz = (np.cumsum(delta.astype(np.int64), axis=0) * XYZ_STEP_PX).astype(np.float32)
    xyz[~found] = np.nan
    return xyz


def save_face_frames(path: str | os.PathLike, frames: Iterable[FaceFrame], model_sha256: str = "") -> Path:
    """Write ``frames`` (in order) to ``path`` (.npz, owner-only); returns the path."""
    frames = list(frames)
    if not frames:
        raise FacetrackError("no face frames to save")
    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "model_sha256": np.array(model_sha256),
        "index": np.array([f.index for f in frames], np.int64),
        "timestamp_s": np.array([f.timestamp_s for f in frames], np.float64),
        "resolution_wh": np.array([f.resolution_wh for f in frames], np.int32),
        "face_found": np.array([f.face_found for f in frames], bool),
        "n_faces": np.array([f.n_faces for f in frames], np.int32),
        "xyz_delta": _pack_xyz(frames),
        "blendshapes": np.stack([np.asarray(f.blendshapes, np.float32) for f in frames]),
        "transform": np.stack([np.asarray(f.transform, np.float32) for f in frames]),
        "angles_deg": np.array([(f.yaw_deg, f.pitch_deg, f.roll_deg) for f in frames], np.float64),
    }
    path = Path(path)
    # written beside and renamed into place: a reader (another process of a validation run
    # sharing the faces cache) sees the whole file or none; it read a half-written one once
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_face_frames(path: str | os.PathLike) -> tuple[list[FaceFrame], str]:
    """The frames saved by :func:`save_face_frames` and the sha256 of the model that found them."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["format_version"]) != FORMAT_VERSION:
                raise FacetrackError(
                    f"{path}: face frames of format {int(z['format_version'])}, this facetrack reads {FORMAT_VERSION}"
                )
            d = {k: z[k] for k in z.files}
        d["xyz_px"] = _unpack_xyz(d["xyz_delta"], d["face_found"])
    except (OSError, KeyError, ValueError) as exc:
        raise FacetrackError(f"cannot read face frames from {path}: {exc}") from None
    frames = []
    for k in range(len(d["index"])):
        yaw, pitch, roll = (float(a) for a in d["angles_deg"][k])
        frames.append(
            FaceFrame(
                int(d["index"][k]),
                float(d["timestamp_s"][k]),
                (int(d["resolution_wh"][k][0]), int(d["resolution_wh"][k][1])),
                bool(d["face_found"][k]),
                int(d["n_faces"][k]),
                d["xyz_px"][k].copy(),
                d["blendshapes"][k].copy(),
                d["transform"][k].copy(),
                yaw,
                pitch,
                roll,
            )
        )
    return frames, str(d["model_sha256"])


class ReplayLandmarker:
    """The Landmarker interface (``detect``, ``model_sha256``, ``close``) over stored faces.

    ``detect(frame)`` returns the stored face of the frame with the same index; it refuses a
    frame whose time or size differs from the stored one (the wrong clip, or frames out of
    step), and a frame beyond the stored ones.  ``model_sha256`` is that of the model which
    found the stored faces.
    """

    def __init__(self, frames: str | os.PathLike | Iterable[FaceFrame], model_sha256: str | None = None):
        if isinstance(frames, (str, os.PathLike)):
            stored, sha = load_face_frames(frames)
        else:
            stored, sha = list(frames), ""
        self.model_sha256 = model_sha256 if model_sha256 is not None else sha
        self._by_index = {f.index: f for f in stored}
        self.calls = 0
        self.closed = False

    def __len__(self) -> int:
        return len(self._by_index)

    def detect(self, frame: Frame) -> FaceFrame:
        if self.closed:
            raise FacetrackError("the replay landmarker is closed")
        face = self._by_index.get(frame.index)
        if face is None:
            raise FacetrackError(f"no stored face for frame {frame.index} ({len(self)} frames stored)")
        if abs(face.timestamp_s - frame.timestamp_s) > TIME_TOLERANCE_S:
            raise FacetrackError(
                f"frame {frame.index} is at {frame.timestamp_s:.3f} s, the stored face at "
                f"{face.timestamp_s:.3f} s: not the recorded clip"
            )
        if tuple(face.resolution_wh) != tuple(frame.resolution_wh):
            raise FacetrackError(
                f"frame {frame.index} is {frame.resolution_wh}, the stored face was found in "
                f"{face.resolution_wh}: not the recorded clip"
            )
        self.calls += 1
        return FaceFrame(
            face.index,
            face.timestamp_s,
            face.resolution_wh,
            face.face_found,
            face.n_faces,
            face.xyz_px.copy(),
            face.blendshapes.copy(),
            face.transform.copy(),
            face.yaw_deg,
            face.pitch_deg,
            face.roll_deg,
        )

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> ReplayLandmarker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
