"""The offline twin of the live measures: recompute them from a session's raw landmarks.

A session keeps every frame's landmarks (1/16 px) and head pose, and its neutral face.
``mesh_measures`` recomputes each frame's per-side face-mesh measure from those alone, so a
recorded session can be re-analysed later, with better algorithms too.  (The optical-flow
part needs the pictures: only sessions recorded with ``--record-video`` have them.)
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from facetrack.capture.landmarker import FaceFrame
from facetrack.face import geometry
from facetrack.face.landmarks import SIDES
from facetrack.face.movements import get_movement


class SessionReader(Protocol):
    """What re-analysis reads of a stored session (facetrack.storage.store.Store has it;
    analysis/ never imports storage: the caller hands the store in)."""

    def neutral_xyz(self, session_id: int) -> tuple[np.ndarray, float] | None: ...
    def step_neutrals(self, session_id: int) -> dict[int, tuple[float, np.ndarray]]: ...
    def landmarks(self, session_id: int) -> dict[str, np.ndarray] | None: ...
    def frames(self, session_id: int) -> list[dict]: ...


def stored_face(lms: dict[str, np.ndarray], k: int, wh: tuple[int, int]) -> FaceFrame:
    """Stored landmark row ``k`` (of ``SessionReader.landmarks``) as the face it was."""
    return FaceFrame(
        int(lms["frame"][k]),
        float(lms["t_s"][k]),
        wh,
        True,
        1,
        lms["xyz_px"][k].astype(np.float32),
        transform=lms["matrix"][k],
    )


def mesh_measures(store: SessionReader, session_id: int) -> dict[tuple[int, int], dict[str, float]]:
    """(step, frame) -> {side: mesh change in mm} for every usable frame of a movement, each
    against what it was measured against: its step's own neutral after the time that neutral
    applies from, the session's (calibration) neutral before."""
    stored = store.neutral_xyz(session_id)
    lms = store.landmarks(session_id)
    if stored is None or lms is None:  # killed before calibration or before the first commit
        return {}
    neutral, mm = stored
    own = store.step_neutrals(session_id)
    frames = {(f["step"], f["frame"]): f for f in store.frames(session_id)}
    out = {}
    wh = (int(lms["resolution_wh"][0]), int(lms["resolution_wh"][1]))
    for k, (step, index) in enumerate(zip(lms["step"], lms["frame"])):
        key = (int(step), int(index))
        f = frames.get(key)
        if f is None or not f["movement"] or not f["usable"] or not lms["found"][k]:
            continue
        norm = geometry.normalise(stored_face(lms, k, wh))
        if norm is None:
            continue
        mv = get_movement(f["movement"])
        ref = own[key[0]][1] if key[0] in own and f["t_s"] > own[key[0]][0] else neutral
        xyz = mv.frontal(norm.xyz, ref)
        out[key] = {s: float(mv.change(xyz, ref, s)) * mm for s in SIDES}
    return out


def max_difference_mm(store: SessionReader, session_id: int) -> float:
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


def faces_at(store: SessionReader, session_id: int, moments: list[tuple[int, float]]) -> list[np.ndarray | None]:
    """The pose-normalised mesh (478, 3, face units) of the stored frame nearest each
    (step, time s) in ``moments`` (a repetition's peak), from the raw landmarks alone; None
    where the step has no frame with a face within 0.2 s."""
    lms = store.landmarks(session_id)
    if lms is None:
        return [None] * len(moments)
    wh = (int(lms["resolution_wh"][0]), int(lms["resolution_wh"][1]))
    steps, times, found = lms["step"], lms["t_s"].astype(np.float64), lms["found"].astype(bool)
    out: list[np.ndarray | None] = []
    for step, t in moments:
        (cand,) = np.nonzero((steps == step) & found)
        if t is None or not cand.size:
            out.append(None)
            continue
        k = int(cand[np.argmin(np.abs(times[cand] - t))])
        if abs(times[k] - t) > 0.2:
            out.append(None)
            continue
        norm = geometry.normalise(stored_face(lms, k, wh))
        out.append(None if norm is None else norm.xyz)
    return out
