"""One iterable frame source for a webcam, a video file or a still image.

Every consumer (``track``, ``analyze``, the live ``exercise`` loop, the tests) reads frames
through :class:`FrameSource`, so the tests drive the very code users run.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import facetrack  # noqa: F401  (sets native log levels before cv2 loads)
import cv2
import numpy as np

from facetrack.errors import FacetrackError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
CAMERA_PROBE = range(0, 6)
# Containers often announce a few frames more than they hold (the count is estimated from
# the duration); more than this is a cut file.
TRUNCATION_SLACK_FRAMES = 3


@dataclass(frozen=True)
class Frame:
    """One frame as the camera saw it (never display-mirrored)."""

    image_bgr: np.ndarray
    timestamp_s: float
    index: int

    @property
    def resolution_wh(self) -> tuple[int, int]:
        return self.image_bgr.shape[1], self.image_bgr.shape[0]


def _to_bgr(image: np.ndarray) -> np.ndarray:
    """Grayscale, BGRA and 16-bit inputs become 8-bit BGR (what the landmarker takes)."""
    if image.dtype != np.uint8:
        scale = 255.0 / (np.iinfo(image.dtype).max if image.dtype.kind in "ui" else max(float(image.max()), 1.0))
        image = np.clip(image.astype(np.float32) * scale, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


class FrameSource:
    """Iterate ``Frame`` objects from a camera index, a video path or an image path.

    ``mirrored=True`` says the input itself is a mirror image (as many webcam apps record):
    frames are flipped back so that the landmarker sees the true face and "left" stays the
    patient's left.  ``repeat`` plays a still image as that many frames at ``still_fps``.
    ``realtime=True`` on a file paces it like a camera: frames the consumer was too slow
    for are dropped (counted in ``dropped``), never queued.
    """

    def __init__(self, spec: str | int, *, mirrored: bool = False, repeat: int = 1,
                 still_fps: float = 30.0, realtime: bool = False):
        self.spec = spec
        self.mirrored = mirrored
        self.realtime = realtime
        self.dropped = 0
        self.frames_read = 0
        self._stamp0 = 0.0
        self.truncated = False
        self.problem: str | None = None  # set when reading stopped early for a reason
        self._cap: cv2.VideoCapture | None = None
        self._still: np.ndarray | None = None
        self._repeat = repeat
        self.frame_count: int | None = None
        self.is_camera = isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit())
        if self.is_camera:
            self._open_camera(int(spec))
        else:
            self._open_path(Path(str(spec)), still_fps)

    # -- opening -----------------------------------------------------------------------
    def _open_camera(self, index: int) -> None:
        cap = cv2.VideoCapture(index)
        if not cap.isOpened():
            cap.release()
            working = [i for i in CAMERA_PROBE if i != index and _camera_opens(i)]
            tried = f"tried index {index}"
            others = f"; working indices: {', '.join(map(str, working))}" if working else (
                f"; no camera at indices {CAMERA_PROBE.start}-{CAMERA_PROBE.stop - 1} either")
            raise FacetrackError(f"camera {index} is not available ({tried}{others})")
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a queue of stale ones
        self._cap = cap
        self.fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        self.frame_count = None
        self.name = f"camera {index}"

    def _open_path(self, path: Path, still_fps: float) -> None:
        self.name = path.name
        if not path.exists():
            raise FacetrackError(f"no such file: {path}")
        if path.is_dir():
            raise FacetrackError(f"{path} is a directory, not a video or image")
        if path.stat().st_size == 0:
            raise FacetrackError(f"{path} is empty (0 bytes)")
        if path.suffix.lower() in IMAGE_SUFFIXES:
            image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if image is None:
                raise FacetrackError(f"{path} is not a readable image")
            self._still = _to_bgr(image)
            self.fps = still_fps
            self.frame_count = self._repeat
            return
        cap = cv2.VideoCapture(str(path))
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            raise FacetrackError(f"{path} is not a video OpenCV can read (corrupt, truncated "
                                 "before its first frame, or not a video at all)")
        cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 1.0 <= fps <= 1000.0 else 30.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 else None

    # -- reading -----------------------------------------------------------------------
    def __iter__(self) -> Iterator[Frame]:
        try:
            if self._still is not None:
                yield from self._iter_still()
            elif self.is_camera:
                yield from self._iter_camera()
            else:
                yield from self._iter_file()
        finally:
            self.close()

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        image = _to_bgr(image)
        return np.ascontiguousarray(image[:, ::-1]) if self.mirrored else image

    def _iter_still(self) -> Iterator[Frame]:
        assert self._still is not None
        image = self._prepare(self._still)
        for i in range(self._repeat):
            self.frames_read += 1
            yield Frame(image, i / self.fps, i)

    def _iter_camera(self) -> Iterator[Frame]:
        t0 = time.monotonic()
        index = 0
        while self._cap is not None:
            try:
                ok, image = self._cap.read()
            except cv2.error:  # some backends raise when the device is unplugged
                ok, image = False, None
            stamp = time.monotonic() - t0
            if not ok or image is None:
                self.problem = f"{self.name} stopped delivering frames after {self.frames_read} frames"
                return
            self.frames_read += 1
            yield Frame(self._prepare(image), stamp, index)
            index += 1

    def _file_stamp(self, index: int, last: float | None) -> float:
        """The frame's own time from the container, so variable-frame-rate recordings (a
        webcam that skipped frames, phone video) keep true durations; when the container
        gives no increasing times (some codecs report 0 or repeat), index / fps."""
        assert self._cap is not None
        ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        if index == 0:
            self._stamp0 = ms / 1000.0 if np.isfinite(ms) and ms >= 0 else 0.0
            return 0.0
        t = ms / 1000.0 - self._stamp0 if np.isfinite(ms) else float("nan")
        if last is not None and t > last and t - last < 10.0:
            return t
        return (last if last is not None else 0.0) + 1.0 / self.fps

    def _iter_file(self) -> Iterator[Frame]:
        index = 0
        stamp = None
        t_start = time.monotonic()
        while self._cap is not None:
            if self.realtime:
                due = int((time.monotonic() - t_start) * self.fps)
                while index < due:  # the consumer fell behind: drop, like a camera would
                    if not self._cap.grab():
                        break
                    index += 1
                    self.dropped += 1
            ok, image = self._cap.read()
            if not ok or image is None:
                break
            self.frames_read += 1
            stamp = self._file_stamp(index, stamp)
            yield Frame(self._prepare(image), stamp, index)
            index += 1
        expected = self.frame_count
        if expected is not None and index < expected - max(TRUNCATION_SLACK_FRAMES, 0.03 * expected):
            self.truncated = True
            self.problem = (f"{self.name} is truncated or corrupt: read {index} of the "
                            f"{expected} frames its header announces; the frames read are kept")

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _camera_opens(index: int) -> bool:
    if not os.path.exists(f"/dev/video{index}") and os.name == "posix":
        return False
    cap = cv2.VideoCapture(index)
    try:
        return cap.isOpened()
    finally:
        cap.release()
