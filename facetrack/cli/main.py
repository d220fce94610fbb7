"""The ``facetrack`` command: argument parsing and the one place errors become messages."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from facetrack import __version__
from facetrack.errors import EXIT_INTERRUPTED, FacetrackError


def _source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mirrored", action="store_true",
                   help="the input is a mirror image (e.g. saved by a webcam app); "
                        "it is flipped back so left stays the patient's left")
    p.add_argument("--model", help="Face Landmarker .task file (default: the bundled one, "
                                   "or $FACETRACK_MODEL); its sha256 must match the official bundle")


def _cmd_track(args) -> int:
    from facetrack.cli.track import track
    return track(args)


def _cmd_bench(args) -> int:
    from facetrack.cli.bench import bench
    return bench(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facetrack", description="Measure facial movements per side of the face from a webcam or video, for facial-paralysis rehabilitation.")
    parser.add_argument("--version", action="version", version=f"facetrack {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("track", help="per-frame landmarks, head pose and quality flags to CSV")
    p.add_argument("source", help="video file, image file, or a camera index such as 0")
    p.add_argument("--out", required=True, type=Path, help="CSV file to write")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    _source_args(p)
    p.set_defaults(func=_cmd_track)

    p = sub.add_parser("bench", help="frames per second: bare landmarker vs the full pipeline")
    p.add_argument("source", nargs="?", help="video file (default: a bundled sample video)")
    p.add_argument("--frames", type=int, default=150, help="frames to time in each pass")
    _source_args(p)
    p.set_defaults(func=_cmd_bench)

    from facetrack.cli.more import add_commands
    add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except FacetrackError as err:
        print(f"facetrack: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("facetrack: interrupted; what was recorded is kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # last resort: one line, never a traceback for a user
        if os.environ.get("FACETRACK_DEBUG"):
            raise
        print(f"facetrack: internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
              "(set FACETRACK_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
