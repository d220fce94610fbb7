"""``facetrack demo``: the whole product on bundled sample videos, no camera, no network.

It imports the bundled clips as a demo patient's four weekly sessions (the patient's left
recovering), then writes the report and a clinician export, and says where they are.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
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
    read: dict[str, list[dict]] = {}  # clip name -> its stored repetitions
    with Store(out / "data") as store, analysed(jobs) as results:
        for week, (when, todo) in zip(weeks, plan):
            print(f"week {week} ({when[:10]}): importing {len(todo)} sample videos")
            sid = store_import(store, DEMO_PATIENT, when, todo, results, affected="left", model=args.model)
            reps = store.reps(sid)
            for step, (video, _) in enumerate(todo):
                read[video.name] = [r for r in reps if r["step"] == step]
        print()
        for line in truth_lines(index, read):
            print(line)
        page = build_report(store, out / "report", DEMO_PATIENT)
        csv_path, counts = export(store, "reps", out / "export_reps.csv", DEMO_PATIENT)
    print()
    print(f"report:  {page}")
    print(f"export:  {csv_path} ({counts['reps']} repetitions; data dictionary beside it)")
    print(f"data:    {out / 'data'} (the demo's own database; your own data is elsewhere)")
    return 0


def truth_lines(index: dict, read: dict[str, list[dict]]) -> list[str]:
    """The samples are generated with a known truth (samples.json): per movement, week by week,
    the true symmetry against the median symmetry read and the side read weaker most often,
    so the demo shows how right facetrack is on it, not only what it reads."""
    lines = ["the samples' true symmetry (samples.json) against what facetrack read, week by week:"]
    for movement in sorted({v["movement"] for v in index.values()}):
        clips = sorted((v["week"], name) for name, v in index.items() if v["movement"] == movement)
        cells = []
        for _, name in clips:
            reps = read.get(name, [])
            syms = [
                r["symmetry_pct"] for r in reps if r["symmetry_pct"] is not None and math.isfinite(r["symmetry_pct"])
            ]
            sides = [r["weaker_side"] for r in reps]
            # the side read weaker most often; a tie shows every side tied ("none/right")
            top = max((sides.count(x) for x in sides), default=0)
            side = "/".join(sorted({x for x in sides if sides.count(x) == top})) or "-"
            got = f"{statistics.median(syms):.0f}% {side}" if syms else "none read"
            cells.append(f"{index[name]['true_symmetry_pct']:.0f}% {index[name]['weak_side']} -> {got}")
        lines.append(f"  {movement:<16} " + ", ".join(cells))
    return lines
