"""The one synchronous per-frame pipeline: frame -> landmarks -> pose-normalised face.

``track``, ``analyze`` and the live ``exercise`` loop all run frames through
:class:`Tracker`; later stages (measures, repetitions, overlay, recorder) consume its
:class:`Tracked` output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from tqdm import tqdm

from facetrack.capture.landmarker import FaceFrame
from facetrack.capture.mirror import MirrorAveraged
from facetrack.capture.source import Frame, FrameSource
from facetrack.face import geometry
from facetrack.face.geometry import NormalisedFace


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

    @property
    def model_sha256(self) -> str:
        return self.landmarker.model_sha256

    def process(self, frame: Frame) -> Tracked:
        face = self.landmarker.detect(frame)
        return Tracked(frame, face, geometry.normalise(face), geometry.quality_flags(face))

    def run(self, source: FrameSource, progress: bool = False) -> Iterator[Tracked]:
        """Every frame of ``source`` through the pipeline, with a progress bar on files."""
        show = progress and not source.is_camera and sys.stderr.isatty()
        with tqdm(total=source.frame_count, disable=not show, unit="frame", desc=source.name, leave=False) as bar:
            for frame in source:
                yield self.process(frame)
                bar.update(1)

    def close(self) -> None:
        self.landmarker.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
