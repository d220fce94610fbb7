"""The boundary with MediaPipe: the only module that imports ``mediapipe``.

``from_mediapipe`` turns a FaceLandmarker result into a :class:`FaceFrame`, a small numpy
dataclass; nothing downstream sees a MediaPipe type.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
from dataclasses import dataclass, field

import numpy as np

import facetrack  # noqa: F401  (sets native log levels first)
from facetrack.capture.model import load_model_bytes
from facetrack.capture.source import Frame
from facetrack.errors import FacetrackError

N_BLENDSHAPES = 52
BLENDSHAPE_NAMES = (
    "_neutral",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "eyeSquintLeft",
    "eyeSquintRight",
    "eyeWideLeft",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "noseSneerLeft",
    "noseSneerRight",
)
MAX_FACES = 4
_OUTLINE = (
    10,
    152,
    234,
    454,
    127,
    356,
    58,
    288,
)  # enough of the face oval for size and centre  # look for a few so we can keep following the same person


@dataclass
class FaceFrame:
    """One frame's face, in pixels of the camera image (never display-mirrored).

    ``xyz_px``: (478, 3) float32; x, y in pixels (sub-pixel), z in the same pixel scale
    (MediaPipe's relative depth times image width; smaller is nearer the camera).
    ``transform``: MediaPipe's 4x4 facial transformation matrix (canonical face -> camera).
    Angles in degrees: yaw (turn), pitch (nod), roll (in-plane tilt, positive is
    counter-clockwise in the image).
    """

    index: int
    timestamp_s: float
    resolution_wh: tuple[int, int]
    face_found: bool
    n_faces: int = 0
    xyz_px: np.ndarray = field(default_factory=lambda: np.full((478, 3), np.nan, np.float32))
    blendshapes: np.ndarray = field(default_factory=lambda: np.full(N_BLENDSHAPES, np.nan, np.float32))
    transform: np.ndarray = field(default_factory=lambda: np.full((4, 4), np.nan, np.float32))
    yaw_deg: float = math.nan
    pitch_deg: float = math.nan
    roll_deg: float = math.nan

    @property
    def xy(self) -> np.ndarray:
        return self.xyz_px[:, :2]


def angles_from_transform(matrix: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch, roll in degrees from the rotation part of the transformation matrix.

    The matrix maps MediaPipe's canonical face (x to the image right, y up, z toward the
    camera) into camera space; we decompose R = Rz(roll) Ry(yaw) Rx(pitch).
    """
    r = np.asarray(matrix, dtype=np.float64)[:3, :3]
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, -r[2, 0]))))
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return yaw, pitch, roll


def _face_area_and_center(xy: np.ndarray) -> tuple[float, np.ndarray]:
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    return float(np.prod(hi - lo)), (lo + hi) / 2


# fd 2 is the process's: two landmarkers starting in two threads (capture/mirror.py) must not
# interleave their redirections, or the second one "restores" /dev/null and every later error
# message is lost (it was: `analyze` on a clip with no face exited 1 with nothing said).
_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _native_stderr_silenced():
    """MediaPipe's C++ side logs banner lines to fd 2 on start-up and first inference;
    a user must see only our one-line messages."""
    with _STDERR_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


# Identity by rigid face shape (eye corners, nose, temples, forehead) up to a 2-D affine map.
# Measured on the test media: one person moves <= 0.044 (a talking, turning head; the same
# face anywhere in the frame <= 0.073), different people differ by 0.062-0.23.
RIGID_POINTS = (33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1, 234, 454, 127, 356, 10, 151, 9, 8)
SAME_PERSON_RMS = 0.08
SIGNATURE_FRAMES = 10


def shape_signature(xyz_px: np.ndarray) -> np.ndarray:
    """Image (x, y) of RIGID_POINTS, centred, unit RMS: compared by :func:`shape_distance`."""
    q = xyz_px[list(RIGID_POINTS), :2].astype(np.float64)
    q = q - q.mean(axis=0)
    return (q / np.sqrt((q**2).sum(axis=1).mean())).ravel()


def shape_distance(a: np.ndarray, b: np.ndarray) -> float:
    """RMS difference of two signatures after the best 2-D affine map of ``a`` onto ``b``:
    position, size, tilt and the foreshortening of a moderately turned head (or of a face
    off the image centre) do not make a different person; the face's own proportions do."""
    p, q = a.reshape(-1, 2), b.reshape(-1, 2)
    design = np.hstack([p, np.ones((len(p), 1))])
    coef, *_ = np.linalg.lstsq(design, q, rcond=None)
    return float(np.sqrt(((design @ coef - q) ** 2).sum(axis=1).mean()))


class Landmarker:
    """MediaPipe FaceLandmarker in VIDEO mode; one per run, closed at the end.

    Several faces in view: it starts with the largest and then follows the same person: the
    face whose rigid shape (:func:`shape_signature`) is clearly the closest to the one it
    learned in the first frames, else the face nearest the one followed in the previous
    frame (people who swap places, a visitor leaning in, keep their own identity).
    """

    def __init__(self, model: str | os.PathLike | None = None, max_faces: int = MAX_FACES):
        self.model_bytes, self.model_sha256 = load_model_bytes(model)
        self.max_faces = max_faces
        self._last_ms = -1
        self._last_center: np.ndarray | None = None
        self._signatures: list[np.ndarray] = []  # of the followed face, first frames
        self._calls = 0
        with _native_stderr_silenced():
            self._lm = self._create()

    def _create(self):
        import mediapipe as mp
        from mediapipe.tasks.python import vision
        from mediapipe.tasks.python.core.base_options import BaseOptions

        self._mp = mp
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=self.model_bytes),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=self.max_faces,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        try:
            return vision.FaceLandmarker.create_from_options(options)
        except Exception as exc:  # MediaPipe raises RuntimeError/ValueError with C++ text
            raise FacetrackError(f"could not start the face landmarker: {str(exc).splitlines()[0]}") from None

    def detect_raw(self, frame: Frame):
        """The bare MediaPipe call (used by the benchmark as its baseline)."""
        import cv2

        ms = max(round(frame.timestamp_s * 1000), self._last_ms + 1)
        self._last_ms = ms
        rgb = cv2.cvtColor(frame.image_bgr, cv2.COLOR_BGR2RGB)
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        self._calls += 1
        if self._calls <= 2:  # the graph's threads log on their first runs
            with _native_stderr_silenced():
                return self._lm.detect_for_video(image, ms)
        return self._lm.detect_for_video(image, ms)

    def detect(self, frame: Frame) -> FaceFrame:
        return self.from_mediapipe(self.detect_raw(frame), frame)

    def from_mediapipe(self, result, frame: Frame) -> FaceFrame:
        w, h = frame.resolution_wh
        faces = result.face_landmarks or []
        if not faces:
            return FaceFrame(frame.index, frame.timestamp_s, (w, h), face_found=False)
        all_xyz = [np.array([(p.x, p.y, p.z) for p in f], np.float32) * np.array([w, h, w], np.float32) for f in faces]
        matrices = [np.array(m, np.float32) for m in result.facial_transformation_matrixes]
        k = self._choose([x[list(_OUTLINE), :2] for x in all_xyz], [shape_signature(x) for x in all_xyz])
        xyz, matrix = all_xyz[k], matrices[k]
        blend = np.array([c.score for c in result.face_blendshapes[k]], np.float32)
        yaw, pitch, roll = angles_from_transform(matrix)
        return FaceFrame(frame.index, frame.timestamp_s, (w, h), True, len(faces), xyz, blend, matrix, yaw, pitch, roll)

    def _choose(self, outlines: list[np.ndarray], signatures: list[np.ndarray]) -> int:
        stats = [_face_area_and_center(xy) for xy in outlines]
        if self._last_center is None or len(outlines) == 1:
            k = int(np.argmax([a for a, _ in stats])) if self._last_center is None else 0
        else:
            k = int(np.argmin([np.linalg.norm(c - self._last_center) for _, c in stats]))
            if len(self._signatures) >= SIGNATURE_FRAMES:
                known = np.mean(self._signatures, axis=0)
                d = np.array([shape_distance(s, known) for s in signatures])
                best, second = np.sort(d)[:2]
                if best < SAME_PERSON_RMS and best < 0.5 * second:
                    k = int(np.argmin(d))
        if len(self._signatures) < SIGNATURE_FRAMES:
            self._signatures.append(signatures[k])
        self._last_center = stats[k][1]
        return k

    def close(self) -> None:
        if self._lm is not None:
            self._lm.close()
            self._lm = None

    def __enter__(self) -> Landmarker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
