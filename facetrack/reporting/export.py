"""``facetrack export``: tidy CSVs (or an Excel workbook) for clinicians, one schema per level,
a data dictionary beside.

Every row carries the software version and the model sha256 of the session it comes from,
and the affected side beside every affected/healthy share; quality flags come as named 0/1
columns and by name, never as a bitmask; timestamps are ISO 8601 with their time zone; the
dictionary gives every column's unit, meaning, which way a signed measure is positive, and
source.  Each row is built by column name and laid out by its level's schema, so the header
and the rows cannot drift apart.  Text that a spreadsheet would run as a formula is made
inert.  An existing file is never overwritten unless ``--overwrite`` says so.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import numpy as np

from facetrack.analysis.reanalyse import faces_at
from facetrack.errors import FacetrackError
from facetrack.face import emotrics
from facetrack.face.movements import split_variant_key
from facetrack.reporting.csvfile import CsvWriter
from facetrack.reporting.xlsxfile import write_xlsx
from facetrack.storage.history import counted_reps, rep_key
from facetrack.storage.store import Store, clean_name
from facetrack.tables import (
    FLAG_NAMES,
    FRAME_COLUMNS,
    FRAME_SCHEMA,
    REP_SCHEMA,
    TOWARD_MOVEMENT,
    Column,
    Schema,
    flag_columns,
    flag_names,
)

SESSION_RECORD = "the session's record in the local database, written when it was recorded or imported"
PATIENT_RECORD = "the patient's record in the local database"
TIME_ZONE_NOTE = (
    "ISO 8601 with the UTC offset of the computer's time zone at recording (e.g. 2026-03-31T10:00:00+02:00)"
)

COMMON = Schema(
    (
        Column(
            "patient", "text", "patient name, or the patient's stable code when pseudonymised", source=PATIENT_RECORD
        ),
        Column("patient_code", "text", "stable pseudonymous code of the patient (P-xxxxxxxx)", source=PATIENT_RECORD),
        Column("session_id", "id", "session number in the local database"),
        Column("session_started_at", "ISO 8601", "session start, " + TIME_ZONE_NOTE),
        Column("session_status", "text", "complete, or incomplete (ended early or interrupted)"),
        Column("software_version", "text", "facetrack version that recorded the session"),
        Column("model_sha256", "hex", "sha256 of the face landmark model used"),
    )
).sourced(SESSION_RECORD)

# Beside every affected/healthy share: the side that share takes as affected.
AFFECTED_SIDE = Column(
    "affected_side",
    "left/right",
    "the patient's affected side (the patient's own left or right): as given with --affected when the "
    "session was recorded or imported, else as last given for the patient; empty: not known. "
    "The affected_pct columns of the row take this side as affected",
    source="the session's settings (--affected), else the patient's record",
)
# Resting asymmetry: left minus right.
LEFT_HIGHER = "the patient's left is higher than the right"


def emotrics_columns(when: str, source: str) -> Schema:
    """Per side ``left_<m>_<unit>`` and ``right_<m>_<unit>``, the difference and the affected
    side's share of the healthy side, for every Emotrics-grade measure (face.emotrics), ``when``
    saying which face they are read on."""
    cols = []
    for name, unit, meaning, positive in emotrics.MEASURES:
        for side in ("left", "right"):
            cols.append(
                Column(f"{side}_{name}_{unit}", unit, f"{meaning}, patient's {side}, {when}", positive=positive)
            )
        cols.append(Column(f"{name}_diff_{unit}", unit, f"{meaning}: left minus right, {when}", positive="left larger"))
        cols.append(
            Column(
                f"{name}_affected_pct_of_healthy",
                "%",
                f"{meaning}: 100 x affected side / healthy side, {when} (affected_side; empty when not known)",
            )
        )
    return Schema(tuple(cols)).sourced(f"{emotrics.SOURCE}; {source}")


REST_EMOTRICS = emotrics_columns("at rest", "the session's neutral face (median of the calibration or rest frames)")
PEAK_EMOTRICS = emotrics_columns(
    "at the repetition's peak", "the stored landmarks of the frame nearest the repetition's t_peak_s"
)

SESSION_SCHEMA = (
    COMMON
    + Schema(
        (
            Column("session_ended_at", "ISO 8601", "session end, " + TIME_ZONE_NOTE + "; empty if it was interrupted"),
            Column("kind", "text", "exercise (live) or import (recorded video)"),
            Column("routine", "text", "routine name"),
            AFFECTED_SIDE,
            Column(
                "iod_mm",
                "mm",
                "interocular distance (eye centres) used for the % IOD figures",
                source="the session's neutral face (facetrack.analysis.meter.build_neutral)",
            ),
            Column(
                "mm_scale_source",
                "text",
                "iris (11.7 mm) or interocular (63 mm) scale",
                source="the session's neutral face (facetrack.face.geometry)",
            ),
            Column(
                "rest_brow_diff_mm",
                "mm",
                "resting brow height above the eye corners' line, left minus right",
                positive=LEFT_HIGHER,
                source="the session's neutral face (facetrack.analysis.meter.Neutral.resting_asymmetry_mm)",
            ),
            Column(
                "rest_fissure_diff_mm",
                "mm",
                "resting palpebral fissure height, left minus right",
                positive="the patient's left eye is open wider than the right",
                source="the session's neutral face (facetrack.analysis.meter.Neutral.resting_asymmetry_mm)",
            ),
            Column(
                "rest_mouth_diff_mm",
                "mm",
                "resting mouth-corner height, left minus right",
                positive=LEFT_HIGHER,
                source="the session's neutral face (facetrack.analysis.meter.Neutral.resting_asymmetry_mm)",
            ),
            Column(
                "n_movements",
                "count",
                "movements with at least one repetition",
                source="counted from the session's repetitions (reps export; redone ones left out)",
            ),
            Column(
                "n_reps",
                "count",
                "repetitions counted (redone ones excluded)",
                source="counted from the session's repetitions (reps export)",
            ),
        )
    ).sourced(SESSION_RECORD)
    + REST_EMOTRICS
)

MOVEMENT_SCHEMA = COMMON + Schema(
    (
        Column("movement", "id", "movement id"),
        Column("variant", "text", "free, assisted or resisted (hands-on); each is its own row, never mixed"),
        Column("n_reps", "count", "repetitions counted"),
        Column("n_moved", "count", "repetitions where a side moved beyond the noise floor"),
        Column("median_symmetry_pct", "%", "median over repetitions of 100 * min(L, R) / max(L, R)"),
        Column("median_left_amplitude_mm", "mm", "median left amplitude", positive=TOWARD_MOVEMENT),
        Column("median_right_amplitude_mm", "mm", "median right amplitude", positive=TOWARD_MOVEMENT),
        Column("median_affected_pct_of_other", "%", "median affected side as % of the other"),
        AFFECTED_SIDE,
        Column("max_left_synkinesis_pct", "% of range", "largest left synkinesis over the repetitions"),
        Column("max_right_synkinesis_pct", "% of range", "largest right synkinesis over the repetitions"),
    )
).sourced(
    "the session's counted repetitions of the movement (the reps export, redone ones left out): "
    "their count, median or largest value"
)

REPS_SCHEMA = (
    COMMON
    + REP_SCHEMA.replacing("affected_pct_of_other", REP_SCHEMA["affected_pct_of_other"], AFFECTED_SIDE)
    + PEAK_EMOTRICS
)

FLAG_NAMES_COLUMN = Column(
    "flag_names",
    "text",
    "the quality flags set, by name, separated by '|' (empty: none); the same as the q_ columns",
    source="the frame's stored quality flags",
)
FRAMES_SCHEMA = COMMON + FRAME_SCHEMA.replacing("flags", *flag_columns(), FLAG_NAMES_COLUMN)

LEVELS = {"sessions": SESSION_SCHEMA, "movements": MOVEMENT_SCHEMA, "reps": REPS_SCHEMA, "frames": FRAMES_SCHEMA}
FORMATS = ("csv", "xlsx")


def _day(text: str | None, what: str) -> str | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise FacetrackError(f"{what} {text!r} is not a date like 2026-03-31") from None


def iso_time(text: str | None) -> str | None:
    """A stored time as ISO 8601 with its UTC offset; a time stored without one (none should
    be) is taken as this computer's local time and given its offset."""
    if text is None:
        return None
    when = datetime.fromisoformat(text)
    return (when if when.tzinfo else when.astimezone()).isoformat()


def selected_sessions(store: Store, patient: str | None, day_from: str | None, day_to: str | None):
    rows = store.sessions(clean_name(patient) if patient else None)
    if patient and not rows:
        raise FacetrackError(f"no sessions for patient {clean_name(patient)!r}")
    return [
        r
        for r in rows
        if (day_from is None or r["started_at"][:10] >= day_from) and (day_to is None or r["started_at"][:10] <= day_to)
    ]


def affected_side(s) -> str | None:
    """The side this session's affected/healthy shares take as affected (see AFFECTED_SIDE)."""
    settings = json.loads(s["settings"] or "{}")
    return settings.get("affected") or s["affected_side"]


def _common(s, pseudonymise: bool) -> dict:
    return {
        "patient": s["patient_code"] if pseudonymise else s["patient"],
        "patient_code": s["patient_code"],
        "session_id": s["id"],
        "session_started_at": iso_time(s["started_at"]),
        "session_status": s["status"],
        "software_version": s["software_version"],
        "model_sha256": s["model_sha256"],
    }


def _nanmedian(values) -> float:
    vals = [math.nan if v is None else float(v) for v in values]
    return float(np.nanmedian(vals)) if vals and not all(map(math.isnan, vals)) else math.nan


def _nanmax(values) -> float:
    vals = [math.nan if v is None else float(v) for v in values]
    return float(np.nanmax(vals)) if vals and not all(map(math.isnan, vals)) else math.nan


def _emotrics(xyz, mm_per_unit, side: str | None, schema: Schema) -> dict:
    """The Emotrics-grade columns of one face, or all empty without one."""
    if xyz is None or mm_per_unit is None or not math.isfinite(mm_per_unit):
        return dict.fromkeys(schema.names)
    return emotrics.column_values(emotrics.measures_mm(xyz, mm_per_unit), side)


def _neutral(store: Store, session_id: int) -> tuple[np.ndarray | None, float | None]:
    """(neutral xyz, mm per unit), or (None, None) before calibration."""
    return store.neutral_xyz(session_id) or (None, None)


def values_for(level: str, store: Store, s, pseudonymise: bool):
    """The level's rows of session ``s``, each as column name -> value."""
    common = _common(s, pseudonymise)
    side = affected_side(s)
    if level == "sessions":
        reps = counted_reps(store, s["id"])
        rest_xyz, rest_mm = _neutral(store, s["id"])
        yield (
            common
            | {
                "session_ended_at": iso_time(s["ended_at"]),
                "kind": s["kind"],
                "routine": s["routine"],
                "affected_side": side,
                "iod_mm": s["iod_mm"],
                "mm_scale_source": s["scale_source"],
                "rest_brow_diff_mm": s["rest_brow_diff_mm"],
                "rest_fissure_diff_mm": s["rest_fissure_diff_mm"],
                "rest_mouth_diff_mm": s["rest_mouth_diff_mm"],
                "n_movements": len({r["movement"] for r in reps}),
                "n_reps": len(reps),
            }
            | _emotrics(rest_xyz, rest_mm, side, REST_EMOTRICS)
        )
    elif level == "movements":
        reps = counted_reps(store, s["id"])
        for key in dict.fromkeys(rep_key(r) for r in reps):
            rs = [r for r in reps if rep_key(r) == key]
            m, variant = split_variant_key(key)
            yield common | {
                "movement": m,
                "variant": variant,
                "n_reps": len(rs),
                "n_moved": sum(r["status"] == "movement" for r in rs),
                "median_symmetry_pct": _nanmedian(r["symmetry_pct"] for r in rs),
                "median_left_amplitude_mm": _nanmedian(r["left_amplitude_mm"] for r in rs),
                "median_right_amplitude_mm": _nanmedian(r["right_amplitude_mm"] for r in rs),
                "median_affected_pct_of_other": _nanmedian(r["affected_pct_of_other"] for r in rs),
                "affected_side": side,
                "max_left_synkinesis_pct": _nanmax(r["left_synkinesis_pct"] for r in rs),
                "max_right_synkinesis_pct": _nanmax(r["right_synkinesis_pct"] for r in rs),
            }
    elif level == "reps":
        reps = store.reps(s["id"])
        neutral = store.neutral_xyz(s["id"])
        mm = neutral[1] if neutral is not None else None
        peaks = faces_at(store, s["id"], [(r["step"], r["t_peak_s"]) for r in reps]) if reps else []
        for r, xyz in zip(reps, peaks):
            yield (
                common
                | {c: r[c] for c in REP_SCHEMA.names}
                | {"affected_side": side}
                | _emotrics(xyz, mm, side, PEAK_EMOTRICS)
            )
    else:
        for f in store.frames(s["id"]):
            set_flags = flag_names(int(f["flags"] or 0))
            yield (
                common
                | {c: f[c] for c in FRAME_COLUMNS if c != "flags"}
                | {f"q_{n}": int(n in set_flags) for n in FLAG_NAMES}
                | {"flag_names": "|".join(set_flags)}
            )


def rows_for(level: str, store: Store, sessions, pseudonymise: bool):
    """The level's rows of ``sessions``, in its schema's column order."""
    schema = LEVELS[level]
    for s in sessions:
        for values in values_for(level, store, s, pseudonymise):
            yield schema.row(values)


def export_format(out: Path, fmt: str | None) -> str:
    """The format asked for, or the one --out's name ends in (csv unless .xlsx)."""
    suffix = out.suffix.lower().lstrip(".")
    if fmt is None:
        return "xlsx" if suffix == "xlsx" else "csv"
    if fmt not in FORMATS:
        raise FacetrackError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if suffix in FORMATS and suffix != fmt:
        raise FacetrackError(f"--format {fmt} but {out.name} ends in .{suffix}; name it .{fmt}")
    return fmt


def export(
    store: Store,
    levels: str | Sequence[str],
    out: Path,
    patient=None,
    day_from=None,
    day_to=None,
    pseudonymise=False,
    overwrite=False,
    fmt: str | None = None,
) -> tuple[Path, dict[str, int]]:
    """Write the levels asked for to ``out``: a CSV (one level) with its data dictionary beside
    it, or a workbook (a sheet a level, and the dictionary sheet).  Returns the path and the
    rows written per level."""
    levels = list(dict.fromkeys([levels] if isinstance(levels, str) else levels))
    for level in levels:
        if level not in LEVELS:
            raise FacetrackError(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
    if not levels:
        raise FacetrackError(f"no level to export; one or more of {', '.join(LEVELS)}")
    out = Path(out)
    fmt = export_format(out, fmt)
    if fmt == "csv" and len(levels) > 1:
        raise FacetrackError(
            f"a CSV file holds one level ({', '.join(levels)} asked): export them one by one, or use --format xlsx "
            "for a workbook with a sheet a level"
        )
    if not out.parent.is_dir():
        raise FacetrackError(f"export directory does not exist: {out.parent}")
    if not os.access(out.parent, os.W_OK):
        raise FacetrackError(f"cannot write to {out.parent}")
    if out.exists() and not overwrite:
        raise FacetrackError(f"{out} already exists; choose another name or add --overwrite")
    sessions = selected_sessions(store, patient, _day(day_from, "--from"), _day(day_to, "--to"))
    if fmt == "xlsx":
        sheets = [(level, LEVELS[level], rows_for(level, store, sessions, pseudonymise)) for level in levels]
        return out, write_xlsx(out, sheets)
    (level,) = levels
    writer = CsvWriter(out, LEVELS[level])
    n = 0
    try:
        for row in rows_for(level, store, sessions, pseudonymise):
            writer.write(row)
            n += 1
    except BaseException:
        writer.abort()
        raise
    return writer.close(), {level: n}
