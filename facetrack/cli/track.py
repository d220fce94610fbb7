"""``facetrack track``: per-frame landmarks, head pose and quality flags to CSV."""

from __future__ import annotations

import itertools
import sys

from facetrack.errors import EXIT_FAILURE, FacetrackError
from facetrack.face.pipeline import Tracker
from facetrack.capture.source import FrameSource


def open_source(args, **kw) -> FrameSource:
    spec = args.source
    return FrameSource(int(spec) if str(spec).isdigit() else spec, mirrored=args.mirrored, **kw)


def run(args) -> int:
    from facetrack.reporting.track_csv import write_track_csv

    source = open_source(args)
    if not args.out.parent.exists():
        raise FacetrackError(f"output directory does not exist: {args.out.parent}")
    with Tracker(args.model) as tracker:
        frames = tracker.run(source, progress=True)
        if args.max_frames:
            frames = itertools.islice(frames, args.max_frames)
        path, n, found = write_track_csv(frames, args.out, args.mirrored)
    print(f"{n} frames, face found in {found} ({100 * found / max(n, 1):.0f}%): {path}")
    if source.problem:
        raise FacetrackError(source.problem)
    if n and not found:
        print(f"facetrack: no face was found in any of the {n} frames of {source.name}", file=sys.stderr)
        return EXIT_FAILURE
    return 0
