"""The offline twin of the live measures: recompute them from a session's raw landmarks.

A session keeps every frame's landmarks (1/16 px) and head pose, and its neutral face.
``mesh_measures`` recomputes each frame's per-side face-mesh measure from those alone, so a
recorded session can be re-analysed later, with better algorithms too.  (The optical-flow
part needs the pictures: only sessions recorded with ``--record-video`` have them.)
"""

from __future__ import annotations

import math

import numpy as np

from facetrack.face import geometry
from facetrack.capture.landmarker import FaceFrame
from facetrack.face.landmarks import SIDES
from facetrack.face.movements import get_movement
from facetrack.storage.store import Store


def mesh_measures(store: Store, session_id: int) -> dict[tuple[int, int], dict[str, float]]:
    """(step, frame) -> {side: mesh change in mm} for every usable frame of a movement."""
    stored = store.neutral_xyz(session_id)
    lms = store.landmarks(session_id)
    if stored is None or lms is None:  # killed before calibration or before the first commit
        return {}
    neutral, mm = stored
    frames = {(f["step"], f["frame"]): f for f in store.frames(session_id)}
    out = {}
    wh = (int(lms["resolution_wh"][0]), int(lms["resolution_wh"][1]))
    for k, (step, index) in enumerate(zip(lms["step"], lms["frame"])):
        key = (int(step), int(index))
        f = frames.get(key)
        if f is None or not f["movement"] or not f["usable"] or not lms["found"][k]:
            continue
        face = FaceFrame(int(index), float(lms["t_s"][k]), wh, True, 1, lms["xyz_px"][k].astype(np.float32),
                         transform=lms["matrix"][k])
        norm = geometry.normalise(face)
        if norm is None:
            continue
        mv = get_movement(f["movement"])
        out[key] = {s: float(mv.change(norm.xyz, neutral, s)) * mm for s in SIDES}
    return out


def max_difference_mm(store: Store, session_id: int) -> float:
    """Largest gap between the recorded live mesh measure and its offline recomputation."""
    twin = mesh_measures(store, session_id)
    worst = 0.0
    for f in store.frames(session_id):
        key = (f["step"], f["frame"])
        if key in twin:
            for s in SIDES:
                live = f[f"{s}_mesh_mm"]
                if live is not None and math.isfinite(live):
                    worst = max(worst, abs(live - twin[key][s]))
    return worst
