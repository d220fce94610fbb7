"""Sub-commands beyond ``track`` and ``bench``."""

from __future__ import annotations

import argparse
from pathlib import Path

from facetrack.face.movements import MOVEMENT_IDS


def _model_arg(p):
    p.add_argument("--model", help="Face Landmarker .task file (default: bundled; $FACETRACK_MODEL)")


def _lazy(module: str, func: str):
    def run(args):
        import importlib
        return getattr(importlib.import_module(f"facetrack.{module}"), func)(args)
    return run


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
    p.set_defaults(func=_lazy("cli.analyze", "analyze"))

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
    p.set_defaults(func=_lazy("cli.exercise", "exercise"))

    p = sub.add_parser("sessions", help="list recorded sessions")
    p.add_argument("--patient", help="only this patient's")
    _data_dir_arg(p)
    p.set_defaults(func=_lazy("cli.exercise", "sessions_cmd"))

    p = sub.add_parser("import", help="analyse recorded videos into a patient's history")
    p.add_argument("videos", nargs="+", metavar="VIDEO")
    p.add_argument("--patient", required=True)
    p.add_argument("--date", required=True, help="when they were recorded, YYYY-MM-DD (not in the future)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--movement", metavar="ID", choices=MOVEMENT_IDS,
                     help="the movement every video shows (default: read it from each file name)")
    how.add_argument("--routine", metavar="NAME|FILE.toml", help="videos are the routine's movements, in order")
    p.add_argument("--affected", choices=("left", "right"))
    p.add_argument("--mirrored", action="store_true", help="the videos are mirror images")
    _data_dir_arg(p)
    _model_arg(p)
    p.set_defaults(func=_lazy("cli.import_", "import_cmd"))

    p = sub.add_parser("report", help="HTML report with plots: sessions and recovery over weeks")
    p.add_argument("--patient")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--session", type=int, metavar="ID")
    which.add_argument("--last", action="store_true", help="the latest session (the default)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR")
    _data_dir_arg(p)
    p.set_defaults(func=_lazy("reporting.report", "report_cmd"))

    p = sub.add_parser("export", help="tidy CSV for clinicians, with a data dictionary")
    p.add_argument("--patient")
    p.add_argument("--from", metavar="DATE", help="first day, YYYY-MM-DD")
    p.add_argument("--to", metavar="DATE", help="last day, YYYY-MM-DD")
    p.add_argument("--level", required=True, choices=("sessions", "movements", "reps", "frames"))
    p.add_argument("--out", required=True, type=Path, metavar="FILE.csv")
    p.add_argument("--pseudonymise", action="store_true", help="replace the patient name by a stable code")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    _data_dir_arg(p)
    p.set_defaults(func=_lazy("reporting.export", "export_cmd"))

    p = sub.add_parser("demo", help="build a demo patient from the bundled videos; write a report and an export")
    p.add_argument("--out", type=Path, default=Path("facetrack-demo"), help="folder (default ./facetrack-demo)")
    _model_arg(p)
    p.set_defaults(func=_lazy("cli.demo", "demo"))

    p = sub.add_parser("forget", help="delete everything about a patient")
    p.add_argument("--patient", required=True)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _data_dir_arg(p)
    p.set_defaults(func=_lazy("cli.forget", "forget_cmd"))
