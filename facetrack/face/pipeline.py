"""The one synchronous per-frame pipeline: frame -> landmarks -> pose-normalised face.

``track``, ``analyze`` and the live ``exercise`` loop all run frames through
:class:`Tracker`; later stages (measures, repetitions, overlay, recorder) consume its
:class:`Tracked` output.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Iterator

from tqdm import tqdm

from facetrack.face import geometry
from facetrack.face.geometry import NormalisedFace
from facetrack.capture.landmarker import FaceFrame, Landmarker
from facetrack.capture.source import Frame, FrameSource


@dataclass(frozen=True)
class Tracked:
    frame: Frame
    face: FaceFrame
    norm: NormalisedFace | None
    flags: dict[str, bool]

    @property
    def usable(self) -> bool:
        return self.norm is not None and geometry.usable(self.flags)


class Tracker:
    def __init__(self, model: str | os.PathLike | None = None):
        self.landmarker = Landmarker(model)

    @property
    def model_sha256(self) -> str:
        return self.landmarker.model_sha256

    def process(self, frame: Frame) -> Tracked:
        face = self.landmarker.detect(frame)
        return Tracked(frame, face, geometry.normalise(face), geometry.quality_flags(face))

    def run(self, source: FrameSource, progress: bool = False) -> Iterator[Tracked]:
        """Every frame of ``source`` through the pipeline, with a progress bar on files."""
        show = progress and not source.is_camera and sys.stderr.isatty()
        with tqdm(total=source.frame_count, disable=not show, unit="frame",
                  desc=source.name, leave=False) as bar:
            for frame in source:
                yield self.process(frame)
                bar.update(1)

    def close(self) -> None:
        self.landmarker.close()

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
