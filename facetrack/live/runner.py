"""The one live loop: source -> tracker -> session -> sinks.

``facetrack exercise``, the live benchmark and the tests all run a session through
:func:`run_session`.  A sink is any object with ``on_frame(out)`` (it may return a key such
as "q", the window does), and optionally ``on_stored(record)`` (what is to be kept: the
recorder) and ``on_close(end)``; every sink is closed exactly once, in the order given,
however the loop ends (routine done, user quit, camera gone, an error, Ctrl-C).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from facetrack.capture.source import Frame
from facetrack.errors import FacetrackError
from facetrack.live.session import ExerciseSession, SessionFrame

MAX_LATENCIES = 100_000  # a long session must not grow memory
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

    @property
    def fps(self) -> float:
        return self.frames / max(self.elapsed_s, 1e-9)

    def latency_ms(self, percentile: float = 50) -> float:
        return 1000 * float(np.percentile(self.latencies_s, percentile)) if self.latencies_s else 0.0


def run_session(source: Iterable[Frame], tracker: FrameTracker, session: ExerciseSession, sinks: list) -> SessionEnd:
    """Drive ``session`` with every frame of ``source`` until it is done or the source ends."""
    latencies: list[float] = []
    t0 = time.monotonic()
    n = 0
    try:
        for frame in source:
            captured = time.monotonic()
            out = session.step(tracker.process(frame))
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
        end = SessionEnd(session.complete, session.ended_by_user, session.failure, n, latencies, time.monotonic() - t0)
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
