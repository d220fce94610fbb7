"""Writes a running session into the store: frames and landmarks buffered, committed with
each finished repetition (so a crash loses at most the repetition in progress)."""

from __future__ import annotations

import math

from facetrack.face.geometry import QUALITY_FLAGS
from facetrack.face.landmarks import SIDES
from facetrack.reporting.rep_table import rep_row
from facetrack.storage.store import LandmarkBuffer, Store

FLUSH_FRAMES = 300  # outside repetitions (calibration, instructions) flush every ~10 s
FLAG_BITS = {name: 1 << i for i, name in enumerate(QUALITY_FLAGS + ("too_dark", "overexposed", "occluded", "head_moved"))}


def flag_bits(flags: dict[str, bool]) -> int:
    return sum(bit for name, bit in FLAG_BITS.items() if flags.get(name))


class Recorder:
    def __init__(self, store: Store, patient_id: int, routine: str, model_sha256: str, settings: dict,
                 source: str, kind: str = "exercise", started_at: str | None = None):
        self.store = store
        self.session_id = store.start_session(patient_id, kind, routine, model_sha256, settings, source, started_at)
        self._frames: list[tuple] = []
        self._landmarks = LandmarkBuffer()
        self._resolution = (0, 0)
        self._mm = math.nan
        self.finished = False

    def neutral(self, neutral) -> None:
        self._mm = neutral.mm_per_unit
        self.store.set_neutral(self.session_id, neutral)

    def frame(self, t, session, values, flags) -> None:
        mm = self._mm

        def side_mm(d, s):
            return d[s] * mm if d is not None and math.isfinite(d[s]) else None
        step = session.step_index if session.meter is not None else -1
        movement = session.meter.movement.id if session.meter is not None else None
        usable = bool(values.usable) if values is not None else bool(t.usable)
        self._frames.append((t.frame.index, t.frame.timestamp_s, step, movement, session.phase, int(usable),
                             flag_bits(flags),
                             *(side_mm(values.fused if values else None, s) for s in SIDES),
                             *(side_mm(values.mesh if values else None, s) for s in SIDES),
                             *(side_mm(values.flow if values else None, s) for s in SIDES)))
        self._resolution = t.frame.resolution_wh
        self._landmarks.add(t.frame.index, t.face.xyz_px if t.face.face_found else None,
                            t.face.transform if t.face.face_found else None, t.frame.timestamp_s)
        if len(self._frames) >= FLUSH_FRAMES and session.phase in ("calibrate", "instruct"):
            self._commit(None, -1)

    def rep(self, step_index: int, meter, rep) -> None:
        self._commit(rep_row(meter.movement.id, meter.neutral, rep), step_index)

    def _commit(self, row, step_index: int) -> None:
        self.store.commit_rep(self.session_id, step_index, row, self._frames, self._landmarks, self._resolution)
        self._frames, self._landmarks = [], LandmarkBuffer()

    def mark_redone(self, step_index: int) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE reps SET status = 'redone' WHERE session_id = ? AND step = ?",
                       (self.session_id, step_index))

    def finish(self, complete: bool, video_path: str | None = None) -> None:
        if self.finished:
            return
        self._commit(None, -1)
        self.store.end_session(self.session_id, "complete" if complete else "incomplete", video_path)
        self.finished = True
