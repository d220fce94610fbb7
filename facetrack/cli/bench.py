"""``facetrack bench``: what the pipeline costs on top of the bare MediaPipe model.

Both passes run in one process on the same decoded frames (decoding is left out of both),
each with a fresh landmarker, alternated twice so warm-up and CPU drift hit both alike.
"""

from __future__ import annotations

import time

from facetrack.cli.track import open_source
from facetrack.errors import FacetrackError
from facetrack.capture.landmarker import Landmarker
from facetrack.face.pipeline import Tracker
from facetrack.capture.sample_data import sample_path
from facetrack.reporting.track_csv import track_row


def _bare(frames, model) -> float:
    with Landmarker(model) as lm:
        lm.detect_raw(frames[0])  # graph start-up is not per-frame cost
        t0 = time.perf_counter()
        for f in frames[1:]:
            lm.detect_raw(f)
        return (len(frames) - 1) / (time.perf_counter() - t0)


def _pipeline(frames, model, mirrored) -> float:
    with Tracker(model) as tracker:
        track_row(tracker.process(frames[0]), mirrored)
        t0 = time.perf_counter()
        for f in frames[1:]:
            track_row(tracker.process(f), mirrored)
        return (len(frames) - 1) / (time.perf_counter() - t0)


def run(args) -> int:
    if args.source is None:
        args.source = str(sample_path("week1_brow_raise.mp4"))
    frames = []
    for frame in open_source(args):
        frames.append(frame)
        if len(frames) >= args.frames:
            break
    if len(frames) < 10:
        raise FacetrackError(f"{args.source} has only {len(frames)} frames; need at least 10 to time")
    bare, full = [], []
    for _ in range(2):
        bare.append(_bare(frames, args.model))
        full.append(_pipeline(frames, args.model, args.mirrored))
    b, p = max(bare), max(full)
    w, h = frames[0].resolution_wh
    print(f"frames: {len(frames)} of {args.source} ({w}x{h}), best of 2 passes each")
    print(f"bare MediaPipe landmarker: {b:6.1f} fps  ({1000 / b:5.1f} ms/frame)")
    print(f"facetrack track pipeline:  {p:6.1f} fps  ({1000 / p:5.1f} ms/frame)")
    print(f"pipeline cost over bare model: {100 * (b / p - 1):+.1f}%  (goal: at most +15%)")
    return 0
