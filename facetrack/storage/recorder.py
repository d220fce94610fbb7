"""Writes a running session into the store: frames and landmarks buffered, committed with
each finished repetition (so a crash loses at most the repetition in progress).

The recorder knows the records of :mod:`facetrack.tables` only, never the session or the
analysis that made them: the live runner feeds it as a sink (``on_frame``, ``on_stored``,
``on_close``), ``facetrack import`` calls the same methods directly.
"""

from __future__ import annotations

import os
from pathlib import Path

from facetrack.storage.store import LandmarkBuffer, Store
from facetrack.tables import FrameRecord, LandmarkRow, NeutralRecord, RedoRecord, RepRecord, StepNeutralRecord

FLUSH_FRAMES = 300  # outside repetitions (calibration, instructions) flush every ~10 s
IDLE_PHASES = ("calibrate", "instruct")


class Recorder:
    def __init__(
        self,
        store: Store,
        patient_id: int,
        routine: str,
        model_sha256: str,
        settings: dict,
        source: str,
        kind: str = "exercise",
        started_at: str | None = None,
        video_path: str | os.PathLike | None = None,
    ):
        self.store = store
        self.session_id = store.start_session(patient_id, kind, routine, model_sha256, settings, source, started_at)
        # stored absolute, so that ``forget`` finds the video whatever folder it runs in
        self.video_path = str(Path(video_path).resolve()) if video_path is not None else None
        self._frames: list[FrameRecord] = []
        self._landmarks = LandmarkBuffer()
        self._resolution = (0, 0)
        self.finished = False

    # -- the records ----------------------------------------------------------------
    def frame(self, record: FrameRecord, landmarks: LandmarkRow | None) -> None:
        self._frames.append(record)
        if landmarks is not None:
            self._resolution = landmarks.resolution_wh
            self._landmarks.add(landmarks.step, landmarks.frame, landmarks.xyz_px, landmarks.transform, landmarks.t_s)
        if len(self._frames) >= FLUSH_FRAMES and record.phase in IDLE_PHASES:
            self._commit(None)

    def store_record(self, item: NeutralRecord | StepNeutralRecord | RepRecord | RedoRecord) -> None:
        if isinstance(item, NeutralRecord):
            self.store.set_neutral(self.session_id, item)
        elif isinstance(item, StepNeutralRecord):
            self.store.set_step_neutral(self.session_id, item)
        elif isinstance(item, RepRecord):
            self._commit(item)
        elif isinstance(item, RedoRecord):
            self.store.mark_redone(self.session_id, item.step)
        else:
            raise TypeError(f"the recorder cannot store {type(item).__name__}")

    def flush(self) -> None:
        """Commit the frames buffered so far on their own."""
        self._commit(None)

    def _commit(self, rep: RepRecord | None) -> None:
        self.store.commit_rep(
            self.session_id,
            rep.step if rep else -1,
            rep.row if rep else None,
            self._frames,
            self._landmarks,
            self._resolution,
        )
        self._frames, self._landmarks = [], LandmarkBuffer()

    def finish(self, complete: bool) -> None:
        """Commit what is buffered and close the session, once."""
        if self.finished:
            return
        self.finished = True
        self._commit(None)
        video = self.video_path if self.video_path and Path(self.video_path).is_file() else None
        self.store.end_session(self.session_id, "complete" if complete else "incomplete", video)

    def discard(self) -> None:
        """Nothing worth keeping was recorded: delete the session and its raw video."""
        self.finish(False)
        self.store.delete_session(self.session_id)
        if self.video_path and Path(self.video_path).is_file():
            Path(self.video_path).unlink()

    # -- as a sink of the live runner -------------------------------------------------
    def on_frame(self, out) -> None:
        """``out``: a live SessionFrame; only its table records are read."""
        if out.record is not None:
            self.frame(out.record, out.landmarks)

    def on_stored(self, item) -> None:
        self.store_record(item)

    def on_close(self, end) -> None:
        self.finish(end.complete)
