"""The faces MediaPipe finds in a validation clip, found once and replayed after.

The validations measure the same clips again whenever the skin method changes, and the
landmarks do not depend on it: finding them (two landmarkers a frame, capture/mirror.py)
is a third of a validation's time.  :func:`landmarker_for` gives a
:class:`facetrack.capture.replay.ReplayLandmarker` over the faces stored for the clip, or a
real landmarker that stores what it finds when it is closed.  The key is the clip's bytes,
the mirroring, the model and the landmarking code, so a changed clip or landmarker is
landmarked again.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from facetrack.capture.replay import ReplayLandmarker, save_face_frames

ROOT = Path(__file__).resolve().parent.parent
# what the stored faces depend on besides the clip
LANDMARK_CODE = (
    "facetrack/capture/landmarker.py",
    "facetrack/capture/mirror.py",
    "facetrack/capture/source.py",
    "facetrack/face/landmarks.py",
)
CACHE_ENV = "FACETRACK_FACES_CACHE"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "facetrack-faces"))


def key(video: str | os.PathLike, mirrored: bool) -> str:
    from facetrack.capture.model import MODEL_SHA256

    h = hashlib.sha256(Path(video).read_bytes())
    for f in LANDMARK_CODE:
        h.update((ROOT / f).read_bytes())
    h.update(f"{MODEL_SHA256} mirrored={mirrored}".encode())
    return h.hexdigest()[:20]


class _Recording:
    """A real (mirror-averaged) landmarker that keeps every face it finds and stores them
    when closed."""

    def __init__(self, path: Path):
        from facetrack.capture.mirror import MirrorAveraged

        self.inner = MirrorAveraged()
        self.model_sha256 = self.inner.model_sha256
        self.path = path
        self.found: list = []

    def detect(self, frame):
        face = self.inner.detect(frame)
        self.found.append(face)
        return face

    def close(self) -> None:
        self.inner.close()
        if self.found:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            save_face_frames(self.path, self.found, self.model_sha256)


def landmarker_for(video: str | os.PathLike, mirrored: bool = False, cache: Path | None = None):
    """A landmarker for ``video`` (read with ``mirrored``): the stored faces if there are
    any, else MediaPipe's, storing what it finds.  ``cache``: where (default
    $FACETRACK_FACES_CACHE or ~/.cache/facetrack-faces)."""
    path = (cache or cache_dir()) / f"{Path(video).stem}-{key(video, mirrored)}.npz"
    if path.exists():
        try:
            return ReplayLandmarker(path)
        except Exception as err:  # a cache file cut short by a killed run: find the faces anew
            print(f"faces cache: {path.name} unreadable ({type(err).__name__}), recomputed", file=sys.stderr)
            path.unlink(missing_ok=True)
    return _Recording(path)
