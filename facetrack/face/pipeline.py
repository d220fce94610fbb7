"""The one synchronous per-frame pipeline: frame -> landmarks -> pose-normalised face.

``track``, ``analyze`` and the live ``exercise`` loop all run frames through
:class:`Tracker`; later stages (measures, repetitions, overlay, recorder) consume its
:class:`Tracked` output.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from tqdm import tqdm

from facetrack.capture.landmarker import FaceFrame
from facetrack.capture.mirror import MirrorAveraged
from facetrack.capture.source import Frame, FrameSource
from facetrack.face import geometry
from facetrack.face.geometry import NormalisedFace

T = TypeVar("T")
R = TypeVar("R")
# Frames landmarked ahead of the measures: the landmarker (its two MediaPipe graphs) runs in
# its own thread while the caller measures the previous frames.  On the 2-core machine of
# 2026-12-03 it changed nothing (`analyze` 14.6 s wall and 22.4 s CPU either way: the mirror
# landmarker and the mirror flow already keep both cores busy); with more cores the
# landmarks and the skin correction can run at once.  A few frames ride out a slow one.
AHEAD = 4


@dataclass(frozen=True)
class Tracked:
    frame: Frame
    face: FaceFrame
    norm: NormalisedFace | None
    flags: dict[str, bool]

    @property
    def usable(self) -> bool:
        return self.norm is not None and geometry.usable(self.flags)


class FaceLandmarker(Protocol):
    """What the tracker needs of a landmarker: MediaPipe's (:class:`Landmarker`) or a stand-in
    such as :class:`facetrack.capture.replay.ReplayLandmarker`, which replays stored faces."""

    model_sha256: str

    def detect(self, frame: Frame) -> FaceFrame: ...

    def close(self) -> None: ...


class Tracker:
    """Frames through a landmarker, then pose normalisation and quality flags.

    ``landmarker``: any object with ``detect(frame) -> FaceFrame``, ``model_sha256`` and
    ``close()``; by default MediaPipe's FaceLandmarker with ``model`` (the bundled one if None)
    on the frame and on its mirror image, averaged (capture/mirror.py), so that a clip and
    its flip read the same face with the sides swapped.
    The tracker closes the landmarker it was given, as it does its own.
    """

    def __init__(self, model: str | os.PathLike | None = None, landmarker: FaceLandmarker | None = None):
        if landmarker is not None and model is not None:
            raise ValueError("give a model or a landmarker, not both")
        self.landmarker: FaceLandmarker = landmarker if landmarker is not None else MirrorAveraged(model)
        self._runs: list[Generator] = []  # open read-ahead threads, stopped before the landmarker closes

    @property
    def model_sha256(self) -> str:
        return self.landmarker.model_sha256

    def process(self, frame: Frame) -> Tracked:
        face = self.landmarker.detect(frame)
        return Tracked(frame, face, geometry.normalise(face), geometry.quality_flags(face))

    def run(self, source: FrameSource, progress: bool = False, ahead: int = AHEAD) -> Iterator[Tracked]:
        """Every frame of ``source`` through the pipeline, with a progress bar on files,
        landmarked up to ``ahead`` frames ahead of the caller in a thread (0: in the caller's)."""
        show = progress and not source.is_camera and sys.stderr.isatty()
        with tqdm(total=source.frame_count, disable=not show, unit="frame", desc=source.name, leave=False) as bar:
            frames = read_ahead(source, self.process, ahead)
            self._runs.append(frames)
            try:
                for t in frames:
                    yield t
                    bar.update(1)
            finally:
                frames.close()
                self._runs.remove(frames)

    def close(self) -> None:
        for frames in list(self._runs):  # a caller that stopped reading early
            frames.close()
        self.landmarker.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_ahead(items: Iterable[T], work: Callable[[T], R], depth: int = AHEAD) -> Generator[R, None, None]:
    """``work(item)`` for every item in order, done in a thread up to ``depth`` items ahead of
    the consumer (``depth`` 0: inline).  OpenCV and MediaPipe release the GIL, so this is how
    decoding and landmarks use the second core while the caller measures.  An exception in
    the thread is raised in the consumer at the item where it happened; a consumer that stops
    early stops the thread, and the generator returns only once the thread has, so the
    landmarker can be closed safely after it."""
    if depth <= 0:
        for item in items:
            yield work(item)
        return
    done = object()
    out: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(x) -> bool:
        while not stop.is_set():
            try:
                out.put(x, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set() or not put((work(item), None)):
                    return
            put((done, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((None, exc))

    thread = threading.Thread(target=produce, name="facetrack-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            result, exc = out.get()
            if exc is not None:
                raise exc
            if result is done:
                return
            yield result
    finally:
        stop.set()
        thread.join()
