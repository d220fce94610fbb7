"""The one live loop: source -> tracker -> session -> sinks.

``facetrack exercise``, the live benchmark and the tests all run a session through
:func:`run_session`.  A sink is any object with ``on_frame(out)`` (it may return a key such
as "q", the window does), and optionally ``on_stored(record)`` (what is to be kept: the
recorder) and ``on_close(end)``; every sink is closed exactly once, in the order given,
however the loop ends (routine done, user quit, camera gone, an error, Ctrl-C).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from facetrack.capture.source import Frame
from facetrack.errors import FacetrackError
from facetrack.live.session import ExerciseSession, SessionFrame

MAX_LATENCIES = 100_000  # a long session must not grow memory
# The loop is behind its source when, over the last BEHIND_WINDOW_S of the frames' own times
# (a camera's capture times, a paced file's or benchmark's frame times), it processed fewer than
# BEHIND_SHARE of the frames the source delivers at its rate.  Every processed frame is
# measured in full; a slow machine measures fewer frames of each repetition, and the patient is
# told so on screen rather than left to wonder why the picture stutters.
BEHIND_SHARE = 0.8
BEHIND_WINDOW_S = 2.0
# The live loop finds a frame's landmarks in this thread, just before measuring it:
# landmarked one frame ahead in another thread (tried 2026-12-03, removed),
# `facetrack bench` gave 17.9 instead of 16.3 frames/s but a frame-to-overlay latency of
# 214 ms instead of 79 (95th percentile, load ~2.4), since the skin correction already keeps
# both cores busy and a frame then waits for the one before it.


class Sink(Protocol):
    def on_frame(self, out: SessionFrame) -> str | None: ...


class FrameTracker(Protocol):
    def process(self, frame: Frame) -> Any: ...


@dataclass
class SessionEnd:
    """How the session ended, for the sinks' ``on_close`` and the caller."""

    complete: bool  # the whole routine was done
    ended_by_user: bool
    failure: str | None
    frames: int
    latencies_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    sink_error: FacetrackError | None = None  # a sink that failed to close (e.g. disk full)
    source_fps: float | None = None  # the rate the source delivers at, if it has one
    missed_frames: int = 0  # the source's frames the loop was too slow for (from frame times)

    @property
    def fps(self) -> float:
        return self.frames / max(self.elapsed_s, 1e-9)

    def latency_ms(self, percentile: float = 50) -> float:
        return 1000 * float(np.percentile(self.latencies_s, percentile)) if self.latencies_s else 0.0


class Pace:
    """How many of a source's frames the loop keeps up with, from the processed frames' own
    times: a gap of k frame intervals between two processed frames is k - 1 frames missed."""

    def __init__(self, fps: float | None):
        self.fps = fps if fps and fps > 0 else None
        self.missed = 0
        self._times: deque[float] = deque()

    def add(self, t_s: float) -> None:
        if self._times and self.fps is not None:
            self.missed += max(0, round((t_s - self._times[-1]) * self.fps) - 1)
        self._times.append(t_s)
        while t_s - self._times[0] > BEHIND_WINDOW_S:
            self._times.popleft()

    def rate(self) -> float | None:
        """Frames processed a second over the last window; None before half a window."""
        span = self._times[-1] - self._times[0] if self._times else 0.0
        return (len(self._times) - 1) / span if span >= BEHIND_WINDOW_S / 2 else None

    def warning(self) -> str | None:
        rate = self.rate()
        if self.fps is None or rate is None or rate >= BEHIND_SHARE * self.fps:
            return None
        # short: it shares the bottom of a small camera picture (a slow computer, or a camera
        # in dim light that delivers fewer frames than its nominal rate)
        return f"measuring {rate:.0f} of {self.fps:.0f} frames/s"


def run_session(
    source: Iterable[Frame],
    tracker: FrameTracker,
    session: ExerciseSession,
    sinks: list,
    source_fps: float | None = None,
) -> SessionEnd:
    """Drive ``session`` with every frame of ``source`` until it is done or the source ends.
    ``source_fps``: the rate the source delivers frames at (default: its ``fps``, as a camera's
    or a file's); when the loop keeps up with less than BEHIND_SHARE of it, the overlay says so."""
    latencies: list[float] = []
    t0 = time.monotonic()
    n = 0
    pace = Pace(source_fps if source_fps is not None else getattr(source, "fps", None))
    try:
        for frame in source:
            captured = time.monotonic()
            pace.add(frame.timestamp_s)
            out = session.step(tracker.process(frame))
            behind = pace.warning()
            if behind is not None:
                out.overlay.warnings.append(behind)
            _deliver(session, sinks)
            for sink in sinks:
                key = sink.on_frame(out)
                if key:
                    session.key(key)
                    _deliver(session, sinks)
            n += 1
            if len(latencies) < MAX_LATENCIES:
                latencies.append(time.monotonic() - captured)
            if session.done:
                break
        if not session.done:  # the source ended first: what was done is kept
            session.source_ended()
            _deliver(session, sinks)
    finally:
        end = SessionEnd(
            session.complete,
            session.ended_by_user,
            session.failure,
            n,
            latencies,
            time.monotonic() - t0,
            source_fps=pace.fps,
            missed_frames=pace.missed,
        )
        for sink in sinks:
            close = getattr(sink, "on_close", None)
            if close is None:
                continue
            try:
                close(end)
            except FacetrackError as err:  # e.g. the disk refused the last write; close the others
                end.sink_error = end.sink_error or err
    return end


def _deliver(session: ExerciseSession, sinks: list) -> None:
    for item in session.take_stored():
        for sink in sinks:
            stored = getattr(sink, "on_stored", None)
            if stored is not None:
                stored(item)
