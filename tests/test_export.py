"""Fast tier (issue 13): exports a clinician re-analyses without asking.

A store is built directly (no MediaPipe): one patient, affected left, with two sessions: the
first recorded with ``--affected right`` (before the side was corrected), the second with
the left; frames flagged occluded and head-moved; signed measures on both sides of zero.
Each test reads the files as a clinician would, through ``facetrack export``.
"""

from __future__ import annotations

import csv
import math
import re
import stat
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import run_main

from facetrack.storage.store import Store
from facetrack.tables import REP_SCHEMA, FrameRecord, NeutralRecord, flag_bits

LEVELS = ("sessions", "movements", "reps", "frames")
ISO_WITH_ZONE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")


def rep(movement: str, n: int, left_mm: float, right_mm: float, affected: str | None) -> dict:
    row = dict.fromkeys(REP_SCHEMA.names)
    moved = max(left_mm, 0), max(right_mm, 0)  # symmetry counts no side below zero (analysis.reps)
    pct = math.nan
    if affected:
        a, o = moved if affected == "left" else moved[::-1]
        pct = 100 * a / o
    row.update(
        movement=movement,
        rep=n,
        t_start_s=1.0 * n,
        t_peak_s=1.0 * n + 0.4,
        t_end_s=1.0 * n + 0.8,
        left_amplitude_mm=left_mm,
        right_amplitude_mm=right_mm,
        left_amplitude_pct_iod=100 * left_mm / 62,
        right_amplitude_pct_iod=100 * right_mm / 62,
        symmetry_pct=100 * min(moved) / max(moved),
        weaker_side="left" if left_mm < right_mm else "right",
        left_synkinesis_pct=3.0,
        right_synkinesis_pct=1.0,
        tracked_pct=100.0,
        hold_s=0.5,
        status="movement",
        affected_pct_of_other=pct,
        left_synkinesis_mm=0.2,
        right_synkinesis_mm=0.1,
        left_synkinesis_region="mouth",
        right_synkinesis_region="eye",
        mm_per_unit_source="iris",
        estimator_version="4",
    )
    return row


def frames(step: int, movement: str) -> list[FrameRecord]:
    out = []
    for i in range(6):
        flags = {"occluded": i == 2, "head_moved": i in (2, 3), "too_dark": i == 4}
        out.append(
            FrameRecord(step, i, i / 10, movement, "move", not any(flags.values()), flag_bits(flags), -0.3 + 0.2 * i)
        )
    return out


def neutral(brow_diff_mm: float) -> NeutralRecord:
    return NeutralRecord(0.05, 62.0, "iris", brow_diff_mm, 0.8, -2.0, 10.0, 9.2, np.zeros((478, 3)))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("export") / "data"
    with Store(d) as store:
        pid = store.patient_id("Ana Example", affected="right")
        # recorded with --affected right; the side was corrected to left later
        s1 = store.start_session(pid, "import", "r", "ab" * 32, {"affected": "right"}, "v", "2026-03-02T10:00:00+01:00")
        store.set_neutral(s1, neutral(-1.2))
        store.commit_rep(s1, 0, rep("brow_raise", 1, 4.0, 2.0, "right"), frames(0, "brow_raise"), None, (640, 480))
        store.commit_rep(s1, 0, rep("brow_raise", 2, 3.0, -0.4, "right"), [], None, (640, 480))
        store.end_session(s1, "complete")
        pid = store.patient_id("Ana Example", affected="left")
        # a time stored without its UTC offset (none should be): exported with this computer's
        s2 = store.start_session(pid, "exercise", "r", "ab" * 32, {"affected": "left"}, "camera", "2026-03-30T10:00:00")
        store.set_neutral(s2, neutral(0.6))
        store.commit_rep(s2, 1, rep("lip_spread_i", 1, 2.0, 5.0, "left"), frames(1, "lip_spread_i"), None, (640, 480))
        store.end_session(s2, "complete")
    return d


def export(data: Path, out: Path, *levels: str, extra: tuple = ()) -> Path:
    result = run_main("export", "--data-dir", data, "--level", *levels, "--out", out, *extra)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def exported(data, tmp_path_factory) -> dict[str, tuple[list[dict], dict[str, dict]]]:
    """level -> (rows, dictionary by column), as read back from the CSV and its dictionary."""
    d = tmp_path_factory.mktemp("csv")
    out = {}
    for level in LEVELS:
        path = export(data, d / f"{level}.csv", level)
        rows = list(csv.DictReader(open(path, encoding="utf-8")))
        dictionary = {r["column"]: r for r in csv.DictReader(open(d / f"{level}.dictionary.csv", encoding="utf-8"))}
        out[level] = (rows, dictionary)
    return out


def test_every_affected_share_has_the_affected_side_beside_it(exported):
    for level, share in (("reps", "affected_pct_of_other"), ("movements", "median_affected_pct_of_other")):
        rows, _ = exported[level]
        header = list(rows[0])
        assert header[header.index(share) + 1] == "affected_side", (level, header)
    rows, _ = exported["reps"]
    # the side the share was computed against, not the patient's side as later corrected
    assert [r["affected_side"] for r in rows] == ["right", "right", "left"]
    for r in rows:
        moved = [max(float(r[f"{side}_amplitude_mm"]), 0) for side in ("left", "right")]
        a, o = moved if r["affected_side"] == "left" else moved[::-1]
        assert float(r["affected_pct_of_other"]) == pytest.approx(100 * a / o, abs=1e-4)
    sessions, _ = exported["sessions"]
    assert [s["affected_side"] for s in sessions] == ["right", "left"]


def test_frames_name_their_quality_flags_instead_of_a_bitmask(exported):
    rows, dictionary = exported["frames"]
    assert "flags" not in rows[0]  # the bitmask number is gone
    for r in rows:
        named = {c[2:] for c, v in r.items() if c.startswith("q_") and v == "1"}
        assert named == set(filter(None, r["flag_names"].split("|")))
        assert (r["usable"] == "1") == (not named)
    third = next(r for r in rows if r["frame"] == "2")
    assert third["q_occluded"] == third["q_head_moved"] == "1" and third["flag_names"] == "occluded|head_moved"
    assert "covering" in dictionary["q_occluded"]["meaning"] or "hand" in dictionary["q_occluded"]["meaning"]


def test_every_time_is_iso_8601_with_its_zone(exported):
    offset = datetime(2026, 3, 30, 10).astimezone().isoformat()[-6:]
    for level, (rows, dictionary) in exported.items():
        times = [c for c, d in dictionary.items() if d["unit"] == "ISO 8601"]
        assert "session_started_at" in times
        assert all(c in times for c in dictionary if c.endswith("_at")), level
        for r in rows:
            for c in times:
                assert (r[c] == "" and c == "session_ended_at") or ISO_WITH_ZONE.match(r[c]), (level, c, r[c])
    sessions, _ = exported["sessions"]
    assert [s["session_started_at"] for s in sessions] == ["2026-03-02T10:00:00+01:00", "2026-03-30T10:00:00" + offset]


def test_the_dictionary_explains_every_column(exported):
    for level, (rows, dictionary) in exported.items():
        assert list(dictionary) == list(rows[0]), level  # every column, in the file's order
        for column, d in dictionary.items():
            assert d["unit"] and d["meaning"] and d["source"], (level, column, d)


def test_every_signed_measure_says_which_way_is_positive(exported):
    signed = set()
    for level, (rows, dictionary) in exported.items():
        for column in rows[0]:
            values = [r[column] for r in rows]
            if any(re.fullmatch(r"-\d+(\.\d+)?", v) for v in values):
                signed.add(column)
                assert dictionary[column]["positive"], (level, column)
    # the store above puts a negative value in each of these
    assert {"rest_brow_diff_mm", "rest_mouth_diff_mm", "right_amplitude_mm", "left_mm"} <= signed
    _, dictionary = exported["sessions"]
    assert "left" in dictionary["rest_brow_diff_mm"]["positive"]


def test_xlsx_has_a_sheet_a_level_the_csv_rows_and_the_dictionary(data, exported, tmp_path):
    from openpyxl import load_workbook

    path = export(data, tmp_path / "ana.xlsx", "sessions", "reps", "frames")
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == ["sessions", "reps", "frames", "dictionary"]
    for level in ("sessions", "reps", "frames"):
        rows, _ = exported[level]
        sheet = list(book[level].iter_rows(values_only=True))
        assert list(sheet[0]) == list(rows[0])
        assert len(sheet) - 1 == len(rows)
        for cells, row in zip(sheet[1:], rows):
            for cell, (column, text) in zip(cells, row.items()):
                if text == "":
                    assert cell in (None, ""), (level, column, cell)
                elif isinstance(cell, (int, float)):
                    assert cell == pytest.approx(float(text), abs=1e-6), (level, column)
                else:
                    assert cell == text, (level, column)
    entries = list(book["dictionary"].iter_rows(values_only=True))
    assert entries[0] == ("sheet", "column", "unit", "meaning", "positive", "source")
    for level in ("sessions", "reps", "frames"):
        assert [e[1] for e in entries if e[0] == level] == list(exported[level][0][0])


def test_export_files_are_owner_only(data, tmp_path):
    old = tmp_path / "reps.csv"
    old.write_text("an earlier file, readable by all\n")
    old.chmod(0o644)
    written = [
        export(data, old, "reps", extra=("--overwrite",)),
        tmp_path / "reps.dictionary.csv",
        export(data, tmp_path / "all.xlsx", *LEVELS),
    ]
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.xlsx", "reps.csv", "reps.dictionary.csv"]


def test_a_csv_holds_one_level_and_the_format_matches_the_name(data, tmp_path):
    two = run_main("export", "--data-dir", data, "--level", "sessions", "reps", "--out", tmp_path / "x.csv")
    assert two.returncode == 2 and "--format xlsx" in two.stderr
    odd = run_main("export", "--data-dir", data, "--level", "reps", "--format", "xlsx", "--out", tmp_path / "x.csv")
    assert odd.returncode == 2 and ".xlsx" in odd.stderr
    assert not any(tmp_path.iterdir())


def test_flag_meanings_give_the_thresholds_the_code_uses():
    from facetrack.analysis.meter import HEAD_MOVED_DEG
    from facetrack.face.geometry import MAX_TURN_DEG, MIN_IOD_PX
    from facetrack.face.quality import BRIGHT_SATURATED, DARK_GREY, OCCLUDED_FRACTION
    from facetrack.tables import FLAG_MEANINGS, FLAG_NAMES

    assert set(FLAG_MEANINGS) == set(FLAG_NAMES)
    for flag, number in (
        ("head_turned", f"{MAX_TURN_DEG:g} deg"),
        ("head_tilted", f"{MAX_TURN_DEG:g} deg"),
        ("too_small", f"{MIN_IOD_PX:g} px"),
        ("too_dark", f"{DARK_GREY:g} of 255"),
        ("overexposed", f"{100 * BRIGHT_SATURATED:g}%"),
        ("occluded", f"{100 * OCCLUDED_FRACTION:g}%"),
        ("head_moved", f"{HEAD_MOVED_DEG:g} deg"),
    ):
        assert number in FLAG_MEANINGS[flag], (flag, number)


def test_the_track_csv_dictionary_explains_every_column(tmp_path):
    from facetrack.reporting.csvfile import write_dictionary
    from facetrack.reporting.track_csv import TRACK_SCHEMA

    entries = list(csv.DictReader(open(write_dictionary(TRACK_SCHEMA, tmp_path / "t.csv"), encoding="utf-8")))
    assert [e["column"] for e in entries] == TRACK_SCHEMA.names
    assert all(e["unit"] and e["meaning"] and e["source"] for e in entries)
    by_name = {e["column"]: e for e in entries}
    for column in ("yaw_deg", "pitch_deg", "roll_deg", "x_1_px", "z_1_px", "m23"):
        assert by_name[column]["positive"], column
