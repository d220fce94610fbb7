"""Make the replay fixture of the fast tier (run once; MediaPipe and the generator needed).

    PYTHONPATH=. python tests/data/make_replay.py

1. ``replay_session.mp4``: a short guided session as the camera would see it
   (calibration.synth.session_video: the astronaut face, the patient's left at half the
   right's amplitude) for the routine in ``replay_session.toml``;
2. ``replay_session.npz``: what MediaPipe's FaceLandmarker finds in each frame of that file
   as decoded by FrameSource (facetrack.capture.replay.save_face_frames).

The fast tests replay 2 through facetrack.capture.replay.ReplayLandmarker over the frames of 1.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).parent
VIDEO = HERE / "replay_session.mp4"
FACES = HERE / "replay_session.npz"
ROUTINE = HERE / "replay_session.toml"
RATIO, WEAK = 0.5, "left"


def steps() -> list[tuple[str, int, float, float]]:
    spec = tomllib.loads(ROUTINE.read_text())
    return [(m["id"], m["reps"], m["hold_s"], m["rest_s"]) for m in spec["movement"]]


def main() -> int:
    from calibration.synth import load_base_face, session_video
    from facetrack.capture.replay import save_face_frames
    from facetrack.capture.source import FrameSource
    from facetrack.face.pipeline import Tracker

    with Tracker() as tracker:
        info = session_video(steps(), VIDEO, load_base_face(tracker), ratio=RATIO, weak_side=WEAK)
        faces = [tracker.process(frame).face for frame in FrameSource(str(VIDEO))]
        save_face_frames(FACES, faces, tracker.model_sha256)
    VIDEO.chmod(0o644)
    FACES.chmod(0o644)  # repository files; what facetrack itself writes is owner-only
    found = sum(f.face_found for f in faces)
    print(
        f"{VIDEO.name}: {len(faces)} frames, {info['duration_s']:.1f} s, {VIDEO.stat().st_size} bytes; "
        f"{FACES.name}: face found in {found}, {FACES.stat().st_size} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
