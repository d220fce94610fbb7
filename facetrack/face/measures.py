"""Per-side facial measures: pure numpy functions on pose-normalised landmarks.

Every function takes ``xyz`` of shape (..., 478, 3) in the frontal face frame of
:mod:`facetrack.face.geometry` (x toward the patient's left, y up, face units) and a side
(``"left"``/``"right"``, the patient's), and returns an array of shape (...): one value per
frame.  Only the frontal x-y plane is used: MediaPipe's depth is the noisiest coordinate
and clinical photographs measure in this plane too.

``s`` below is +1 for the patient's left and -1 for the right, so ``s * x`` is the
distance outward from the midline on that side.
"""

from __future__ import annotations

import numpy as np

from facetrack.face import landmarks as L

# x of the facial midline: the nose bridge, clear of the alae so a flaring nostril cannot drag it
MIDLINE_NOSE = (168, 6, 197, 195)


def _sign(side: str) -> float:
    return 1.0 if side == "left" else -1.0


def _mean(xyz: np.ndarray, idx) -> np.ndarray:
    return xyz[..., list(idx), :2].mean(axis=-2)


def midline_x(xyz: np.ndarray) -> np.ndarray:
    return xyz[..., list(MIDLINE_NOSE), 0].mean(axis=-1)


def eye_line_y(xyz: np.ndarray, side: str) -> np.ndarray:
    g = L.BY_SIDE[side]
    return xyz[..., [g.eye_inner, g.eye_outer], 1].mean(axis=-1)


def brow_height(xyz: np.ndarray, side: str) -> np.ndarray:
    """Mean brow height above the eye line (the line through the eye corners).

    The clinical brow position is measured from the brow to a fixed ocular landmark
    (pupil or canthi), e.g. the eFACE brow item (Banks et al. 2015, JAMA Facial Plast Surg
    17:117) and Sunnybrook's brow (Ross et al. 1996); the canthi move least with gaze.
    """
    return _mean(xyz, L.BY_SIDE[side].brow)[..., 1] - eye_line_y(xyz, side)


def inner_brow_medial_down(xyz: np.ndarray, side: str) -> np.ndarray:
    """Frown: position of the inner brow along the medial-downward diagonal.

    q = -(s*(x_b - x_mid) + (y_b - y_eye)) / sqrt(2): grows as the corrugator pulls the
    inner brow toward the midline and down (Sunnybrook "brow" / corrugator action).
    """
    b = _mean(xyz, L.BY_SIDE[side].brow_inner)
    out = _sign(side) * (b[..., 0] - midline_x(xyz))
    up = b[..., 1] - eye_line_y(xyz, side)
    return -(out + up) / np.sqrt(2.0)


def eye_aperture(xyz: np.ndarray, side: str) -> np.ndarray:
    """Palpebral aperture: mean vertical lid distance over three upper/lower lid pairs
    across the fissure (medial, central, lateral thirds), like the MRD1+MRD2 fissure height.
    A residual aperture at maximal closure is lagophthalmos."""
    pairs = L.BY_SIDE[side].lid_pairs
    up = xyz[..., [a for a, _ in pairs], :2]
    lo = xyz[..., [b for _, b in pairs], :2]
    return np.linalg.norm(up - lo, axis=-1).mean(axis=-1)


def alar_width(xyz: np.ndarray, side: str) -> np.ndarray:
    """Half nose width: outward distance of the lateral ala from the facial midline."""
    return _sign(side) * (_mean(xyz, L.BY_SIDE[side].alar)[..., 0] - midline_x(xyz))


def alar_to_inner_canthus(xyz: np.ndarray, side: str) -> np.ndarray:
    """Nose wrinkle: distance between the alar base and the inner eye corner; the levator
    labii superioris alaeque nasi shortens it."""
    g = L.BY_SIDE[side]
    return np.linalg.norm(_mean(xyz, g.alar_base) - xyz[..., g.eye_inner, :2], axis=-1)


def corner_from_midline(xyz: np.ndarray, side: str) -> np.ndarray:
    """Mouth-corner (commissure) distance from the facial midline."""
    return _sign(side) * (_mean(xyz, L.BY_SIDE[side].mouth_corner)[..., 0] - midline_x(xyz))


def corner_out_up(xyz: np.ndarray, side: str) -> np.ndarray:
    """Commissure position along the outward-upward diagonal, (s*x + y) / sqrt(2).

    Smile excursion is the corner's travel up and out (Manktelow et al. 2008, Plast
    Reconstr Surg 122:1709: "commissure excursion"); the 45 degree diagonal weighs both.
    """
    c = _mean(xyz, L.BY_SIDE[side].mouth_corner)
    return (_sign(side) * (c[..., 0] - midline_x(xyz)) + c[..., 1]) / np.sqrt(2.0)


def corner_height(xyz: np.ndarray, side: str) -> np.ndarray:
    """Mouth-corner height in the face frame (for resting symmetry: a drooping corner)."""
    return _mean(xyz, L.BY_SIDE[side].mouth_corner)[..., 1]


def upper_lip_to_ala(xyz: np.ndarray, side: str) -> np.ndarray:
    """Vertical distance from this side's upper lip to its alar base (shortens as the
    levator labii superioris shows the upper gum)."""
    g = L.BY_SIDE[side]
    return _mean(xyz, g.alar_base)[..., 1] - _mean(xyz, g.upper_lip)[..., 1]


def lower_lip_height(xyz: np.ndarray, side: str) -> np.ndarray:
    """Height of this side's lower lip in the face frame (drops as the depressor labii
    inferioris shows the lower gum)."""
    return _mean(xyz, L.BY_SIDE[side].lower_lip)[..., 1]


def lip_points(side: str) -> tuple[int, ...]:
    g = L.BY_SIDE[side]
    return g.upper_lip + g.lower_lip + g.mouth_corner


def lip_displacement(xyz: np.ndarray, neutral: np.ndarray, side: str) -> np.ndarray:
    """Lip hold: mean in-plane displacement of this side's lip points from neutral, the
    mobility of that half of the orbicularis oris while it moves a held object."""
    idx = list(lip_points(side))
    return np.linalg.norm(xyz[..., idx, :2] - neutral[idx, :2], axis=-1).mean(axis=-1)


def corner_displacement(xyz: np.ndarray, neutral: np.ndarray, side: str) -> np.ndarray:
    """In-plane displacement of the mouth corner from neutral (for synkinesis)."""
    idx = list(L.BY_SIDE[side].mouth_corner)
    return np.linalg.norm(_mean(xyz, idx) - _mean(neutral, idx), axis=-1)
