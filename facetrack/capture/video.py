"""Video files written by facetrack: private (0600) and at the rate the frames really came.

A webcam gives 15 or 30 frames a second, and a loop that cannot keep up drops some; a file
written at a fixed 30 fps would then play at the wrong speed.  :class:`VideoFile` takes the
rate from the frames' own timestamps over the first second (or from ``fps`` when the source
knows it), and creates the file readable by its owner only: a face video is health data.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from facetrack.errors import FacetrackError

RATE_WINDOW_S = 1.0      # frames buffered to measure the rate before the file is opened
MAX_BUFFERED = 60


class VideoFile:
    def __init__(self, path: str | os.PathLike, fps: float | None = None):
        self.path = Path(path)
        self.fps = fps
        self._writer: cv2.VideoWriter | None = None
        self._pending: list[tuple[np.ndarray, float]] = []
        self.frames_written = 0

    def write(self, image: np.ndarray, t_s: float) -> None:
        if self._writer is None and self.fps is None:
            self._pending.append((image, t_s))
            span = t_s - self._pending[0][1]
            if span < RATE_WINDOW_S and len(self._pending) < MAX_BUFFERED:
                return
            self.fps = measured_fps([t for _, t in self._pending])
        if self._writer is None:
            self._open(image.shape[1], image.shape[0])
        for img, _ in self._pending:
            self._put(img)
        self._pending = []
        self._put(image)

    def _open(self, width: int, height: int) -> None:
        old = os.umask(0o077)
        try:
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter.fourcc(*"mp4v"), float(self.fps or 30.0),
                                           (width, height))
        finally:
            os.umask(old)
        if not self._writer.isOpened():
            raise FacetrackError(f"cannot write video {self.path}")
        os.chmod(self.path, 0o600)

    def _put(self, image: np.ndarray) -> None:
        assert self._writer is not None
        self._writer.write(image)
        self.frames_written += 1

    def close(self) -> None:
        if self._pending:  # shorter than the rate window: the rate of what there is
            if self.fps is None:
                self.fps = measured_fps([t for _, t in self._pending])
            first = self._pending[0][0]
            self._open(first.shape[1], first.shape[0])
            for img, _ in self._pending:
                self._put(img)
            self._pending = []
        if self._writer is not None:
            self._writer.release()
            self._writer = None


def measured_fps(times_s: list[float], default: float = 30.0) -> float:
    """Frames per second from frame timestamps: (n - 1) / (last - first); ``default`` when
    fewer than two frames or no time passed."""
    if len(times_s) < 2 or times_s[-1] <= times_s[0]:
        return default
    return float(np.clip((len(times_s) - 1) / (times_s[-1] - times_s[0]), 1.0, 240.0))


class VideoSink:
    """A sink of the live runner writing the raw camera frames, or what the window shows
    (``overlay=True``)."""

    def __init__(self, path: str | os.PathLike, overlay: bool = False):
        self.file = VideoFile(path)
        self.overlay = overlay

    def on_frame(self, out) -> None:
        self.file.write(out.image if self.overlay else out.frame.image_bgr, out.frame.timestamp_s)

    def on_close(self, end) -> None:
        self.file.close()
