"""Is it the mesh's depth that makes a turned symmetric smile read one-sided?

    python -m calibration.turned_mouth tests/data/single_face.mp4 calibration/out/lip_spread_i_r100_leftweak_yaw12.mp4

For each clip (the first REST_FRAMES frames a rest): each mouth corner's outward-upward
travel (face.measures.corner_out_up) in the frontal frame, at its widest (median of the
WIDEST_FRAMES largest values), and the symmetry of the two, computed twice: with MediaPipe's
own per-frame depth, as facetrack measures, and with every landmark's depth replaced by the
rest face's, turned rigidly with the head (the image x-y kept).  If the mesh's depth, mixed
into x and y by the derotation under a turn, made the asymmetry, the second reading would
be symmetric.  Mesh alone, no skin correction: the question is about the mesh.
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


def widest(clip: str) -> dict[str, tuple[float, float, float]]:
    with Tracker() as tracker:
        faces = [t.face for t in tracker.run(FrameSource(clip)) if t.norm is not None]
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
    a = p.parse_args(argv)
    for clip in a.clips:
        parts = [f"{k}: left {v[0]:.3f} right {v[1]:.3f} (face units) {v[2]:.0f}%" for k, v in widest(clip).items()]
        print(f"{clip}: " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
