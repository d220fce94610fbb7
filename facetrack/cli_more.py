"""Sub-commands beyond ``track`` and ``bench``."""

from __future__ import annotations

import argparse
from pathlib import Path

from facetrack.movements import MOVEMENT_IDS


def _model_arg(p):
    p.add_argument("--model", help="Face Landmarker .task file (default: bundled; $FACETRACK_MODEL)")


def _analyze(args):
    from facetrack.analyze_cmd import analyze
    return analyze(args)


def _exercise(args):
    from facetrack.exercise_cmd import exercise
    return exercise(args)


def _sessions(args):
    from facetrack.exercise_cmd import sessions_cmd
    return sessions_cmd(args)


def _data_dir_arg(p):
    p.add_argument("--data-dir", help="where the database lives (default: the user data directory, "
                                      "or $FACETRACK_DATA_DIR)")


def add_commands(sub) -> None:
    p = sub.add_parser("analyze", help="repetitions, per-side amplitude and symmetry of one movement video",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="movements: " + ", ".join(MOVEMENT_IDS))
    p.add_argument("video", help="video: the person rests for the first second, then does the movement")
    p.add_argument("--movement", required=True, metavar="ID", help="movement id (see below)")
    p.add_argument("--affected", choices=("left", "right"), help="the patient's affected side, if known")
    p.add_argument("--csv", type=Path, help="write one row per repetition")
    p.add_argument("--overlay", type=Path, help="write the video with the measures drawn on it (.mp4)")
    p.add_argument("--plot", type=Path, help="write the per-side measure over time (.png)")
    p.add_argument("--rest-s", type=float, default=1.0, help="length of the neutral rest at the start (s)")
    p.add_argument("--mirrored", action="store_true", help="the video is a mirror image")
    _model_arg(p)
    p.set_defaults(func=_analyze)

    p = sub.add_parser("exercise", help="the guided exercise session with live feedback, recorded")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=0, metavar="N", help="camera index (default 0)")
    src.add_argument("--source", metavar="VIDEO", help="a video file instead of the camera")
    p.add_argument("--routine", metavar="NAME|FILE.toml", help="built-in routine (full, quick) or a TOML file; "
                   "default: the whole programme")
    p.add_argument("--patient", default="me", help="whose session this is (default: me)")
    p.add_argument("--affected", choices=("left", "right"), help="the patient's affected side")
    p.add_argument("--no-mirror", action="store_true", help="show the camera unmirrored")
    p.add_argument("--no-window", action="store_true", help="run headless (use with --overlay-out)")
    p.add_argument("--overlay-out", type=Path, metavar="FILE.mp4", help="write what the window shows")
    p.add_argument("--record-video", type=Path, metavar="FILE.mp4",
                   help="also keep the raw camera video (not kept otherwise)")
    p.add_argument("--realtime", action="store_true", help="play --source at its own speed, dropping "
                   "frames the loop is too slow for, as a camera would")
    p.add_argument("--mirrored", action="store_true", help="the input itself is a mirror image")
    _data_dir_arg(p)
    _model_arg(p)
    p.set_defaults(func=_exercise)

    p = sub.add_parser("sessions", help="list recorded sessions")
    p.add_argument("--patient", help="only this patient's")
    _data_dir_arg(p)
    p.set_defaults(func=_sessions)
