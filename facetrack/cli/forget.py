"""``facetrack forget --patient NAME``: delete everything about one patient."""

from __future__ import annotations

import sys
from pathlib import Path

from facetrack.errors import FacetrackError
from facetrack.storage.store import Store, clean_name


def forget_cmd(args) -> int:
    name = clean_name(args.patient)
    with Store(args.data_dir, readonly=True) as store:
        row = store.db.execute("SELECT id FROM patients WHERE name = ?", (name,)).fetchone()
        if not row:
            raise FacetrackError(f"no patient named {name!r}")
        pid = row[0]
        sessions = [r[0] for r in store.db.execute("SELECT id FROM sessions WHERE patient_id = ?", (pid,))]
        videos = [r[0] for r in store.db.execute(
            "SELECT video_path FROM sessions WHERE patient_id = ? AND video_path IS NOT NULL", (pid,))]
        marks = ",".join("?" * len(sessions))
        counts = {t: store.db.execute(f"SELECT count(*) FROM {t} WHERE session_id IN ({marks})", sessions).fetchone()[0]
                  for t in ("reps", "frames", "landmark_chunks")} if sessions else {}
        summary = (f"{name}: {len(sessions)} sessions, {counts.get('reps', 0)} repetitions, "
                   f"{counts.get('frames', 0)} frames of measures and landmarks, {len(videos)} recorded videos")
        if not args.yes:
            if not sys.stdin.isatty():
                raise FacetrackError(f"would delete {summary}; confirm with --yes")
            answer = input(f"Delete {summary}? Type the patient's name to confirm: ")
            if answer.strip() != name:
                print("nothing deleted")
                return 1
        with store.transaction() as db:
            for table in ("reps", "frames", "landmark_chunks"):
                db.execute(f"DELETE FROM {table} WHERE session_id IN ({marks})", sessions)
            db.execute("DELETE FROM sessions WHERE patient_id = ?", (pid,))
            db.execute("DELETE FROM patients WHERE id = ?", (pid,))
        store.db.execute("VACUUM")  # the deleted rows must not linger in free pages ...
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # ... nor in the write-ahead log
        removed = 0
        for v in videos:
            p = Path(v)
            if p.is_file():
                p.unlink()
                removed += 1
    print(f"deleted {summary} ({removed} video files removed)")
    return 0
