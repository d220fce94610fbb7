"""Pose-normalised face geometry, the millimetre scale and per-frame quality flags.

A face frame's landmarks are turned into a face-fixed, frontal frame: x toward the
patient's left, y up, z toward the camera, origin at the centroid of ``STABLE`` points,
unit = the RMS spread of those points.  Turning, tilting, moving toward or away from the
camera therefore does not change these coordinates; facial movement does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facetrack.capture.landmarker import FaceFrame
from facetrack.face import landmarks as L
from facetrack.tables import FLAG_NAMES

# Horizontal visible iris diameter of adults, 11.7 +/- 0.5 mm, as used by MediaPipe Iris
# (Ablavatski et al. 2020, "Real-time Pupil Tracking from Monocular Video for Digital
# Puppetry", arXiv:2006.11341, citing anthropometric data), and close to the 11.71 mm
# white-to-white mean of Rüfer et al. 2005 (Cornea 24:259-261).
IRIS_DIAMETER_MM = 11.7
# Fallback when no iris can be measured: adult mean distance between the eye centres
# (corner midpoints) is close to the mean interpupillary distance, ~63 mm
# (Dodgson 2004, "Variation and extrema of human interpupillary distance", SPIE 5291).
IOD_MM_FALLBACK = 63.0

MAX_TURN_DEG = 20.0
MIN_IOD_PX = 40.0  # below this one pixel is over 1.5 mm: too coarse to measure movement

QUALITY_FLAGS = FLAG_NAMES[:5]  # the flags the landmarks alone decide
STABLE = np.array(L.STABLE)


@dataclass(frozen=True)
class NormalisedFace:
    """One frame's landmarks in the frontal face frame (``xyz``, face units).

    ``px_per_unit``: image pixels per face unit in this frame; ``iris_diameter``: mean
    horizontal iris diameter of both eyes in face units; ``iod``: distance between the eye
    centres (corner midpoints) in face units.
    """

    xyz: np.ndarray
    px_per_unit: float
    iris_diameter: float
    iod: float


def rotation_of(face: FaceFrame) -> np.ndarray:
    """Head rotation (camera <- face) from MediaPipe's transformation matrix."""
    return np.asarray(face.transform, np.float64)[:3, :3]


def to_camera_axes(xyz_px: np.ndarray) -> np.ndarray:
    """Image pixels (x right, y down, z away) -> camera axes (x right, y up, z toward camera)."""
    return np.asarray(xyz_px, np.float64) * np.array([1.0, -1.0, -1.0])


def normalise(face: FaceFrame) -> NormalisedFace | None:
    """Remove head pose and distance from a face frame; None when no face was found.

    The rotation is MediaPipe's own (a weighted Procrustes fit of the canonical face,
    see MediaPipe's face_geometry "procrustes_landmark_basis"), applied as its inverse;
    translation and scale come from our ``STABLE`` points, which expressions barely move.
    """
    if not face.face_found:
        return None
    frontal = to_camera_axes(face.xyz_px) @ rotation_of(face)  # == (R^T p^T)^T
    centre = frontal[STABLE].mean(axis=0)
    spread = float(np.sqrt(((frontal[STABLE] - centre) ** 2).sum(axis=1).mean()))
    xyz = (frontal - centre) / spread
    return NormalisedFace(xyz, spread, iris_diameter(xyz), interocular(xyz))


def rigid_fit(xyz: np.ndarray, ref_xyz: np.ndarray, points) -> tuple[np.ndarray, np.ndarray]:
    """Rotation ``r`` and translation ``t`` (p -> p @ r.T + t) that move ``xyz``'s ``points``
    (N, 3) onto ``ref_xyz``'s best in least squares, no scale (Kabsch 1976, Acta Cryst
    A32:922): with a = xyz[points] - mean_a, b = ref[points] - mean_b and U S V^T = svd(a^T b),
    r = V diag(1, 1, det(V U^T)) U^T and t = mean_b - r mean_a."""
    idx = list(points)
    a, b = xyz[idx], ref_xyz[idx]
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    u, _, vt = np.linalg.svd((a - ca).T @ (b - cb))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return r, cb - ca @ r.T


def turned_onto(xyz: np.ndarray, ref_xyz: np.ndarray, points) -> np.ndarray:
    """``xyz`` moved rigidly so that its ``points`` fit ``ref_xyz``'s best (:func:`rigid_fit`)."""
    r, t = rigid_fit(xyz, ref_xyz, points)
    return xyz @ r.T + t


def eye_centre(xyz: np.ndarray, side: str) -> np.ndarray:
    g = L.BY_SIDE[side]
    return (xyz[g.eye_outer] + xyz[g.eye_inner]) / 2


def interocular(xyz: np.ndarray) -> float:
    """Distance between the eye centres (midpoints of the eye corners), gaze-independent."""
    return float(np.linalg.norm(eye_centre(xyz, "left") - eye_centre(xyz, "right")))


def iris_diameter(xyz: np.ndarray) -> float:
    """Mean horizontal iris diameter of both eyes, measured in the frontal x-y plane."""
    d = [np.linalg.norm(xyz[a, :2] - xyz[b, :2]) for a, b in (L.LEFT.iris_h, L.RIGHT.iris_h)]
    return float(np.mean(d))


def mm_per_unit(faces: list[NormalisedFace]) -> tuple[float, str]:
    """Millimetres per face unit for one person and video, and how it was found.

    Median over frames of 11.7 mm / iris diameter; the median rejects frames where the
    lids cover the iris.  With no iris seen, the interocular distance stands in (63 mm).
    """
    iris = np.array([f.iris_diameter for f in faces if f is not None and f.iris_diameter > 0])
    if iris.size:
        return IRIS_DIAMETER_MM / float(np.median(iris)), "iris"
    iod = np.array([f.iod for f in faces if f is not None])
    if iod.size:
        return IOD_MM_FALLBACK / float(np.median(iod)), "interocular"
    return float("nan"), "none"


def quality_flags(face: FaceFrame) -> dict[str, bool]:
    """Per-frame flags; a flagged frame is kept but not trusted for measures."""
    if not face.face_found:
        return {name: name == "no_face" for name in QUALITY_FLAGS}
    w, h = face.resolution_wh
    oval = face.xy[list(L.FACE_OVAL)]
    iod_px = float(np.linalg.norm(eye_centre(face.xy, "left") - eye_centre(face.xy, "right")))
    return {
        "no_face": False,
        "head_turned": abs(face.yaw_deg) > MAX_TURN_DEG or abs(face.pitch_deg) > MAX_TURN_DEG,
        "head_tilted": abs(face.roll_deg) > MAX_TURN_DEG,
        "too_small": iod_px < MIN_IOD_PX,
        "out_of_frame": bool((oval < 0).any() or (oval[:, 0] > w).any() or (oval[:, 1] > h).any()),
    }


def usable(flags: dict[str, bool]) -> bool:
    return not any(flags.values())
