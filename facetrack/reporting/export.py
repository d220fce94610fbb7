"""``facetrack export``: tidy CSVs for clinicians, one schema per level, a data dictionary beside.

Every row carries the software version and the model sha256 of the session it comes from,
timestamps are ISO 8601 with their time zone, and text that a spreadsheet would run as a
formula is made inert.  An existing file is never overwritten unless ``--overwrite`` says so.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np

from facetrack.errors import FacetrackError
from facetrack.storage.history import counted_reps
from facetrack.reporting.csvfile import CsvWriter
from facetrack.storage.store import Store, clean_name
from facetrack.tables import FRAME_COLUMNS, FRAME_SCHEMA, REP_SCHEMA, Column, Schema, flag_names

COMMON = Schema((
    Column("patient", "text", "patient name, or the patient's stable code when pseudonymised"),
    Column("patient_code", "text", "stable pseudonymous code of the patient (P-xxxxxxxx)"),
    Column("session_id", "id", "session number in the local database"),
    Column("session_started_at", "ISO 8601", "session start, with time zone"),
    Column("session_status", "text", "complete, or incomplete (ended early or interrupted)"),
    Column("software_version", "text", "facetrack version that recorded the session"),
    Column("model_sha256", "hex", "sha256 of the face landmark model used"),
))

SESSION_SCHEMA = COMMON + Schema((
    Column("session_ended_at", "ISO 8601", "session end with time zone; empty if it was interrupted"),
    Column("kind", "text", "exercise (live) or import (recorded video)"),
    Column("routine", "text", "routine name"),
    Column("affected_side", "left/right", "the patient's affected side, if given"),
    Column("iod_mm", "mm", "interocular distance (eye centres) used for the % IOD figures"),
    Column("mm_scale_source", "text", "iris (11.7 mm) or interocular (63 mm) scale"),
    Column("rest_brow_diff_mm", "mm", "resting brow height, left minus right"),
    Column("rest_fissure_diff_mm", "mm", "resting palpebral fissure, left minus right"),
    Column("rest_mouth_diff_mm", "mm", "resting mouth-corner height, left minus right"),
    Column("n_movements", "count", "movements with at least one repetition"),
    Column("n_reps", "count", "repetitions counted (redone ones excluded)"),
))

MOVEMENT_SCHEMA = COMMON + Schema((
    Column("movement", "id", "movement id"),
    Column("n_reps", "count", "repetitions counted"),
    Column("n_moved", "count", "repetitions where a side moved beyond the noise floor"),
    Column("median_symmetry_pct", "%", "median over repetitions of 100 * min(L, R) / max(L, R)"),
    Column("median_left_amplitude_mm", "mm", "median left amplitude"),
    Column("median_right_amplitude_mm", "mm", "median right amplitude"),
    Column("median_affected_pct_of_other", "%", "median affected side as % of the other"),
    Column("max_left_synkinesis_pct", "% of range", "largest left synkinesis over the repetitions"),
    Column("max_right_synkinesis_pct", "% of range", "largest right synkinesis over the repetitions"),
))

REPS_SCHEMA = COMMON + REP_SCHEMA

FRAMES_SCHEMA = COMMON + FRAME_SCHEMA + Schema((
    Column("flag_names", "text", "the quality flags set, by name, separated by '|' (empty: none)"),
))

LEVELS = {"sessions": SESSION_SCHEMA, "movements": MOVEMENT_SCHEMA, "reps": REPS_SCHEMA, "frames": FRAMES_SCHEMA}


def _day(text: str | None, what: str) -> str | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise FacetrackError(f"{what} {text!r} is not a date like 2026-03-31") from None


def selected_sessions(store: Store, patient: str | None, day_from: str | None, day_to: str | None):
    rows = store.sessions(clean_name(patient) if patient else None)
    if patient and not rows:
        raise FacetrackError(f"no sessions for patient {clean_name(patient)!r}")
    return [r for r in rows if (day_from is None or r["started_at"][:10] >= day_from)
            and (day_to is None or r["started_at"][:10] <= day_to)]


def _common(s, pseudonymise: bool) -> list:
    return [s["patient_code"] if pseudonymise else s["patient"], s["patient_code"], s["id"], s["started_at"],
            s["status"], s["software_version"], s["model_sha256"]]


def _nanmedian(values) -> float:
    vals = [math.nan if v is None else float(v) for v in values]
    return float(np.nanmedian(vals)) if vals and not all(map(math.isnan, vals)) else math.nan


def _nanmax(values) -> float:
    vals = [math.nan if v is None else float(v) for v in values]
    return float(np.nanmax(vals)) if vals and not all(map(math.isnan, vals)) else math.nan


def rows_for(level: str, store: Store, s, pseudonymise: bool):
    common = _common(s, pseudonymise)
    if level == "sessions":
        reps = counted_reps(store, s["id"])
        yield common + [s["ended_at"], s["kind"], s["routine"], s["affected_side"], s["iod_mm"], s["scale_source"],
                        s["rest_brow_diff_mm"], s["rest_fissure_diff_mm"], s["rest_mouth_diff_mm"],
                        len({r["movement"] for r in reps}), len(reps)]
    elif level == "movements":
        reps = counted_reps(store, s["id"])
        for m in dict.fromkeys(r["movement"] for r in reps):
            rs = [r for r in reps if r["movement"] == m]
            yield common + [m, len(rs), sum(r["status"] == "movement" for r in rs),
                            _nanmedian(r["symmetry_pct"] for r in rs),
                            _nanmedian(r["left_amplitude_mm"] for r in rs), _nanmedian(r["right_amplitude_mm"] for r in rs),
                            _nanmedian(r["affected_pct_of_other"] for r in rs),
                            _nanmax(r["left_synkinesis_pct"] for r in rs), _nanmax(r["right_synkinesis_pct"] for r in rs)]
    elif level == "reps":
        for r in store.reps(s["id"]):
            yield common + [r[c] for c in REP_SCHEMA.names]
    else:
        for f in store.frames(s["id"]):
            yield common + [f[c] for c in FRAME_COLUMNS] + ["|".join(flag_names(int(f["flags"] or 0)))]


def export(store: Store, level: str, out: Path, patient=None, day_from=None, day_to=None,
           pseudonymise=False, overwrite=False) -> tuple[Path, int]:
    if level not in LEVELS:
        raise FacetrackError(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
    out = Path(out)
    if not out.parent.is_dir():
        raise FacetrackError(f"export directory does not exist: {out.parent}")
    if not os_writable(out.parent):
        raise FacetrackError(f"cannot write to {out.parent}")
    if out.exists() and not overwrite:
        raise FacetrackError(f"{out} already exists; choose another name or add --overwrite")
    sessions = selected_sessions(store, patient, _day(day_from, "--from"), _day(day_to, "--to"))
    writer = CsvWriter(out, LEVELS[level])
    n = 0
    try:
        for s in sessions:
            for row in rows_for(level, store, s, pseudonymise):
                writer.write(row)
                n += 1
    except BaseException:
        writer.abort()
        raise
    return writer.close(), n


def os_writable(path: Path) -> bool:
    import os
    return os.access(path, os.W_OK)
