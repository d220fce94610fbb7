"""``facetrack demo``: the whole product on bundled sample videos, no camera, no network.

It imports the bundled clips as a demo patient's four weekly sessions (the patient's left
recovering), then writes the report and a clinician export, and says where they are.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from facetrack.capture.sample_data import sample_dir
from facetrack.cli.import_ import analysed, store_import
from facetrack.errors import FacetrackError
from facetrack.reporting.export import export
from facetrack.reporting.report import build_report
from facetrack.storage.store import Store

DEMO_PATIENT = "Demo Patient"


def run(args) -> int:
    out = Path(args.out).resolve()
    if out.exists() and any(out.iterdir()):
        if not (out / "data" / "facetrack.sqlite").exists():
            raise FacetrackError(f"{out} exists and is not a facetrack demo folder; choose another --out")
        shutil.rmtree(out)  # a previous demo's own folder: rebuilt from scratch
    out.mkdir(parents=True, exist_ok=True, mode=0o700)  # the demo patient's data: owner-only
    index = json.loads((sample_dir() / "samples.json").read_text())
    weeks = sorted({v["week"] for v in index.values()})
    start = datetime.now().astimezone().replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(
        weeks=len(weeks)
    )
    plan = []  # (when, [(video, movement)]) per weekly session
    for week in weeks:
        clips = sorted(name for name, v in index.items() if v["week"] == week)
        plan.append(
            (
                (start + timedelta(weeks=week - 1)).isoformat(timespec="seconds"),
                [(sample_dir() / c, index[c]["movement"]) for c in clips],
            )
        )
    # every clip of every week queued at once, on all the CPUs; stored week by week in order
    jobs = [
        (step, video, movement, "left", False, args.model)
        for _, todo in plan
        for step, (video, movement) in enumerate(todo)
    ]
    with Store(out / "data") as store, analysed(jobs) as results:
        for week, (when, todo) in zip(weeks, plan):
            print(f"week {week} ({when[:10]}): importing {len(todo)} sample videos")
            store_import(store, DEMO_PATIENT, when, todo, results, affected="left", model=args.model)
        page = build_report(store, out / "report", DEMO_PATIENT)
        csv_path, counts = export(store, "reps", out / "export_reps.csv", DEMO_PATIENT)
    print()
    print(f"report:  {page}")
    print(f"export:  {csv_path} ({counts['reps']} repetitions; data dictionary beside it)")
    print(f"data:    {out / 'data'} (the demo's own database; your own data is elsewhere)")
    return 0
