"""Landmarks that do not depend on which way round the image is: the frame and its mirror.

MediaPipe's landmarker is not mirror-symmetric: the same face read from a clip and from the
clip flipped left-right gives meshes that differ by more than the flip, and on the real
clips of calibration/VALIDATION.md a healthy smile read 96% one way and 92% the other from
the mesh alone (the iris scale differed by 5%).  A patient's reading must not depend on
whether the camera mirrors its picture.  :class:`MirrorAveraged` therefore reads every
frame twice, as it is and flipped (two landmarkers, the flipped one in a second thread:
MediaPipe releases the GIL, so on two cores the pair costs about 1.25 times one reading),
maps the flipped reading back (x -> width - 1 - x, each landmark to its mirror counterpart,
``landmarks.MIRROR``) and averages the two.  The result is mirror-equivariant by
construction: the flipped video gives the flipped mesh, up to float rounding.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from facetrack.capture.landmarker import BLENDSHAPE_NAMES, FaceFrame, Landmarker, angles_from_transform
from facetrack.capture.source import Frame
from facetrack.face.landmarks import MIRROR

_MIRROR = np.array(MIRROR)
_FLIP4 = np.diag([-1.0, 1.0, 1.0, 1.0])


def _swap_name(name: str) -> str:
    if name.endswith("Left"):
        return name[:-4] + "Right"
    if name.endswith("Right"):
        return name[:-5] + "Left"
    return name


_BLEND_MIRROR = np.array([BLENDSHAPE_NAMES.index(_swap_name(n)) for n in BLENDSHAPE_NAMES])
# The flipped reading is of another face when its outline centre, mapped back, is further
# than this (x face width) from the direct one (two people in view, each reading chose a
# different one): the direct reading is then kept alone.
SAME_FACE_FRACTION = 0.25


def unflip(face: FaceFrame) -> FaceFrame:
    """A reading of the flipped image as a reading of the image itself."""
    if not face.face_found:
        return face
    # cv2.flip sends pixel column j to w - 1 - j, and the crops of face/skin.py sample the
    # image at landmark x as a column index: the same map keeps landmarks on their pixels
    w = face.resolution_wh[0]
    xyz = face.xyz_px[_MIRROR].copy()
    xyz[:, 0] = (w - 1) - xyz[:, 0]
    transform = (_FLIP4 @ face.transform.astype(np.float64) @ _FLIP4).astype(np.float32)
    yaw, pitch, roll = angles_from_transform(transform)
    blend = face.blendshapes[_BLEND_MIRROR]
    return FaceFrame(
        face.index, face.timestamp_s, face.resolution_wh, True, face.n_faces, xyz, blend, transform, yaw, pitch, roll
    )


def _mean_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rotation nearest (a + b) / 2 (orthogonal polar factor)."""
    u, _, vt = np.linalg.svd((a + b) / 2)
    r = u @ vt
    if np.linalg.det(r) < 0:
        u[:, -1] *= -1
        r = u @ vt
    return r


def average(own: FaceFrame, flipped_back: FaceFrame) -> FaceFrame:
    """The mean of a reading and the unflipped reading of the mirror image (``unflip``)."""
    if not (own.face_found and flipped_back.face_found):
        return own
    xy_a, xy_b = own.xy.astype(np.float64), flipped_back.xy.astype(np.float64)
    width = float(np.ptp(xy_a[:, 0]))
    if np.linalg.norm(xy_a.mean(axis=0) - xy_b.mean(axis=0)) > SAME_FACE_FRACTION * max(width, 1.0):
        return own
    xyz = ((own.xyz_px.astype(np.float64) + flipped_back.xyz_px) / 2).astype(np.float32)
    ta, tb = own.transform.astype(np.float64), flipped_back.transform.astype(np.float64)
    transform = (ta + tb) / 2
    transform[:3, :3] = _mean_rotation(ta[:3, :3], tb[:3, :3])
    yaw, pitch, roll = angles_from_transform(transform)
    blend = (own.blendshapes + flipped_back.blendshapes) / 2
    return FaceFrame(
        own.index,
        own.timestamp_s,
        own.resolution_wh,
        True,
        own.n_faces,
        xyz,
        blend.astype(np.float32),
        transform.astype(np.float32),
        yaw,
        pitch,
        roll,
    )


class MirrorAveraged:
    """Two MediaPipe landmarkers, one on the frame and one on its mirror image, averaged."""

    def __init__(self, model=None):
        self.own = Landmarker(model)
        try:
            self.flipped = Landmarker(model)
        except BaseException:
            self.own.close()
            raise
        self.model_sha256 = self.own.model_sha256
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="facetrack-mirror")

    def detect(self, frame: Frame) -> FaceFrame:
        mirror = Frame(cv2.flip(frame.image_bgr, 1), frame.timestamp_s, frame.index)
        pending = self._pool.submit(self.flipped.detect, mirror)
        own = self.own.detect(frame)
        return average(own, unflip(pending.result()))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.own.close()
        self.flipped.close()

    def __enter__(self) -> MirrorAveraged:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
