"""Skin motion by dense optical flow, where the face mesh is blind.

MediaPipe's mesh is regularised by a learned shape prior: small and one-sided movements
(a nostril flare, one brow lifting) are smoothed away or leak onto the other side.  The
skin itself still moves, and dense optical flow sees it.  :class:`SkinFlow` removes head
motion by warping each frame onto a neutral reference frame with the similarity transform
that aligns the ``STABLE`` landmarks, runs DIS optical flow (Kroeger et al. 2016, "Fast
Optical Flow using Dense Inverse Search", ECCV) reference -> frame, and moves every
reference landmark by the flow averaged around it.  The result is a second estimate of all
478 landmarks in the frontal face frame, to which the same measures apply.
"""

from __future__ import annotations

import cv2
import numpy as np

from facetrack.face import landmarks as L
from facetrack.face.geometry import NormalisedFace, rotation_of, to_camera_axes
from facetrack.capture.landmarker import FaceFrame

STABLE = np.array(L.STABLE)
# What the landmark-based alignment left of the head motion is read from the flow at the
# stable points, those on the face outline moved this far (x IOD) toward the face centre so
# that they sample skin, not the background a real webcam keeps still behind a moving head.
# Fitting on the eight midline stable points alone (a line: its rotation and scale rest on
# a short lever) put 0.5-0.8 mm of jitter into the lips at rest (tests: still faces) and
# errors of 5-13 points into the frown and lower-lip symmetry (calibration/VALIDATION.md).
ANCHOR_INSET_IOD = 0.10
# Flow runs on a crop scaled to this eye distance.  DIS matches fixed-size patches, so a
# larger crop means patches that cover less skin: small movements next to still skin (the
# alae beside the nose, the mouth corners) are read nearer their size and less by the
# texture around them.  On ground truth (calibration/VALIDATION.md) 180 px brought the
# nostril and "i" spread symmetry errors from 11-13 to 2-4 points, at four times the cost
# (about 120 ms a frame on one core): offline analysis uses it, the live loop the fast one.
OFFLINE_IOD_PX = 180.0
LIVE_IOD_PX = 90.0
SAMPLE_RADIUS_IOD = 0.012  # flow is averaged over a small box around each landmark
# Full-resolution flow (finest pyramid scale 0): at the coarser default the flow field is
# smoothed across the edge of a small moving region and a nostril flare reads half its size.
DIS_FINEST_SCALE = 0
OCCLUSION_GREY = 40


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity (Umeyama 1991) mapping ``src`` points onto ``dst``."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - cs, dst - cd
    u, s, vt = np.linalg.svd(b.T @ a)
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    r = u @ d @ vt
    scale = float((s * np.diag(d)).sum() / (a ** 2).sum())
    m = np.zeros((2, 3))
    m[:, :2] = scale * r
    m[:, 2] = cd - m[:, :2] @ cs
    return m


def rigid_turn(ref_xyz: np.ndarray, cur_xyz: np.ndarray) -> np.ndarray:
    """3x3 rotation (Kabsch 1976) taking the ``ref_xyz`` points onto ``cur_xyz`` after
    centring and scaling.  Fitted on stable points only: MediaPipe's own head rotation is a
    fit of the whole mesh, which a lowered lip or a frown tilts by a degree or two, and that
    would be taken out of the flow as parallax of a nod that never happened."""
    a = ref_xyz - ref_xyz.mean(axis=0)
    b = cur_xyz - cur_xyz.mean(axis=0)
    u, _, vt = np.linalg.svd(b.T @ a)
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    return u @ d @ vt


# Expressions alone tilt even the stable points' fitted rotation out of the image plane by up
# to 1.3 deg on ground truth (0.45 deg at rest), and correcting that "parallax" moved the
# lower-lip and frown symmetry by over 10 points; real turns of 3 deg and more are corrected
# fully, with a linear ramp between.
PARALLAX_FROM_DEG, PARALLAX_FULL_DEG = 1.5, 3.0


def _beyond_expression_tilt(turn: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation
    out_of_plane = np.degrees(np.arccos(np.clip(turn[2, 2], -1.0, 1.0)))
    w = np.clip((out_of_plane - PARALLAX_FROM_DEG) / (PARALLAX_FULL_DEG - PARALLAX_FROM_DEG), 0.0, 1.0)
    if w >= 1.0:
        return turn
    return Rotation.from_rotvec(w * Rotation.from_matrix(turn).as_rotvec()).as_matrix()


def _sample(flow: np.ndarray, points_xy: np.ndarray) -> np.ndarray:
    """(N, 2) flow at sub-pixel ``points_xy`` (bilinear)."""
    p = points_xy.astype(np.float32)
    return cv2.remap(flow, p[:, 0].reshape(1, -1), p[:, 1].reshape(1, -1), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE).reshape(-1, 2).astype(np.float64)


class SkinFlow:
    """Flow-tracked landmarks relative to one neutral reference frame."""

    def __init__(self, ref_image_bgr: np.ndarray, ref_face: FaceFrame, ref_norm: NormalisedFace,
                 target_iod_px: float = OFFLINE_IOD_PX):
        xy = ref_face.xy.astype(np.float64)
        self.ref_face = ref_face
        iod_px = ref_norm.iod * ref_norm.px_per_unit
        self.zoom = target_iod_px / iod_px
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        margin = 0.15 * (hi - lo)
        self.origin = lo - margin
        size = (hi - lo + 2 * margin) * self.zoom
        self.size_wh = (int(np.ceil(size[0])), int(np.ceil(size[1])))
        # reference image pixels -> crop pixels
        self.to_crop = np.array([[self.zoom, 0, -self.zoom * self.origin[0]],
                                 [0, self.zoom, -self.zoom * self.origin[1]]])
        self.ref_stable = xy[STABLE]
        self.ref_rot = rotation_of(ref_face)
        self.ref_cam = to_camera_axes(ref_face.xyz_px)
        self.ref_cam_centre = self.ref_cam[STABLE].mean(axis=0)
        self.ref_points = (xy * self.zoom - self.origin * self.zoom).astype(np.float32)
        self.anchors = self._anchor_points(target_iod_px)
        self.ref_gray = self._gray(ref_image_bgr, self.to_crop)
        self.radius = max(1, int(round(SAMPLE_RADIUS_IOD * target_iod_px)))
        # crop pixels -> frontal face units: undo zoom, flip y, derotate, unit scale
        self.px_to_face = (np.diag([1.0, -1.0, 0.0]) @ self.ref_rot)[:2] / (self.zoom * ref_norm.px_per_unit)
        self.ref_xyz = ref_norm.xyz
        oval = (self.ref_points[list(L.FACE_OVAL)]).astype(np.int32)
        self.face_mask = np.zeros(self.ref_gray.shape, np.uint8)
        cv2.fillConvexPoly(self.face_mask, cv2.convexHull(oval), 1)
        self.face_area = max(int(self.face_mask.sum()), 1)
        self.grid = np.dstack(np.meshgrid(np.arange(self.size_wh[0], dtype=np.float32),
                                          np.arange(self.size_wh[1], dtype=np.float32)))
        self.occluded_fraction = 0.0
        self._last: tuple | None = None
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.dis.setFinestScale(DIS_FINEST_SCALE)

    def _anchor_points(self, iod_px: float) -> np.ndarray:
        """Crop-pixel positions where residual head motion is read, one per STABLE point."""
        pts = self.ref_points[STABLE].astype(np.float64)
        centre = self.ref_points[list(L.FACE_OVAL)].mean(axis=0)
        on_outline = np.isin(STABLE, L.FACE_OVAL)
        inward = centre - pts[on_outline]
        inward /= np.linalg.norm(inward, axis=1, keepdims=True)
        pts[on_outline] += ANCHOR_INSET_IOD * iod_px * inward
        return pts

    def _gray(self, image_bgr: np.ndarray, m: np.ndarray) -> np.ndarray:
        warped = cv2.warpAffine(image_bgr, m, self.size_wh, flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
        gray = cv2.cvtColor(warped, cv2.COLOR_BGR2GRAY)
        return gray

    def track(self, image_bgr: np.ndarray, face: FaceFrame) -> np.ndarray:
        """(478, 3) landmark estimate in the frontal face frame from skin motion alone.
        The same frame asked again (several movements measured on one recording) is not
        recomputed."""
        if self._last is not None and self._last[0] is image_bgr and self._last[1] is face:
            return self._last[2].copy()
        moved = self._track(image_bgr, face)
        self._last = (image_bgr, face, moved)
        return moved.copy()

    def _track(self, image_bgr: np.ndarray, face: FaceFrame) -> np.ndarray:
        to_ref = similarity(face.xy[STABLE].astype(np.float64), self.ref_stable)
        m = self.to_crop @ np.vstack([to_ref, [0, 0, 1]])
        gray = self._gray(image_bgr, m)
        flow = self.dis.calc(self.ref_gray, gray, None)
        self.occluded_fraction = self._unexplained(gray, flow)
        k = 2 * self.radius + 1
        flow = cv2.blur(flow, (k, k))
        parallax = self._turn_parallax(face)
        dxy = _sample(flow, self.ref_points) - parallax
        anchor_dxy = _sample(flow, self.anchors) - parallax[STABLE]
        dxy = self._remove_residual_head_motion(dxy, anchor_dxy)
        moved = self.ref_xyz.copy()
        moved += dxy @ self.px_to_face
        return moved

    def _turn_parallax(self, face: FaceFrame) -> np.ndarray:
        """Image motion of each landmark (crop px) that a rigid head turn or nod since the
        reference explains.  A 2-D alignment cannot undo it: the nose, standing out of the
        face, slides across the cheeks, and on ground truth a 4 deg turn alone read as a 5%
        of IOD one-sided mouth movement.  The reference mesh (with its depth) is turned by
        the rotation of its stable points since the reference, projected, and aligned like
        the frame was."""
        turn = rigid_turn(self.ref_cam[STABLE], to_camera_axes(face.xyz_px)[STABLE])
        turn = _beyond_expression_tilt(turn)
        cam = (self.ref_cam - self.ref_cam_centre) @ turn.T + self.ref_cam_centre
        moved = to_camera_axes(cam)[:, :2]
        back = similarity(moved[STABLE], self.ref_stable)
        moved = moved @ back[:, :2].T + back[:, 2]
        return (moved - self.ref_face.xy) * self.zoom

    def _remove_residual_head_motion(self, dxy: np.ndarray, anchor_dxy: np.ndarray) -> np.ndarray:
        """The mesh's stable points jitter, so the alignment leaves a small head motion in the
        flow; a residual roll of 0.5 degrees alone shifts a nostril against the nose bridge by
        0.4% of the IOD, one side outward and the other inward.  Fit a similarity to the flow
        at the anchors (dropping outliers once: a cheek lifted by a smile) and take it out of
        every point."""
        a = self.anchors
        m = similarity(a, a + anchor_dxy)
        err = np.linalg.norm(a @ m[:, :2].T + m[:, 2] - (a + anchor_dxy), axis=1)
        keep = err <= max(2.0 * float(np.median(err)), 0.05)
        if keep.sum() >= 4:
            m = similarity(a[keep], a[keep] + anchor_dxy[keep])
        inv = cv2.invertAffineTransform(m)
        src = self.ref_points.astype(np.float64)
        moved = src + dxy
        return moved @ inv[:, :2].T + inv[:, 2] - src

    def _unexplained(self, gray: np.ndarray, flow: np.ndarray) -> float:
        """Share of the face that skin motion does not explain: what the flow-compensated
        frame still gets wrong by more than OCCLUSION_GREY grey levels.  A hand or an object
        over the face, or a strong shadow, raises it; facial movement barely does."""
        back = cv2.remap(gray, self.grid + flow, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        diff = cv2.blur(cv2.absdiff(back, self.ref_gray), (5, 5))
        return float(((diff > OCCLUSION_GREY) & (self.face_mask > 0)).sum()) / self.face_area
