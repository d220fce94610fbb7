"""Real-texture ground truth: hemi-face chimeras of a healthy face moving.

From a real clip of a healthy face doing a movement, every frame gets one half of the face
(the patient's left or right, split at the mesh midline, feathered, inside the face
outline) replaced by the clip's neutral frame aligned to the head's current position with a
similarity on the stable landmarks (``landmarks.STABLE``).  The truth is then known on real
skin: the frozen half moves 0, the live half moves what it moved in the original clip.

    python -m calibration.chimera VIDEO OUT_DIR --rest-s 1.0 [--start 0 --end -1]

writes ``<name>_orig.mp4`` (the same frames, re-encoded like the chimeras),
``<name>_frozen_left.mp4`` and ``<name>_frozen_right.mp4``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from facetrack.capture.source import Frame
from facetrack.face import landmarks as L
from facetrack.face.pipeline import Tracker
from facetrack.face.skin import similarity

STABLE = np.array(L.STABLE)
FEATHER_IOD = 0.06  # width of the blend across the midline and the outline, x eye distance
OUTLINE_GROW_IOD = 0.04  # the frozen region reaches this far past the face outline


def read_frames(video: str, start: int = 0, end: int | None = None) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    i = 0
    while True:
        ok, img = cap.read()
        if not ok or (end is not None and i > end):
            break
        if i >= start:
            frames.append(img)
        i += 1
    cap.release()
    return frames, fps


def track_frames(frames: list[np.ndarray], fps: float):
    with Tracker() as tr:
        return [tr.process(Frame(img, k / fps, k)) for k, img in enumerate(frames)]


def neutral_index(tracked, rest_frames: int) -> int:
    """The rest frame closest to the rest period's median face (as build_neutral picks)."""
    idx = [k for k in range(min(rest_frames, len(tracked))) if tracked[k].usable]
    stack = np.stack([tracked[k].norm.xyz for k in idx])
    med = np.median(stack, axis=0)
    return idx[int(np.argmin(np.abs(stack - med).sum(axis=(1, 2))))]


def midline_side(xy: np.ndarray, shape_hw: tuple[int, int], side: str) -> np.ndarray:
    """Signed pixel distance of every pixel from the mesh midline, positive on the patient's
    ``side``.  The midline is the polyline of ``landmarks.MIDLINE``, extended straight up
    and down; distance is measured along the image row (x) for the row's midline point."""
    h, w = shape_hw
    mid = xy[list(L.MIDLINE)]
    order = np.argsort(mid[:, 1])
    ys, xs = mid[order, 1], mid[order, 0]
    rows = np.arange(h, dtype=np.float64)
    x_mid = np.interp(rows, ys, xs)
    # which image direction the patient's left lies in (right of the midline in an
    # unmirrored camera frame; a mirrored recording flips it)
    left_dir = np.sign(xy[L.LEFT.eye_outer, 0] - xy[L.RIGHT.eye_outer, 0])
    s = left_dir if side == "left" else -left_dir
    cols = np.arange(w, dtype=np.float64)
    return s * (cols[None, :] - x_mid[:, None])


def chimera_frame(
    frame: np.ndarray, face_xy: np.ndarray, neutral: np.ndarray, neutral_xy: np.ndarray, side: str
) -> np.ndarray:
    """``frame`` with the patient's ``side`` of the face replaced by the aligned neutral."""
    h, w = frame.shape[:2]
    m = similarity(neutral_xy[STABLE].astype(np.float64), face_xy[STABLE].astype(np.float64))
    aligned = cv2.warpAffine(neutral, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    aligned_xy = neutral_xy @ m[:, :2].T + m[:, 2]
    iod = float(np.linalg.norm(face_xy[L.LEFT.eye_outer] - face_xy[L.RIGHT.eye_outer])) / 1.5
    feather = max(FEATHER_IOD * iod, 1.5)
    # the face region: both the live and the aligned neutral outlines, grown a little
    region = np.zeros((h, w), np.uint8)
    for pts in (face_xy, aligned_xy):
        cv2.fillConvexPoly(region, cv2.convexHull(pts[list(L.FACE_OVAL)].astype(np.int32)), 255)
    grow = round(OUTLINE_GROW_IOD * iod)
    if grow > 0:
        region = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    k = int(2 * round(feather) + 1)
    region_a = cv2.GaussianBlur(region.astype(np.float32) / 255.0, (k, k), feather / 2)
    # midline: the live frame's, where the live half meets the frozen one
    d = midline_side(face_xy, (h, w), side)
    side_a = np.clip(0.5 + d / (2 * feather), 0.0, 1.0)
    alpha = (region_a * side_a)[..., None]
    return np.clip(alpha * aligned + (1 - alpha) * frame, 0, 255).astype(np.uint8)


def write_video(frames: list[np.ndarray], path: Path, fps: float) -> Path:
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not out.isOpened():
        raise RuntimeError(f"cannot write {path}")
    for f in frames:
        out.write(f)
    out.release()
    return path


def make_chimeras(
    video: str, out_dir: Path, name: str, rest_s: float, start: int = 0, end: int | None = None
) -> dict[str, Path]:
    """Cut ``video`` to frames start..end and write the original and both chimeras."""
    frames, fps = read_frames(video, start, end)
    tracked = track_frames(frames, fps)
    n = neutral_index(tracked, round(rest_s * fps))
    neutral, neutral_xy = frames[n], tracked[n].face.xy.astype(np.float64)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"orig": write_video(frames, out_dir / f"{name}_orig.mp4", fps)}
    for side in ("left", "right"):
        chim = []
        for img, t in zip(frames, tracked):
            if t.face.face_found:
                chim.append(chimera_frame(img, t.face.xy.astype(np.float64), neutral, neutral_xy, side))
            else:
                chim.append(img)
        paths[f"frozen_{side}"] = write_video(chim, out_dir / f"{name}_frozen_{side}.mp4", fps)
    return paths


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("video")
    p.add_argument("out_dir", type=Path)
    p.add_argument("--name", default=None)
    p.add_argument("--rest-s", type=float, default=1.0)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--end", type=int, default=None)
    a = p.parse_args(argv)
    paths = make_chimeras(a.video, a.out_dir, a.name or Path(a.video).stem, a.rest_s, a.start, a.end)
    for k, v in paths.items():
        print(k, v)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
