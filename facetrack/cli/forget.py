"""``facetrack forget --patient NAME``: delete everything about one patient."""

from __future__ import annotations

import sys
from pathlib import Path

from facetrack.errors import FacetrackError
from facetrack.storage.store import Store, clean_name


def run(args) -> int:
    name = clean_name(args.patient)
    with Store(args.data_dir, readonly=True) as store:
        found = store.patient_footprint(name)
        summary = (f"{name}: {len(found['sessions'])} sessions, {found['reps']} repetitions, "
                   f"{found['frames']} frames of measures and landmarks, {len(found['videos'])} recorded videos")
        if not args.yes:
            if not sys.stdin.isatty():
                raise FacetrackError(f"would delete {summary}; confirm with --yes")
            answer = input(f"Delete {summary}? Type the patient's name to confirm: ")
            if answer.strip() != name:
                print("nothing deleted")
                return 1
        removed = 0
        for v in found["videos"]:  # the videos first: a failure must not leave them unlisted
            p = Path(v)
            if p.is_file():
                p.unlink()
                removed += 1
        store.delete_patient(found)
    print(f"deleted {summary} ({removed} video files removed)")
    return 0
