"""Issue 5: the demo, reports, exports and the notebook, against the database."""

import csv
import os
import re
import sqlite3
from pathlib import Path

import pytest

from conftest import run_cli, shared_once


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
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(guard)),
                         capture_output=True, text=True)
    assert "forbidden" in out.stdout and log.exists()


def db(out: Path):
    return sqlite3.connect(out / "data" / "facetrack.sqlite")


@pytest.mark.slow
def test_demo_builds_an_improving_history(demo):
    out, stdout = demo
    assert "report:" in stdout and "export:" in stdout
    page = (out / "report" / "report.html").read_text()
    changes = dict(re.findall(r"data-movement='(\w+)'>([+-]\d+)<", page))
    assert set(changes) == {"brow_raise", "eye_close_tight", "lip_spread_i"}
    assert all(int(v) >= 25 for v in changes.values()), changes  # the samples recover 35% -> 85%
    for png in ("trend_symmetry.png", "trend_amplitude.png", "trend_rest.png"):
        assert (out / "report" / png).read_bytes()[:4] == b"\x89PNG"
    assert page.count("data:image/png;base64,") >= 5 and "http" not in page.replace("http-equiv", "")


@pytest.mark.slow
def test_report_numbers_match_database(demo, tmp_path):
    out, _ = demo
    con = db(out)
    sid = con.execute("SELECT max(id) FROM sessions").fetchone()[0]
    reps = con.execute("SELECT movement, rep, left_amplitude_mm, right_amplitude_mm, symmetry_pct FROM reps "
                       "WHERE session_id = ? ORDER BY id", (sid,)).fetchall()
    result = run_cli("report", "--data-dir", out / "data", "--session", sid, "--out", tmp_path / "r")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "r" / "report.html").read_text()
    table = re.findall(r"<tr><td>[^<]+</td><td class=num>(\d+)</td><td class=num>([\d.]+)</td>"
                       r"<td class=num>([\d.]+)</td><td class=num>([\d.]+)</td>", page)
    assert len(table) == len(reps)
    for (m, rep, left, right, sym), (r2, l2, rr2, s2) in zip(reps, table):
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
        db_rows = con.execute("SELECT left_amplitude_mm, symmetry_pct, t_peak_s FROM reps ORDER BY session_id, id").fetchall()
        assert len(db_rows) == len(rows)
        for (amp, sym, peak), r in zip(db_rows, rows):
            assert float(r["left_amplitude_mm"]) == pytest.approx(amp, abs=1e-6)
            assert float(r["symmetry_pct"]) == pytest.approx(sym, abs=1e-6)
            assert float(r["t_peak_s"]) == pytest.approx(peak, abs=1e-6)
    if level == "frames":
        n = con.execute("SELECT count(*) FROM frames").fetchone()[0]
        assert len(rows) == n
        first = con.execute("SELECT left_mm FROM frames WHERE left_mm IS NOT NULL ORDER BY session_id, frame LIMIT 1").fetchone()[0]
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
