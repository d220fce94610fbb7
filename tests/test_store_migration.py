"""Fast tier: a database written by the schema-1 facetrack opens in this one as schema 3, its
data intact, with a backup of it as it was."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys

import numpy as np

from facetrack.storage.store import MIGRATIONS, SCHEMA_VERSION, Store, pack_landmarks

V1_STEP_OFFSET = 1_000_000  # how schema 1 made imported frames unique: frame + step * 1e6
W, H = 640, 480


def xyz(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 600, (478, 3))


def matrix(seed: int) -> np.ndarray:
    m = np.eye(4, dtype=np.float32)
    m[:3, 3] = seed
    return m


def build_v1(path):
    """Schema 1 by hand: its DDL, then rows as that version wrote them.

    Session 1 (live): steps -1 (calibration), 0, 1; frame numbers unique in the stream; one
    landmark chunk spanning steps -1 and 0, another for step 1.  Session 2 (import): two
    videos as steps 0 and 1, both starting at frame 0, stored as frame + step * 1e6; one
    chunk holding both."""
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[1]:
        db.execute(statement)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO patients VALUES (1, 'P-00000001', 'Old Patient', 'left', '2025-01-01T10:00:00+00:00')")
    for sid, kind in ((1, "exercise"), (2, "import")):
        db.execute(
            "INSERT INTO sessions (id, patient_id, started_at, ended_at, status, kind, software_version) "
            "VALUES (?, 1, ?, ?, 'complete', ?, '0.0.9')",
            (sid, f"2025-01-0{sid}T10:00:00+00:00", f"2025-01-0{sid}T10:10:00+00:00", kind),
        )
        db.execute(
            "INSERT INTO reps (session_id, step, movement, rep, symmetry_pct, status) VALUES (?, 0, "
            "'brow_raise', 1, ?, 'movement')",
            (sid, 40.0 + sid),
        )
    frames = []  # (session, stored frame, step, t, left_mm)
    live = [(-1, f) for f in range(0, 3)] + [(0, f) for f in range(3, 6)] + [(1, f) for f in range(6, 8)]
    frames += [(1, f, step, f / 30, 0.1 * f) for step, f in live]
    imported = [(0, f) for f in range(4)] + [(1, f) for f in range(3)]
    frames += [(2, f + step * V1_STEP_OFFSET, step, f / 30, 1.0 + step + 0.1 * f) for step, f in imported]
    for sid, frame, step, t, left in frames:
        db.execute(
            "INSERT INTO frames (session_id, frame, t_s, step, movement, phase, usable, flags, left_mm) "
            "VALUES (?, ?, ?, ?, 'brow_raise', 'move', 1, 0, ?)",
            (sid, frame, t, step, left),
        )

    def chunk(sid, rows):
        packed = [(frame, t, xyz(sid * 100 + i), matrix(sid * 100 + i)) for i, (frame, t) in enumerate(rows)]
        db.execute(
            "INSERT INTO landmark_chunks VALUES (?, ?, ?, ?, ?, ?)",
            (sid, rows[0][0], len(rows), W, H, pack_landmarks(packed, W, H)),
        )
        return {frame: (sid * 100 + i) for i, (frame, _) in enumerate(rows)}

    seeds = {}
    seeds[1] = chunk(1, [(f, f / 30) for _, f in live[:6]])
    seeds[1].update({f: s + 6 for f, s in chunk(1, [(f, f / 30) for _, f in live[6:]]).items()})
    seeds[2] = chunk(2, [(f + step * V1_STEP_OFFSET, f / 30) for step, f in imported])
    db.commit()
    db.close()
    return live, imported


OPEN_TIMEOUT_S = 12  # a tiny database migrates in well under a second (start-up ~1-2 s)


def test_schema_1_database_becomes_schema_4_with_a_backup(tmp_path):
    data = tmp_path / "d"
    data.mkdir(mode=0o700)
    live, imported = build_v1(data / "facetrack.sqlite")
    before = sqlite3.connect(data / "facetrack.sqlite")
    v1_frames = before.execute("SELECT count(*) FROM frames").fetchone()[0]
    before.close()
    # opened first as a user would, in a process of its own (a hang must fail, not stall the tier)
    subprocess.run(
        [sys.executable, "-c", f"from facetrack.storage.store import Store; Store({str(data)!r}).close()"],
        check=True,
        timeout=OPEN_TIMEOUT_S,
        capture_output=True,
    )

    with Store(data) as store:
        version = store.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        assert int(version) == SCHEMA_VERSION == 4
        # schema 3: each step's own neutral; sessions recorded before have none (their steps
        # were measured against the session's neutral, which the twin then uses)
        assert store.step_neutrals(1) == {} and store.step_neutrals(2) == {}
        cols = [r[1] for r in store.db.execute("PRAGMA table_info(frames)")]
        pk = [r[1] for r in sorted(store.db.execute("PRAGMA table_info(frames)"), key=lambda r: r[5]) if r[5]]
        assert pk == ["session_id", "step", "frame"] and cols[:3] == ["session_id", "step", "frame"]
        # the live session: frame numbers as they were, each on its own step
        f1 = store.frames(1)
        assert [(f["step"], f["frame"]) for f in f1] == sorted(live)
        assert [f["left_mm"] for f in f1] == [0.1 * f for _, f in sorted(live)]
        # the import: the 1e6 offset is gone, both videos start at frame 0 again
        f2 = store.frames(2)
        assert [(f["step"], f["frame"]) for f in f2] == sorted(imported)
        assert max(f["frame"] for f in f2) < 10
        assert [f["left_mm"] for f in f2] == [1.0 + s + 0.1 * f for s, f in sorted(imported)]
        assert len(f1) + len(f2) == v1_frames
        # landmark chunks: one step each, keyed like the frames, the landmarks unchanged (1/16 px)
        chunks = store.db.execute(
            "SELECT session_id, step, first_frame, n FROM landmark_chunks ORDER BY session_id, step"
        ).fetchall()
        assert chunks == [(1, -1, 0, 3), (1, 0, 3, 3), (1, 1, 6, 2), (2, 0, 0, 4), (2, 1, 0, 3)]
        lm = store.landmarks(2)
        assert list(zip(lm["step"].tolist(), lm["frame"].tolist(), strict=True)) == sorted(imported)
        assert np.abs(lm["xyz_px"][0] - xyz(200)).max() <= 1 / 32
        assert np.abs(lm["xyz_px"][4] - xyz(204)).max() <= 1 / 32  # step 1, frame 0: the 5th row stored
        assert np.allclose(lm["matrix"][4], matrix(204))
        lm1 = store.landmarks(1)
        assert lm1["step"].tolist() == [s for s, _ in sorted(live)]
        # everything else as it was
        assert [r["symmetry_pct"] for r in store.reps(1) + store.reps(2)] == [41.0, 42.0]
        # schema 4: repetitions recorded before hands-on variants existed were free ones; how
        # much of them was measured was not recorded
        assert [(r["variant"], r["measured_pct"]) for r in store.reps(1) + store.reps(2)] == [("free", None)] * 2
        (s1, s2) = store.sessions()
        assert s1["patient"] == "Old Patient" and s2["kind"] == "import" and s2["status"] == "complete"
    backup = data / "facetrack.schema1.backup.sqlite"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    old = sqlite3.connect(backup)
    try:
        assert old.execute("SELECT value FROM meta").fetchone()[0] == "1"
        assert old.execute("SELECT max(frame) FROM frames WHERE session_id = 2").fetchone()[0] == 1_000_002
        assert old.execute("SELECT count(*) FROM frames").fetchone()[0] == v1_frames
    finally:
        old.close()
    # opened again: nothing more happens
    with Store(data) as store:
        assert len(store.frames(2)) == len(imported)
    assert sorted(p.name for p in data.glob("*.backup.sqlite")) == [backup.name]
