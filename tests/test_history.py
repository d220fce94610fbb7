"""Issue 5: the demo, reports, exports and the notebook, against the database."""

import csv
import os
import re
import sqlite3
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, shared_once
from scipy import stats

from facetrack.reporting.report import build_report, read_report, trend_data
from facetrack.reporting.trend import linear_trend
from facetrack.storage.store import Store
from facetrack.tables import REP_SCHEMA, NeutralRecord

NO_NETWORK = """
import socket
_LOG = {log!r}
def _refuse(*args, **kwargs):
    with open(_LOG, "a") as fh:
        fh.write(repr(args[1:] if args else kwargs) + "\\n")
    raise OSError("network use is forbidden in this test")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The README's main command, run with every socket connection refused and logged; once
    per test run, shared by the workers."""
    root = shared_once(tmp_path_factory, "demo", _run_demo)
    return root / "facetrack-demo", (root / "stdout.txt").read_text()


def _run_demo(root: Path) -> None:
    guard = root / "guard"
    guard.mkdir()
    log = root / "network_attempts.log"
    (guard / "sitecustomize.py").write_text(NO_NETWORK.format(log=str(log)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(guard), os.environ.get("PYTHONPATH")) if p))
    out = root / "facetrack-demo"
    result = run_cli("demo", "--out", out, timeout=1800, env=env)
    assert result.returncode == 0, result.stderr
    assert not log.exists(), log.read_text()  # no connection was even attempted
    (root / "stdout.txt").write_text(result.stdout)


def test_the_network_guard_really_bites(tmp_path):
    """The guard used for the demo must catch a connection attempt (else it proves nothing)."""
    guard = tmp_path / "guard"
    guard.mkdir()
    log = tmp_path / "attempts.log"
    (guard / "sitecustomize.py").write_text(NO_NETWORK.format(log=str(log)))
    import subprocess
    import sys

    code = "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9))\nexcept OSError as e:\n    print(e)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(guard)), capture_output=True, text=True
    )
    assert "forbidden" in out.stdout and log.exists()


def db(out: Path):
    return sqlite3.connect(out / "data" / "facetrack.sqlite")


@pytest.mark.slow
def test_demo_builds_an_improving_history(demo):
    out, stdout = demo
    assert "report:" in stdout and "export:" in stdout
    # the samples' truth beside what was read, every movement, every week
    truth = stdout[stdout.index("the samples' true symmetry") :].splitlines()[1:4]
    assert sorted(line.split()[0] for line in truth) == ["brow_raise", "eye_close_tight", "lip_spread_i"], truth
    assert all(line.count("->") == 4 and "none read" not in line for line in truth), truth
    page = (out / "report" / "report.html").read_text()
    changes = dict(re.findall(r"data-movement='(\w+)'>([+-]\d+)<", page))
    assert set(changes) == {"brow_raise", "eye_close_tight", "lip_spread_i"}
    assert all(int(v) >= 25 for v in changes.values()), changes  # the samples recover 35% -> 85%
    for png in ("trend_symmetry.png", "trend_amplitude.png", "trend_rest.png"):
        assert (out / "report" / png).read_bytes()[:4] == b"\x89PNG"
    assert page.count("data:image/png;base64,") >= 5 and "http" not in page.replace("http-equiv", "")


def test_demo_sets_each_samples_truth_beside_its_reading():
    """What the demo prints after importing: per movement, week by week, the samples' true
    symmetry and weak side against the median symmetry read and the side read weaker most often."""
    from facetrack.cli.demo import truth_lines

    index = {
        "week1_x.mp4": {"movement": "lip_spread_i", "week": 1, "true_symmetry_pct": 35.0, "weak_side": "left"},
        "week2_x.mp4": {"movement": "lip_spread_i", "week": 2, "true_symmetry_pct": 55.0, "weak_side": "left"},
    }
    read = {
        "week1_x.mp4": [
            {"symmetry_pct": 44.0, "weaker_side": "left"},
            {"symmetry_pct": 46.0, "weaker_side": "left"},
            {"symmetry_pct": None, "weaker_side": "none"},
        ],
        "week2_x.mp4": [],
        "week3_x.mp4": [{"symmetry_pct": 97.0, "weaker_side": "none"}, {"symmetry_pct": 87.0, "weaker_side": "right"}],
    }
    index["week3_x.mp4"] = {"movement": "lip_spread_i", "week": 3, "true_symmetry_pct": 85.0, "weak_side": "left"}
    head, line = truth_lines(index, read)
    assert "true symmetry" in head
    assert line.split() == (
        ["lip_spread_i", "35%", "left", "->", "45%", "left,", "55%", "left", "->", "none", "read,"]
        + ["85%", "left", "->", "92%", "none/right"]  # a tie shows both sides, the same every run
    )


@pytest.mark.slow
def test_report_numbers_match_database(demo, tmp_path):
    out, _ = demo
    con = db(out)
    sid = con.execute("SELECT max(id) FROM sessions").fetchone()[0]
    reps = con.execute(
        "SELECT movement, rep, left_amplitude_mm, right_amplitude_mm, symmetry_pct FROM reps "
        "WHERE session_id = ? ORDER BY id",
        (sid,),
    ).fetchall()
    result = run_cli("report", "--data-dir", out / "data", "--session", sid, "--out", tmp_path / "r")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "r" / "report.html").read_text()
    table = re.findall(
        r"<tr><td>[^<]+</td><td class=num>(\d+)</td><td class=num>([\d.]+)</td>"
        r"<td class=num>([\d.]+)</td><td class=num>([\d.]+)</td>",
        page,
    )
    assert len(table) == len(reps)
    for (_m, rep, left, right, sym), (r2, l2, rr2, s2) in zip(reps, table):
        assert int(r2) == rep and f"{left:.1f}" == l2 and f"{right:.1f}" == rr2 and f"{sym:.1f}" == s2
    assert "estimate from video" in page and "not a clinical grading" in page


@pytest.mark.slow
@pytest.mark.parametrize("level", ["sessions", "movements", "reps", "frames"])
def test_export_round_trips(demo, tmp_path, level):
    out, _ = demo
    path = tmp_path / f"{level}.csv"
    result = run_cli("export", "--data-dir", out / "data", "--level", level, "--out", path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    dictionary = [r["column"] for r in csv.DictReader(open(tmp_path / f"{level}.dictionary.csv"))]
    assert dictionary == list(rows[0].keys())
    con = db(out)
    sha = con.execute("SELECT model_sha256 FROM sessions LIMIT 1").fetchone()[0]
    assert all(r["model_sha256"] == sha and r["software_version"] for r in rows)
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", r["session_started_at"]) for r in rows)
    if level == "reps":
        db_rows = con.execute(
            "SELECT left_amplitude_mm, symmetry_pct, t_peak_s FROM reps ORDER BY session_id, id"
        ).fetchall()
        assert len(db_rows) == len(rows)
        for (amp, sym, peak), r in zip(db_rows, rows):
            assert float(r["left_amplitude_mm"]) == pytest.approx(amp, abs=1e-6)
            assert float(r["symmetry_pct"]) == pytest.approx(sym, abs=1e-6)
            assert float(r["t_peak_s"]) == pytest.approx(peak, abs=1e-6)
    if level == "frames":
        n = con.execute("SELECT count(*) FROM frames").fetchone()[0]
        assert len(rows) == n
        first = con.execute(
            "SELECT left_mm FROM frames WHERE left_mm IS NOT NULL ORDER BY session_id, frame LIMIT 1"
        ).fetchone()[0]
        assert float(next(r for r in rows if r["left_mm"])["left_mm"]) == pytest.approx(first, abs=1e-6)
    # never overwrite an earlier export unless asked
    again = run_cli("export", "--data-dir", out / "data", "--level", level, "--out", path)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert run_cli("export", "--data-dir", out / "data", "--level", level, "--out", path, "--overwrite").returncode == 0


@pytest.mark.slow
def test_export_neutralises_formulas_and_pseudonymises(tmp_path, demo):
    out, _ = demo
    data = tmp_path / "data"
    import shutil

    shutil.copytree(out / "data", data)
    con = sqlite3.connect(data / "facetrack.sqlite")
    con.execute("UPDATE patients SET name = ?", ('=HYPERLINK("http://x","y")',))
    con.commit()
    con.close()
    path = tmp_path / "x.csv"
    assert run_cli("export", "--data-dir", data, "--level", "sessions", "--out", path).returncode == 0
    rows = list(csv.DictReader(open(path)))
    assert all(r["patient"].startswith("'=") for r in rows)
    path2 = tmp_path / "p.csv"
    assert run_cli("export", "--data-dir", data, "--level", "reps", "--out", path2, "--pseudonymise").returncode == 0
    text = path2.read_text()
    assert "HYPERLINK" not in text and re.search(r"P-[0-9a-f]{8}", text)


@pytest.mark.slow
def test_notebook_reproduces_the_trend(demo, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    out, _ = demo
    os.environ["FACETRACK_EXPORT"] = str(out / "export_reps.csv")
    os.environ["FACETRACK_NOTEBOOK_PNG"] = str(tmp_path / "trend.png")
    nb = nbformat.read(Path(__file__).parent.parent / "notebooks" / "trend_analysis.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    slopes = [float(x) for x in re.findall(r"trend ([+-][\d.]+) points/week", text)]
    assert len(slopes) == 3 and all(s > 5 for s in slopes)
    assert (tmp_path / "trend.png").exists()


# -- trends (issue 13): a slope only where the sessions can carry one -------------------
NOT_ENOUGH = "not enough sessions for a trend yet"
TREND_CELL = re.compile(r"^([+-][\d.]+) \(95% CI ([+-][\d.]+) to ([+-][\d.]+)\)$")


def patient_with(data: Path, sessions, name: str = "Ann") -> Path:
    """A database of one patient, built directly (no video, no model): each session is
    (started_at, {movement: symmetry %}, estimator version) with one counted repetition per
    movement, its left side the weaker."""
    with Store(data) as store:
        pid = store.patient_id(name, affected="left")
        for started_at, symmetry, version in sessions:
            sid = store.start_session(pid, "import", "r", "x", {}, "s", started_at=started_at)
            store.set_neutral(sid, NeutralRecord(0.1, 63.0, "iris", 0.5, -0.8, 1.1, 10.0, 10.8, np.zeros((478, 3))))
            for step, (movement, sym) in enumerate(symmetry.items()):
                row = dict.fromkeys(REP_SCHEMA.names) | {
                    "movement": movement,
                    "rep": 1,
                    "t_start_s": 1.0,
                    "t_peak_s": 2.0,
                    "t_end_s": 3.0,
                    "left_amplitude_mm": 5.0 * sym / 100,
                    "right_amplitude_mm": 5.0,
                    "symmetry_pct": sym,
                    "weaker_side": "left",
                    "status": "movement",
                    "estimator_version": version,
                }
                store.commit_rep(sid, step, row, [], None, (1, 1))
            store.end_session(sid, "complete")
    return data


def report_of(data: Path, out: Path) -> tuple[str, dict]:
    """The page the clinician reads, and the trend data it was drawn from."""
    with Store(data) as store:
        page = build_report(store, out, "Ann").read_text()
        with_reps = read_report(store, "Ann").with_reps
    return page, trend_data(with_reps) if len(with_reps) >= 2 else {}


def trend_cells(page: str) -> dict[str, str]:
    return dict(re.findall(r"data-trend='(\w+)'>([^<]*)<", page))


@pytest.mark.parametrize(
    "times",
    [
        ["2025-03-03T09:00:00+01:00", "2025-03-03T15:00:00+01:00"],  # today: +560 points/week
        ["2025-03-03T09:00:00+01:00", "2025-03-03T12:00:00+01:00", "2025-03-03T15:00:00+01:00"],
        ["2025-03-03T09:00:00+01:00", "2025-03-06T09:00:00+01:00", "2025-03-09T21:00:00+01:00"],  # 6 days
        ["2025-03-03T09:00:00+01:00", "2025-03-17T09:00:00+01:00"],  # two sessions: any two points make a line
    ],
    ids=["two_same_day", "three_same_day", "three_in_six_days", "two_weeks_apart"],
)
def test_too_few_sessions_say_so_instead_of_a_trend(tmp_path, times):
    sessions = [(t, {"brow_raise": 40.0 + 15 * k, "lip_spread_i": 50.0 + 10 * k}, "4") for k, t in enumerate(times)]
    page, trends = report_of(patient_with(tmp_path / "data", sessions), tmp_path / "report")
    assert trend_cells(page) == {"brow_raise": NOT_ENOUGH, "lip_spread_i": NOT_ENOUGH}
    assert all(d["trend"] is None for d in trends.values())
    assert "points/week" in page and "a trend needs 3 sessions of a movement over at least 7 days" in page
    assert (tmp_path / "report" / "trend_symmetry.png").exists()  # the sessions are still drawn


def test_one_session_says_there_is_no_trend_yet(tmp_path):
    data = patient_with(tmp_path / "data", [("2025-03-03T09:00:00+01:00", {"brow_raise": 40.0}, "4")])
    page, _ = report_of(data, tmp_path / "report")
    assert f"<p id=trend>{NOT_ENOUGH} (" in page and "data-trend" not in page


def test_a_week_is_counted_in_calendar_days(tmp_path):
    """Monday evening to the next Monday morning is a week of sessions (6.6 days elapsed)."""
    times = ["2025-03-03T18:00:00+01:00", "2025-03-06T12:00:00+01:00", "2025-03-10T09:00:00+01:00"]
    sessions = [(t, {"brow_raise": sym}, "4") for t, sym in zip(times, (40.0, 51.0, 60.0))]
    page, trends = report_of(patient_with(tmp_path / "data", sessions), tmp_path / "report")
    assert TREND_CELL.match(trend_cells(page)["brow_raise"]) and trends["brow_raise"]["trend"] is not None


def test_four_week_recovery_shows_its_slope_and_an_interval_holding_the_true_slope(tmp_path):
    """Weekly sessions over four weeks, symmetry rising 10 points a week with session-to-session
    noise: the report shows the least-squares slope and its 95% interval, which holds 10."""
    true_slope, noise = 10.0, [1.8, -2.4, 0.6, 2.1, -1.5]
    start = datetime.fromisoformat("2025-03-03T10:00:00+01:00")
    whens = [start + timedelta(weeks=w, minutes=17 * w) for w in range(5)]  # never quite the same hour
    brow = [35.0 + true_slope * w + e for w, e in enumerate(noise)]
    sessions = [
        (t.isoformat(), {"brow_raise": b, "lip_spread_i": 60.0 + e}, "4") for t, b, e in zip(whens, brow, noise)
    ]
    page, trends = report_of(patient_with(tmp_path / "data", sessions), tmp_path / "report")
    cells = trend_cells(page)
    slope, low, high = map(float, TREND_CELL.match(cells["brow_raise"]).groups())
    assert low < true_slope < high
    # the same numbers as scipy's own least squares: slope, and t(0.975, n - 2) x its standard error
    weeks = [(t - start).total_seconds() / 86400 / 7 for t in whens]
    fit = stats.linregress(weeks, brow)
    half = stats.t.ppf(0.975, 3) * fit.stderr
    assert slope == pytest.approx(fit.slope, abs=0.051)
    assert (low, high) == pytest.approx((fit.slope - half, fit.slope + half), abs=0.051)
    trend = trends["brow_raise"]["trend"]
    assert trend.low < true_slope < trend.high and trend.per_week == pytest.approx(fit.slope)
    # a movement that did not change: an interval around zero, not a made-up trend
    flat = trends["lip_spread_i"]["trend"]
    assert flat.low < 0 < flat.high


def test_the_slope_interval_holds_the_true_slope_95_times_in_100():
    """The interval's promise, checked by simulation: weekly sessions with normal noise."""
    rng = np.random.default_rng(13)
    days = np.array([0.0, 7.0, 14.0, 21.0])
    trends = [linear_trend(days, 40 + 1.5 * days + rng.normal(0, 5, days.size)) for _ in range(4000)]
    held = np.mean([t.low < 10.5 < t.high for t in trends])  # 1.5 points a day is 10.5 a week
    assert 0.935 < held < 0.965


def test_trends_never_mix_estimator_versions(tmp_path):
    """Three weekly sessions measured the old way, two the same day the new way: the trend is
    of the new method alone, so there is none yet, and the page says what it left out."""
    old = [(f"2025-03-{3 + 7 * k:02d}T10:00:00+01:00", {"brow_raise": 30.0 + 10 * k}, "3") for k in range(3)]
    new = [(f"2025-03-24T{h}:00:00+01:00", {"brow_raise": 70.0 + 5 * k}, "4") for k, h in enumerate(("09", "15"))]
    page, trends = report_of(patient_with(tmp_path / "data", old + new), tmp_path / "report")
    assert trend_cells(page) == {"brow_raise": NOT_ENOUGH}
    assert list(trends["brow_raise"]["symmetry"]) == [70.0, 75.0]
    assert "3 earlier session(s) were measured with an older version" in page


def test_the_newest_estimator_version_is_the_highest_number(tmp_path):
    """Version 10 is newer than version 9 (not older, as text would sort it)."""
    start = datetime.fromisoformat("2025-03-03T10:00:00+01:00")
    sessions = [
        ((start + timedelta(weeks=k)).isoformat(), {"brow_raise": 30.0 + 10 * k}, "9" if k < 3 else "10")
        for k in range(6)
    ]
    with Store(patient_with(tmp_path / "data", sessions)) as store:
        data = read_report(store, "Ann")
    assert data.estimator_version == "10" and data.older_method_sessions == 3
    assert [d.session["started_at"][:10] for d in data.with_reps] == ["2025-03-24", "2025-03-31", "2025-04-07"]


def test_report_writes_a_one_page_private_pdf(tmp_path):
    """Beside the HTML page, one A4 page to file or print: the patient's name in it, readable
    by the owner only."""
    start = datetime.fromisoformat("2025-03-03T10:00:00+01:00")
    sessions = [
        ((start + timedelta(weeks=w)).isoformat(), {"brow_raise": 40.0 + 9 * w, "lip_spread_i": 55.0 + 5 * w}, "5")
        for w in range(4)
    ]
    report_of(patient_with(tmp_path / "data", sessions), tmp_path / "report")
    pdf = tmp_path / "report" / "report.pdf"
    raw = pdf.read_bytes()
    assert raw.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", raw)) == 1  # one page
    assert re.search(rb"/MediaBox\s*\[\s*0 0 595\.\d+ 841\.\d+\s*\]", raw)  # A4 in points
    assert b"facetrack report: Ann" in raw  # the document title names the patient
    assert pdf.stat().st_mode & 0o777 == 0o600


def test_a_name_the_font_cannot_draw_gives_its_report_without_a_warning(tmp_path):
    """An emoji in a patient's name: the PDF draws "?" for it instead of an empty box and a
    matplotlib warning on the user's terminal; the HTML page keeps the name as given."""
    name = "Zoë \U0001f642 Brown"
    data = patient_with(tmp_path / "data", [("2025-03-03T10:00:00+01:00", {"brow_raise": 50.0}, "9")], name=name)
    with Store(data) as store, warnings.catch_warnings():
        warnings.simplefilter("error")
        page = build_report(store, tmp_path / "report", name).read_text()
    assert name in page
    assert (tmp_path / "report" / "report.pdf").read_bytes().startswith(b"%PDF")


def test_the_report_gives_each_sides_resting_measures_from_a_real_face(tmp_path):
    """The clinical summary (HTML page and PDF) reads the resting face per side, as Emotrics
    reads a photograph, not only a left - right difference: on a real healthy face at rest
    (single_face.mp4's first frame) each side's brow height, MRD1, MRD2 and commissure
    excursion sit in adult ranges and the two sides within 1 mm of each other."""
    from facetrack.capture.replay import load_face_frames
    from facetrack.face import geometry
    from facetrack.reporting.report import clinical_measures

    faces, _ = load_face_frames(Path(__file__).parent / "data" / "single_face.npz")
    norm = geometry.normalise(faces[0])
    mm = geometry.mm_per_unit([norm])[0]
    data = tmp_path / "data"
    with Store(data) as store:
        pid = store.patient_id("Ann", affected="left")
        sid = store.start_session(pid, "import", "r", "x", {}, "s", started_at="2025-03-03T10:00:00+01:00")
        store.set_neutral(sid, NeutralRecord(mm, 63.0, "iris", 0.5, -0.8, 1.1, 10.0, 10.8, norm.xyz))
        store.end_session(sid, "complete")
        (chosen,) = read_report(store, "Ann").chosen
        page = build_report(store, tmp_path / "report", "Ann").read_text()
    rows = {name: (lo, ro) for name, lo, ro, _ in clinical_measures(chosen.session, chosen.reps, chosen.rest)}
    ranges = {  # mm; adult means MRD1 3.5, MRD2 5.2 (Rana et al. 2023, calibration/VALIDATION.md)
        "Brow height at rest (BH)": (15, 35),
        "Upper lid to iris centre at rest (MRD1)": (2, 6),
        "Lower lid to iris centre at rest (MRD2)": (3.5, 7),
        "Commissure excursion at rest (CE)": (15, 35),
    }
    for name, (lo_mm, hi_mm) in ranges.items():
        left, right = rows[name]
        assert lo_mm < left < hi_mm and lo_mm < right < hi_mm, (name, left, right)
        assert abs(left - right) < 1.0, (name, left, right)
    assert "Brow height at rest (BH), left" in page and "Brow height at rest (BH), right" in page
