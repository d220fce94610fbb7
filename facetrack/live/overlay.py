"""Pure drawing: ``annotate(scene, state) -> scene``.  No measuring happens here.

Layout keeps the middle of the frame, where the face is, clear: per-side bars stand at the
frame's outer edges, text sits in bands at the top and bottom.  Every bar carries a word
and a number as well as a colour, so colour is never the only cue.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np

from facetrack.face import landmarks as L

FONT = cv2.FONT_HERSHEY_DUPLEX
WHITE, BLACK = (255, 255, 255), (0, 0, 0)
# Okabe-Ito blue and vermillion (BGR), the same as the plots.
SIDE_BGR = {"left": (178, 114, 0), "right": (0, 94, 213)}
WARN_BGR = (0, 200, 255)


@dataclass
class OverlayState:
    """Everything the overlay shows; built by the session or ``analyze`` from measures."""

    title: str = ""
    subtitle: str = ""
    bars: dict[str, float] = field(default_factory=dict)  # side -> 0..1 of the target movement
    bar_text: dict[str, str] = field(default_factory=dict)  # side -> e.g. "4.2 mm"
    symmetry_text: str = ""
    rep_text: str = ""
    hold_text: str = ""
    warnings: list[str] = field(default_factory=list)
    big_text: str = ""
    side_label: str = "YOUR"  # "YOUR LEFT" for patients, "PATIENT" for clinicians
    mirrored: bool = True  # display mirrored (the patient's left on the screen's left)
    points_xy: np.ndarray | None = None  # measured landmarks, input image pixels
    lines: list[str] = field(default_factory=list)  # a panel of lines (summary screen)
    keys_text: str = ""  # the keys, always shown small at the very bottom
    paused: bool = False  # a PAUSED banner across the middle: the picture is not frozen
    view: str = "camera"  # "camera": the picture; "mesh": the tracked face mesh on a plain ground
    mesh_xy: np.ndarray | None = None  # (478, 2) all landmarks, input image pixels (mesh view)


def _scale(img: np.ndarray) -> float:
    return max(img.shape[0] / 480.0, 0.6)


def put_text(img, text, org, size=1.0, color=WHITE, thickness=2, anchor="left", max_width=None):
    """Text with a dark outline, legible on any background; made smaller to fit ``max_width``
    px if given (a long instruction on a small camera picture)."""
    s = size * _scale(img)
    th = max(1, round(thickness * _scale(img)))
    (w, h), _ = cv2.getTextSize(text, FONT, s, th)
    if max_width is not None and w > max_width:
        s *= max_width / w
        (w, h), _ = cv2.getTextSize(text, FONT, s, th)
    x, y = org
    if anchor == "center":
        x -= w // 2
    elif anchor == "right":
        x -= w
    # the outline is the text itself drawn around its place, not drawn thicker: OpenCV 5 draws
    # thicker glyphs wider, and a thick dark copy stuck out past the text's end as a ghost
    # letter on a small picture (400x300: "(resisted)d)")
    r = max(1, round(1.5 * _scale(img)))
    for dx, dy in ((-r, -r), (r, r), (-r, r), (r, -r)):  # four copies suffice: +1.5 ms a frame at 640x480
        cv2.putText(img, text, (int(x) + dx, int(y) + dy), FONT, s, BLACK, th, cv2.LINE_AA)
    cv2.putText(img, text, (int(x), int(y)), FONT, s, color, th, cv2.LINE_AA)
    return w, h


def _band(img, y0, y1, alpha=0.55):
    roi = img[max(y0, 0) : max(y1, 0)]
    roi[:] = (roi * (1 - alpha)).astype(np.uint8)


def _bar(img, side: str, value: float, text: str, label: str, on_left: bool):
    h, w = img.shape[:2]
    k = _scale(img)
    bw, top, bottom = int(34 * k), int(h * 0.30), int(h * 0.80)
    x0 = int(10 * k) if on_left else w - int(10 * k) - bw
    cv2.rectangle(img, (x0, top), (x0 + bw, bottom), (40, 40, 40), -1)
    fill = int((bottom - top) * float(np.clip(value, 0, 1.2)) / 1.2)
    cv2.rectangle(img, (x0, bottom - fill), (x0 + bw, bottom), SIDE_BGR[side], -1)
    target = bottom - int((bottom - top) / 1.2)  # the full-movement mark (1.0)
    cv2.line(img, (x0 - 4, target), (x0 + bw + 4, target), WHITE, 2)
    cv2.rectangle(img, (x0, top), (x0 + bw, bottom), WHITE, 2)
    anchor, tx = ("left", x0) if on_left else ("right", x0 + bw)
    put_text(img, f"{label} {side.upper()}", (tx, top - int(30 * k)), 0.6, anchor=anchor)
    if text:
        put_text(img, text, (tx, top - int(8 * k)), 0.6, anchor=anchor)


VIEWS = ("camera", "mesh")
MESH_GROUND_BGR = (38, 34, 30)
MESH_EDGE_BGR = (120, 120, 120)


@functools.cache
def mesh_edges() -> np.ndarray:
    """(E, 2) landmark index pairs drawn in the mesh view: the Delaunay triangulation of the
    bundled model's canonical face seen from the front (its 468 surface points), so the
    drawing's topology is fixed and does not flicker.  Edges over 3x the median length are
    the hull bridging the outline's concave parts (under the chin, at the temples): dropped."""
    from scipy.spatial import Delaunay

    from facetrack.capture.model import canonical_face_xyz

    xy = canonical_face_xyz()[:, :2]
    tri = Delaunay(xy).simplices
    edges = np.unique(np.sort(np.vstack([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]]), axis=1), axis=0)
    length = np.linalg.norm(xy[edges[:, 0]] - xy[edges[:, 1]], axis=1)
    return edges[length <= 3 * np.median(length)]


def _outline(side: L.SideGroups) -> list[tuple[int, ...]]:
    """The features of one side, each drawn as a closed outline: brow, eye, half lips."""
    eye = (side.eye_inner,) + tuple(u for u, _ in side.lid_pairs) + (side.eye_outer,)
    eye += tuple(lo for _, lo in reversed(side.lid_pairs))
    return [side.brow, eye, side.upper_lip + side.mouth_corner + side.lower_lip]


def draw_mesh(shape_hw: tuple[int, int], xy: np.ndarray | None) -> np.ndarray:
    """A plain picture of the face: the tracked mesh in grey, the face outline in white and
    each side's brow, eye and lips in that side's colour (image pixels, not mirrored)."""
    img = np.empty((*shape_hw, 3), np.uint8)
    img[:] = MESH_GROUND_BGR
    if xy is None or not np.isfinite(xy).all():
        return img
    k = max(shape_hw[0] / 480.0, 0.6)
    p = np.round(xy * 16).astype(np.int32)  # 4 fractional bits: smooth lines at any size
    e = mesh_edges()
    for a, b in zip(p[e[:, 0]], p[e[:, 1]]):
        cv2.line(img, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), MESH_EDGE_BGR, 1, cv2.LINE_AA, shift=4)
    th = max(1, round(2 * k))
    cv2.polylines(img, [p[list(L.FACE_OVAL)]], True, WHITE, th, cv2.LINE_AA, shift=4)
    for name, side in L.BY_SIDE.items():
        for group in _outline(side):
            hull = cv2.convexHull(p[list(group)])
            cv2.polylines(img, [hull], True, SIDE_BGR[name], th, cv2.LINE_AA, shift=4)
    return img


def annotate(scene_bgr: np.ndarray, state: OverlayState) -> np.ndarray:
    """Return a new image: the (optionally mirrored) scene, or in the mesh view the face's
    mesh on a plain ground (no camera picture), with the state drawn on it."""
    if state.view == "mesh":
        scene_bgr = draw_mesh(scene_bgr.shape[:2], state.mesh_xy)
    img = np.ascontiguousarray(scene_bgr[:, ::-1]) if state.mirrored else scene_bgr.copy()
    h, w = img.shape[:2]
    k = _scale(img)
    if state.points_xy is not None:
        pts = state.points_xy.copy()
        if state.mirrored:
            pts[:, 0] = w - pts[:, 0]
        for x, y in pts.astype(int):
            cv2.circle(img, (int(x), int(y)), max(1, int(k)), (200, 255, 200), -1, cv2.LINE_AA)
    # The top band holds all the words, so the face (brows included) stays uncovered.
    _band(img, 0, int(96 * k))
    put_text(img, state.title, (int(12 * k), int(30 * k)), 0.9)
    if state.subtitle:
        put_text(img, state.subtitle, (int(12 * k), int(58 * k)), 0.55, max_width=w - int(24 * k))
    if state.big_text:
        put_text(img, state.big_text, (w - int(12 * k), int(36 * k)), 1.3, WARN_BGR, 3, anchor="right")
    if state.rep_text:
        put_text(img, state.rep_text, (int(12 * k), int(86 * k)), 0.7)
    if state.hold_text:
        put_text(img, state.hold_text, (w - int(12 * k), int(86 * k)), 0.7, WARN_BGR, anchor="right")
    # patient's left is on the screen's left in a mirror view, on its right otherwise
    # a side with text and no value (a hands-on step's covered side) keeps its empty bar
    for side in dict.fromkeys([*state.bars, *state.bar_text]):
        on_left = (side == "left") == state.mirrored
        _bar(img, side, state.bars.get(side, 0.0), state.bar_text.get(side, ""), state.side_label, on_left)
    bottom_lines = ([state.symmetry_text] if state.symmetry_text else []) + [f"! {m}" for m in state.warnings]
    keys = int(18 * k) if state.keys_text else 0  # a thin strip of its own under everything
    if bottom_lines or keys:
        _band(img, h - keys - int((12 + 30 * len(bottom_lines)) * k) if bottom_lines else h - keys, h)
        for i, line in enumerate(bottom_lines):
            color = WARN_BGR if line.startswith("!") else WHITE
            put_text(
                img,
                line,
                (w // 2, h - keys - int((12 + 30 * (len(bottom_lines) - 1 - i)) * k)),
                0.75,
                color,
                anchor="center",
            )
    if state.paused:
        mid = h // 2
        _band(img, mid - int(44 * k), mid + int(40 * k), 0.7)
        put_text(img, "PAUSED", (w // 2, mid), 1.6, WARN_BGR, 3, anchor="center")
        put_text(img, "press space to resume", (w // 2, mid + int(30 * k)), 0.7, anchor="center")
    if state.keys_text:
        put_text(img, state.keys_text, (w // 2, h - int(5 * k)), 0.42, (210, 210, 210), 1, anchor="center")
    if state.lines:
        _band(img, int(96 * k), int((112 + 30 * len(state.lines)) * k), 0.75)
        for i, line in enumerate(state.lines):
            put_text(img, line, (int(20 * k), int((126 + 30 * i) * k)), 0.62, max_width=w - int(40 * k))
    return img
