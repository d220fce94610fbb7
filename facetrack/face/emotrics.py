"""Emotrics-grade static measures, per side, from one face.

Emotrics (Guarin, Dusseldorp, Hadlock & Jowett 2018, "A machine learning approach for
automated facial measurements in facial palsy", JAMA Facial Plast Surg 20:335-337; software
github.com/dguari1/Emotrics) measures photographs in a frame set by the eyes: the axis is the
line through the two iris centres, the facial midline its perpendicular bisector, and every
height is taken perpendicular to the axis.  One change, for video: the midline is the
perpendicular bisector of the eye centres (the canthi's midpoints), not of the iris centres.
A patient exercising at a screen looks at the screen, not the lens, and the irises follow the
gaze: on single_face.mp4 at rest they sit 1.8 mm to one side, which moved Emotrics' midline by
as much and made a resting commissure excursion read 4.2 mm longer on one side.  The canthi
do not move with the gaze.  The same definitions otherwise, on MediaPipe's mesh in
facetrack's pose-normalised frontal frame (x toward the patient's left, y up, face units;
multiply by the session's iris scale for mm):

- BH, brow height: from the iris centre up to the upper edge of the brow, on the vertical
  through the iris centre.
- MRD1 / MRD2, margin reflex distances: from the iris centre (standing for the corneal light
  reflex) up to the upper lid margin / down to the lower lid margin, on the same vertical.
- PFH, palpebral fissure height: upper minus lower lid margin at the middle of the fissure
  (halfway between the canthi along the axis).
- CE, commissure excursion: distance from the point where the lower lip's outer edge crosses
  the midline to the commissure.
- SA, smile angle: 90 deg plus the commissure's elevation angle seen from that lower-lip
  point (90: the corner level with the lower lip's midpoint; larger: higher).
- DS, dental show: the gap between the inner lip margins, halfway from the midline to the
  commissure (the teeth or the dark mouth seen there), 0 when the lips touch.

A lid or brow height is read where its contour (landmarks joined in straight segments)
crosses the vertical; NaN when the contour does not reach it.  MediaPipe's lids never fully
close and its mesh regularises small one-sided changes: these are the mesh's measures, fine
for posture at rest and large movements, not a substitute for the skin-corrected movement
amplitudes.
"""

from __future__ import annotations

import math

import numpy as np

from facetrack.face import landmarks as L

IRIS_CENTRE = {"left": L.LEFT.iris_center, "right": L.RIGHT.iris_center}
COMMISSURE = {"left": 291, "right": 61}  # the outer corner of each side (L.SideGroups.mouth_corner[0])

# (name, unit, definition, which way is positive): one entry per measure, in the order of
# the export's columns.  ``unit`` "mm" values come out in face units from the functions.
MEASURES: tuple[tuple[str, str, str, str], ...] = (
    ("brow_height", "mm", "iris centre to the upper edge of the brow, perpendicular to the iris line", "brow above"),
    ("mrd1", "mm", "iris centre to the upper lid margin (margin reflex distance 1)", "lid above the iris centre"),
    ("mrd2", "mm", "iris centre to the lower lid margin (margin reflex distance 2)", "lid below the iris centre"),
    ("pfh", "mm", "palpebral fissure height at the middle of the fissure (upper minus lower lid)", "eye open"),
    (
        "commissure_excursion",
        "mm",
        "lower lip's midline point to the commissure (Emotrics' commissure excursion)",
        "always >= 0",
    ),
    (
        "smile_angle",
        "deg",
        "90 + elevation angle of the commissure seen from the lower lip's midline point",
        "above 90: the corner higher than the lower lip's midpoint",
    ),
    ("dental_show", "mm", "gap between the inner lip margins halfway from the midline to the commissure", ">= 0"),
)
SOURCE = (
    "Emotrics' definitions (Guarin et al. 2018, JAMA Facial Plast Surg 20:335), on the session's MediaPipe "
    "mesh in the pose-normalised frontal frame, iris scale (facetrack.face.emotrics)"
)


def iris_frame(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(origin, u, v): the midpoint of the eye centres (on the midline), the unit vector along
    the iris line toward the patient's left, and the perpendicular unit vector upward
    (frontal x-y plane).  A gaze to the side moves both irises alike: the line keeps its
    direction."""
    right, left = xyz[IRIS_CENTRE["right"], :2], xyz[IRIS_CENTRE["left"], :2]
    u = (left - right) / np.linalg.norm(left - right)
    v = np.array([-u[1], u[0]])
    centres = [(xyz[g.eye_inner, :2] + xyz[g.eye_outer, :2]) / 2 for g in (L.LEFT, L.RIGHT)]
    return (centres[0] + centres[1]) / 2, u, v


def _project(xyz: np.ndarray, idx, frame) -> np.ndarray:
    """(N, 2) positions of landmarks ``idx`` in the iris frame: (along the axis, up)."""
    origin, u, v = frame
    p = xyz[list(idx), :2] - origin
    return np.stack([p @ u, p @ v], axis=1)


def height_at(contour: np.ndarray, x: float) -> float:
    """Height of a contour ((N, 2), joined in straight segments) where it crosses the vertical
    at ``x``; NaN when the contour does not span ``x``."""
    order = np.argsort(contour[:, 0])
    xs, ys = contour[order, 0], contour[order, 1]
    if not xs[0] <= x <= xs[-1]:
        return math.nan
    return float(np.interp(x, xs, ys))


def side_measures(xyz: np.ndarray, side: str) -> dict[str, float]:
    """Every measure of MEASURES for one side (the patient's), face units / degrees; NaN for
    all without two distinct iris centres (no face)."""
    iris = xyz[[IRIS_CENTRE["left"], IRIS_CENTRE["right"]], :2]
    if not np.isfinite(iris).all() or np.linalg.norm(iris[0] - iris[1]) < 1e-9:
        return {name: math.nan for name, _, _, _ in MEASURES}
    frame = iris_frame(xyz)
    g = L.BY_SIDE[side]
    ((px, py),) = _project(xyz, [IRIS_CENTRE[side]], frame)
    upper, lower = _project(xyz, g.upper_lid, frame), _project(xyz, g.lower_lid, frame)
    brow = _project(xyz, g.brow_upper, frame)
    canthi = _project(xyz, (g.eye_outer, g.eye_inner), frame)
    mid = float(canthi[:, 0].mean())
    lip = _project(xyz, L.LOWER_LIP_OUTER, frame)
    lip_y = height_at(lip, 0.0)
    ((cx, cy),) = _project(xyz, [COMMISSURE[side]], frame)
    excursion = math.hypot(cx, cy - lip_y)
    half = cx / 2
    gap = height_at(_project(xyz, L.LIP_INNER_UPPER, frame), half) - height_at(
        _project(xyz, L.LIP_INNER_LOWER, frame), half
    )
    return {
        "brow_height": height_at(brow, px) - py,
        "mrd1": height_at(upper, px) - py,
        "mrd2": py - height_at(lower, px),
        "pfh": height_at(upper, mid) - height_at(lower, mid),
        "commissure_excursion": excursion,
        "smile_angle": 90.0 + math.degrees(math.asin((cy - lip_y) / excursion)) if excursion > 0 else math.nan,
        "dental_show": max(gap, 0.0) if math.isfinite(gap) else math.nan,
    }


def measures_mm(xyz: np.ndarray, mm_per_unit: float) -> dict[str, dict[str, float]]:
    """side -> measure -> value in its unit (mm on the iris scale, or degrees)."""
    out = {}
    for side in L.SIDES:
        raw = side_measures(xyz, side)
        out[side] = {name: raw[name] * (mm_per_unit if unit == "mm" else 1.0) for name, unit, _, _ in MEASURES}
    return out


def column_values(values: dict[str, dict[str, float]], affected: str | None) -> dict[str, float | None]:
    """Export columns of one face's measures: ``left_<m>_<unit>``, ``right_<m>_<unit>``,
    ``<m>_diff_<unit>`` (left - right) and ``<m>_affected_pct_of_healthy`` (100 x affected /
    healthy, when the affected side is known and the healthy value is not 0)."""
    out: dict[str, float | None] = {}
    for name, unit, _, _ in MEASURES:
        lv, rv = values["left"][name], values["right"][name]
        out[f"left_{name}_{unit}"] = lv
        out[f"right_{name}_{unit}"] = rv
        out[f"{name}_diff_{unit}"] = lv - rv
        pct = None
        if affected in ("left", "right"):
            a, h = (lv, rv) if affected == "left" else (rv, lv)
            if math.isfinite(a) and math.isfinite(h) and abs(h) > 1e-9:
                pct = 100.0 * a / h
        out[f"{name}_affected_pct_of_healthy"] = pct
    return out
