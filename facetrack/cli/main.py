"""The ``facetrack`` command: the parser, and the one place errors become messages.

Each command lives in its own module of this package with a ``run(args)``; it is imported
only when that command runs, so ``facetrack sessions`` never loads MediaPipe or OpenCV.
Options that several commands share are defined once below.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from facetrack import __version__
from facetrack.errors import EXIT_INTERRUPTED, FacetrackError

# The catalogue's ids, written out here so that building the parser imports no numpy; a
# test checks they are the catalogue's (tests/test_measures.py).
MOVEMENT_IDS = (
    "frown",
    "brow_raise",
    "eye_close_tight",
    "eye_close_alternate",
    "nostril_flare",
    "nostril_narrow",
    "nose_wrinkle",
    "lip_pucker_u",
    "lip_spread_i",
    "upper_lip_raise",
    "lower_lip_lower",
    "lip_hold",
)
VIEWS = ("camera", "mesh")  # facetrack.live.overlay.VIEWS, likewise (tests/test_replay_session.py)


def _command(module: str):
    def run(args) -> int:
        return importlib.import_module(f"facetrack.cli.{module}").run(args)

    return run


# -- options shared by several commands ----------------------------------------------
def _model(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        metavar="FILE.task",
        help="Face Landmarker model (default: the bundled one, or "
        "$FACETRACK_MODEL); its sha256 must match the official bundle",
    )


def _mirrored(p: argparse.ArgumentParser, what: str = "the input is") -> None:
    p.add_argument(
        "--mirrored",
        action="store_true",
        help=f"{what} a mirror image (e.g. saved by a webcam app); "
        "it is flipped back so that left stays the patient's left",
    )


def _data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where the database lives (default: the user data directory, or $FACETRACK_DATA_DIR)",
    )


def _affected(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--affected",
        choices=("left", "right"),
        help="the patient's affected side, if known (the patient's own left or right)",
    )


def _patient(p: argparse.ArgumentParser, required: bool = False, what: str = "whose sessions") -> None:
    p.add_argument("--patient", required=required, metavar="NAME", help=what)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facetrack",
        description="Measure facial movements per side of the face "
        "from a webcam or video, for facial-paralysis rehabilitation.",
    )
    parser.add_argument("--version", action="version", version=f"facetrack {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, help="what to do; `facetrack COMMAND --help` for its options"
    )

    def command(name: str, module: str, help_text: str, **kw) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, **kw)
        p.set_defaults(func=_command(module))
        return p

    p = command("exercise", "exercise", "the guided exercise session with live feedback, recorded")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=0, metavar="N", help="camera index (default 0)")
    src.add_argument("--source", metavar="VIDEO", help="a video file instead of the camera")
    p.add_argument(
        "--routine",
        metavar="NAME|FILE.toml",
        help="built-in routine (full, hands-on, clinical, quick) or a TOML file; default: the whole programme",
    )
    _patient(p, what="whose session this is (default: me)")
    p.set_defaults(patient="me")
    _affected(p)
    p.add_argument("--no-mirror", action="store_true", help="show the camera unmirrored")
    p.add_argument(
        "--view",
        choices=VIEWS,
        default="camera",
        help="camera: your picture; mesh: your face drawn as its tracked mesh, no picture (m switches)",
    )
    p.add_argument("--no-window", action="store_true", help="run headless (use with --overlay-out)")
    p.add_argument("--overlay-out", type=Path, metavar="FILE.mp4", help="write what the window shows")
    p.add_argument(
        "--record-video",
        type=Path,
        metavar="FILE.mp4",
        help="also keep the raw camera video (owner-only file; not kept otherwise; `forget` deletes it)",
    )
    p.add_argument(
        "--realtime",
        action="store_true",
        help="play --source at its own speed, dropping frames the loop is too slow for, as a camera would",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no sound (by default a cue sounds at each phase, the repetition count after each one, "
        "and during the eye exercises a tone rising as the weaker lid closes)",
    )
    p.add_argument(
        "--audio-out",
        type=Path,
        metavar="FILE.wav",
        help="write the sound guidance on the session's timeline (with or without a sound card)",
    )
    _mirrored(p, "the camera or video itself is")
    _data_dir(p)
    _model(p)

    p = command(
        "analyze",
        "analyze",
        "repetitions, per-side amplitude and symmetry of one movement video",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="movements: " + ", ".join(MOVEMENT_IDS),
    )
    p.add_argument("video", help="video: the person rests for the first second, then does the movement")
    p.add_argument("--movement", required=True, metavar="ID", help="movement id (see below)")
    _affected(p)
    p.add_argument("--csv", type=Path, metavar="FILE.csv", help="write one row per repetition")
    p.add_argument("--overlay", type=Path, metavar="FILE.mp4", help="write the video with the measures drawn on it")
    p.add_argument("--plot", type=Path, metavar="FILE.png", help="write the per-side measure over time")
    p.add_argument(
        "--variant",
        choices=("free", "assisted", "resisted"),
        default="free",
        help="the movement was done hands-on (fingers helping or resisting from the rest on): the side they "
        "cover is left out, the other read against the rest; default free",
    )
    p.add_argument(
        "--rest-s",
        type=float,
        default=1.0,
        metavar="S",
        help="length of the neutral rest at the start, seconds (default 1)",
    )
    _mirrored(p, "the video is")
    _model(p)

    p = command("import", "import_", "analyse recorded videos into a patient's history")
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="one video per movement")
    _patient(p, required=True, what="whose videos these are")
    p.add_argument("--date", required=True, help="when they were recorded, YYYY-MM-DD (not in the future)")
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--movement",
        metavar="ID",
        choices=MOVEMENT_IDS,
        help="the movement every video shows (default: read it from each file name)",
    )
    how.add_argument("--routine", metavar="NAME|FILE.toml", help="videos are the routine's movements, in order")
    _affected(p)
    _mirrored(p, "the videos are")
    _data_dir(p)
    _model(p)

    p = command("sessions", "sessions", "list recorded sessions")
    _patient(p, what="only this patient's sessions")
    _data_dir(p)

    p = command("report", "report", "HTML report with plots: sessions and recovery over weeks")
    _patient(p, what="whose report (default: every patient)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--session", type=int, metavar="ID", help="this session (ids: `facetrack sessions`)")
    which.add_argument("--last", action="store_true", help="the latest session (the default)")
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="folder for report.html, its plots and the one-page report.pdf",
    )
    _data_dir(p)

    p = command("export", "export", "tidy CSV or Excel workbook for clinicians, with a data dictionary")
    _patient(p, what="only this patient (default: every patient)")
    p.add_argument("--from", metavar="DATE", help="first day, YYYY-MM-DD")
    p.add_argument("--to", metavar="DATE", help="last day, YYYY-MM-DD")
    p.add_argument(
        "--level",
        required=True,
        nargs="+",
        action="extend",
        choices=("sessions", "movements", "reps", "frames"),
        metavar="LEVEL",
        help="sessions, movements, reps or frames: one row per session, movement of a session, repetition, "
        "or frame; a CSV holds one level, a workbook (--format xlsx) a sheet for each level given",
    )
    p.add_argument("--out", required=True, type=Path, metavar="FILE.csv|FILE.xlsx", help="file to write (owner-only)")
    p.add_argument(
        "--format",
        choices=("csv", "xlsx"),
        help="csv (the data dictionary in FILE.dictionary.csv beside it) or xlsx (a sheet a level and a "
        "'dictionary' sheet); default: from the name of --out, else csv",
    )
    p.add_argument("--pseudonymise", action="store_true", help="replace the patient name by a stable code")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    _data_dir(p)

    p = command("track", "track", "per-frame landmarks, head pose and quality flags to CSV")
    p.add_argument("source", help="video file, image file, or a camera index such as 0")
    p.add_argument("--out", required=True, type=Path, metavar="FILE.csv", help="CSV file to write")
    p.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after this many frames")
    _mirrored(p)
    _model(p)

    p = command("demo", "demo", "build a demo patient from the bundled videos; write a report and an export")
    p.add_argument(
        "--out", type=Path, default=Path("facetrack-demo"), metavar="DIR", help="folder (default ./facetrack-demo)"
    )
    _model(p)

    p = command("forget", "forget", "delete everything about a patient (rows, landmarks, recorded videos)")
    _patient(p, required=True, what="whose data to delete")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _data_dir(p)

    p = command(
        "bench",
        "bench",
        "speed of what users run (track, analyze, the live loop) against the bare "
        "landmarker, in one run on this machine",
    )
    p.add_argument("source", nargs="?", help="video file (default: a bundled sample video)")
    p.add_argument("--frames", type=int, default=200, metavar="N", help="frames of it to time (default 200)")
    p.add_argument("--movement", default="lip_spread_i", metavar="ID", help="movement analysed and exercised")
    p.add_argument("--live-s", type=float, default=20.0, metavar="S", help="seconds of the paced live loop")
    p.add_argument("--camera-fps", type=float, default=30.0, metavar="FPS", help="the replayed camera's rate")
    _mirrored(p)
    _model(p)
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
        print(
            f"facetrack: internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
            "(set FACETRACK_DEBUG=1 to see the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
