"""``facetrack track``: the raw per-frame CSV researchers expect (OpenFace-like)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facetrack.capture.landmarker import BLENDSHAPE_NAMES
from facetrack.face.geometry import IRIS_DIAMETER_MM, QUALITY_FLAGS
from facetrack.face.landmarks import N_LANDMARKS
from facetrack.face.pipeline import Tracked
from facetrack.reporting.csvfile import CsvWriter
from facetrack.tables import Column, Schema, flag_columns

MEDIAPIPE = "MediaPipe Face Landmarker (the model whose sha256 `facetrack track` printed)"
POSE = "MediaPipe's facial transformation matrix, decomposed by facetrack.capture.landmarker.angles_from_transform"
_HEAD = (
    (
        Column("frame", "index", "frame number in the source, from 0", source="the video file or camera stream"),
        Column(
            "timestamp_s",
            "s",
            "frame time: index / fps for files, monotonic clock for cameras",
            source="the video file's frame rate, or the camera's arrival clock",
        ),
        Column("face_found", "0/1", "1 when a face was found in this frame", source=MEDIAPIPE),
        Column(
            "yaw_deg",
            "deg",
            "head turn (about the vertical axis)",
            positive="the nose toward the right of the picture as given (an unmirrored camera: the patient's left)",
            source=POSE,
        ),
        Column(
            "pitch_deg",
            "deg",
            "head nod (about the horizontal axis)",
            positive="the nose down (chin toward the chest)",
            source=POSE,
        ),
        Column("roll_deg", "deg", "in-plane head tilt", positive="counter-clockwise in the picture", source=POSE),
        Column(
            "n_faces",
            "count",
            "faces in view; the tracked one is followed frame to frame",
            source=MEDIAPIPE + "; the face followed: facetrack.capture.landmarker",
        ),
    )
    + flag_columns(QUALITY_FLAGS)
    + (
        Column(
            "mm_per_px",
            "mm/px",
            "this frame's scale from the iris (11.7 mm horizontal iris diameter)",
            source="facetrack.face.geometry (iris landmarks)",
        ),
        Column(
            "mirrored_input",
            "0/1",
            "1 when the input was declared mirrored and flipped back; x is in the input image's own pixels either way",
            source="the --mirrored option",
        ),
    )
)
_LANDMARK_COLUMNS = tuple(
    Column(
        f"{axis}_{i}_px",
        "px",
        f"landmark {i} {axis} in input image pixels" + (" (relative depth, image-width scale)" if axis == "z" else ""),
        positive={"x": "to the right of the input image", "y": "down the input image", "z": "away from the camera"}[
            axis
        ],
        source=MEDIAPIPE,
    )
    for i in range(N_LANDMARKS)
    for axis in "xyz"
)
_BLEND_COLUMNS = tuple(
    Column(f"bs_{n}", "0-1", f"MediaPipe blendshape score {n}", source=MEDIAPIPE) for n in BLENDSHAPE_NAMES
)
_MATRIX_COLUMNS = tuple(
    Column(
        f"m{r}{c}",
        "cm" if c == 3 and r < 3 else "1",
        f"facial transformation matrix (canonical face to camera) row {r} col {c}"
        + (": translation" if c == 3 and r < 3 else ""),
        positive="camera space: x to the right, y up, z toward the viewer (the face is at negative z)",
        source=MEDIAPIPE,
    )
    for r in range(4)
    for c in range(4)
)

TRACK_SCHEMA = Schema(_HEAD + _LANDMARK_COLUMNS + _BLEND_COLUMNS + _MATRIX_COLUMNS)
_N_EMPTY = len(_LANDMARK_COLUMNS) + len(_BLEND_COLUMNS) + len(_MATRIX_COLUMNS) + 1


def _fmt(values: np.ndarray, fmt: str) -> list[str]:
    return list(map(fmt.format, values.tolist()))  # the per-frame hot path: ~2x "%" formatting


def track_row(t: Tracked, mirrored: bool) -> list[str]:
    f = t.face
    head = [str(f.index), f"{f.timestamp_s:.4f}", "1" if f.face_found else "0"]
    if not f.face_found:
        return head + ["", "", "", "0"] + ["1" if t.flags[q] else "0" for q in QUALITY_FLAGS] + [""] * _N_EMPTY
    xyz = f.xyz_px.astype(np.float64)
    if mirrored:  # report in the pixels of the image the user gave us
        xyz[:, 0] = f.resolution_wh[0] - xyz[:, 0]
    scale = ""
    if t.norm is not None and t.norm.iris_diameter > 0:
        scale = f"{IRIS_DIAMETER_MM / (t.norm.iris_diameter * t.norm.px_per_unit):.5f}"
    return (
        head
        + [f"{f.yaw_deg:.2f}", f"{f.pitch_deg:.2f}", f"{f.roll_deg:.2f}", str(f.n_faces)]
        + ["1" if t.flags[q] else "0" for q in QUALITY_FLAGS]
        + [scale, "1" if mirrored else "0"]
        + _fmt(xyz.ravel(), "{:.2f}")
        + _fmt(f.blendshapes, "{:.4f}")
        + _fmt(f.transform.ravel(), "{:.5g}")
    )


def write_track_csv(tracked, out: Path, mirrored: bool) -> tuple[Path, int, int]:
    """Write every tracked frame; returns (path, frames, frames with a face)."""
    writer = CsvWriter(out, TRACK_SCHEMA)
    n = found = 0
    try:
        for t in tracked:
            writer.write_formatted(track_row(t, mirrored))
            n += 1
            found += t.face.face_found
    except BaseException:
        writer.close()  # keep what was recorded; the caller reports the interruption
        raise
    return writer.close(), n, found
