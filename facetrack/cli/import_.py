"""``facetrack import``: analyse recorded videos into a patient's history."""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path

from facetrack.analysis.offline import run_analysis
from facetrack.analysis.rows import neutral_record, rep_record
from facetrack.errors import FacetrackError
from facetrack.face.movements import MOVEMENT_IDS, split_variant_key, variant_key
from facetrack.live.routine import load_routine
from facetrack.storage.recorder import Recorder
from facetrack.storage.store import Store, clean_name
from facetrack.tables import RepRecord, StepNeutralRecord


def parse_date(text: str) -> str:
    """YYYY-MM-DD (or a full ISO 8601 time) -> ISO 8601 with the local time zone; not in the future."""
    try:
        if len(text) == 10:
            when = datetime.combine(date.fromisoformat(text), dtime(12, 0)).astimezone()
        else:
            when = datetime.fromisoformat(text)
            when = when if when.tzinfo else when.astimezone()
    except ValueError:
        raise FacetrackError(f"date {text!r} is not a date like 2026-03-31") from None
    if when.date() > datetime.now().astimezone().date():
        raise FacetrackError(f"date {text} is in the future")
    if when.year < 1990:
        raise FacetrackError(f"date {text} is before 1990; check it")
    return when.isoformat(timespec="seconds")


def movement_for(video: Path, given: str | None) -> str:
    if given:
        return given
    found = [m for m in MOVEMENT_IDS if m in video.stem]
    if not found:
        raise FacetrackError(
            f"cannot tell which movement {video.name} shows: give --movement ID or put the movement id in the file name"
        )
    return max(found, key=len)  # eye_close_alternate over eye_close_tight-like prefixes


def plan(videos: list[str], movement: str | None, routine: str | None) -> list[tuple[Path, str]]:
    paths = [Path(v) for v in videos]
    if routine:
        steps = [s for s in load_routine(routine).steps if s.measured]  # a massage has no video
        if len(steps) != len(paths):
            raise FacetrackError(f"routine has {len(steps)} movements but {len(paths)} videos were given")
        # a hands-on step travels as movement/variant (face.movements.variant_key)
        return [(p, variant_key(s.movement, s.variant)) for p, s in zip(paths, steps)]
    return [(p, movement_for(p, movement)) for p in paths]


def _analyse(job: tuple) -> tuple:
    """One video -> what the store keeps of it (runs in a worker process: table records only,
    which pickle; the analysis with its optical-flow state does not)."""
    step, video, key, affected, mirrored, model = job
    movement, variant = split_variant_key(key)
    recorded: list = []
    try:
        a, _, _ = run_analysis(
            str(video), movement, affected, mirrored, model, recorded=recorded, step=step, variant=variant
        )
    except FacetrackError as err:
        return step, f"{video.name}: {err}", None
    rows = [RepRecord(step, rep_record(a.movement.id, a.neutral, r, variant)) for r in a.reps]
    return step, None, (neutral_record(a.neutral), recorded, rows, [r.symmetry.symmetry_pct for r in a.reps])


def _die_with_parent(parent_pid: int) -> None:
    """A worker ends with the import that started it: killed (kill -9, a crash), the parent
    cannot tell its workers, and they would go on analysing, or wait, for nobody (Linux:
    PR_SET_PDEATHSIG; a parent already gone while the worker started up: leave at once)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(1)


@contextmanager
def analysed(jobs: list[tuple], workers: int | None = None) -> Iterator[Iterator[tuple]]:
    """The results of ``_analyse`` over ``jobs``, in order, computed on ``workers`` processes
    (default: one per CPU) so that the next videos are analysed while one is stored."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    if workers == 1:
        yield map(_analyse, jobs)
        return
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        yield pool.map(_analyse, jobs)
    finally:
        pool.shutdown(cancel_futures=True)


def import_videos(
    store: Store,
    patient: str,
    when: str,
    todo: list[tuple[Path, str]],
    affected=None,
    model=None,
    mirrored=False,
    quiet=False,
    workers: int | None = None,
) -> int:
    """Analyse each (video, movement) and keep it as one step of one imported session."""
    jobs = [(step, video, movement, affected, mirrored, model) for step, (video, movement) in enumerate(todo)]
    with analysed(jobs, workers) as results:
        return store_import(store, patient, when, todo, results, affected, model, quiet)


def store_import(
    store: Store,
    patient: str,
    when: str,
    todo: list[tuple[Path, str]],
    results: Iterator[tuple],
    affected=None,
    model=None,
    quiet=False,
) -> int:
    """Keep ``len(todo)`` analysed videos from ``results`` as one session, one commit per
    video as it arrives: an interruption keeps every video stored before it."""
    pid = store.patient_id(patient, affected=affected)
    recorder = None
    failures = []
    for _ in todo:
        step, failure, kept = next(results)
        video, movement = todo[step]
        if failure is not None or kept is None:
            failures.append(failure)
            continue
        neutral, recorded, rows, syms = kept
        if recorder is None:
            recorder = Recorder(
                store,
                pid,
                "import",
                _sha(model),
                {"affected": affected, "videos": [str(p.name) for p, _ in todo]},
                str(video.name),
                kind="import",
                started_at=when,
            )
            recorder.store_record(neutral)
        # each video was measured against its own rest (from its first frame on)
        recorder.store_record(StepNeutralRecord(step, -1.0, neutral.xyz))
        for record, landmarks in recorded:
            recorder.frame(record, landmarks)
        for row in rows:  # the video's frames are committed with its first repetition ...
            recorder.store_record(row)
        recorder.flush()  # ... or alone, if it has none
        if not quiet:
            shown = ", ".join("--" if math.isnan(x) else f"{x:.0f}%" for x in syms)
            print(f"  {video.name}: {movement}, {len(rows)} repetitions, symmetry {shown or 'none found'}")
    if recorder is not None:
        recorder.finish(complete=not failures)
    for f in failures:
        print(f"  skipped {f}")
    if recorder is None:
        raise FacetrackError("no video could be imported: " + "; ".join(failures))
    return recorder.session_id


def _sha(model) -> str:
    from facetrack.capture.model import load_model_bytes

    return load_model_bytes(model)[1]


def run(args) -> int:
    patient = clean_name(args.patient)
    when = parse_date(args.date)
    todo = plan(args.videos, args.movement, args.routine)
    with Store(args.data_dir) as store:
        sid = import_videos(store, patient, when, todo, args.affected, args.model, args.mirrored)
    print(f"imported as session {sid} for {patient} on {when[:10]}")
    return 0
