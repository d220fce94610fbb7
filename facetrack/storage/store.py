"""The local database: patients, sessions, repetitions, per-frame measures, raw landmarks.

SQLite in WAL mode, one file under the user data directory.  Everything is written with
parameterised queries; a patient's name is data, never a path or SQL.  Work is committed
after each repetition, so a crash loses at most the repetition in progress, and a session
whose ``ended_at`` is empty was interrupted.  Opening never deletes or "repairs" anything:
a database from a newer facetrack, a corrupt file or a locked one is a clear error.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from facetrack import __version__
from facetrack.errors import EXIT_DATA, FacetrackError
from facetrack.tables import FRAME_COLUMNS, FREE, REP_SCHEMA, FrameRecord, NeutralRecord, StepNeutralRecord

DATA_DIR_ENV = "FACETRACK_DATA_DIR"
DB_NAME = "facetrack.sqlite"
SCHEMA_VERSION = 4
# How long to wait for another facetrack holding the database (sessions commit in ms).
BUSY_TIMEOUT_S = float(os.environ.get("FACETRACK_DB_TIMEOUT", "15"))
MAX_NAME_CHARS = 200

_REP_COLUMNS = REP_SCHEMA.names
# The reps table as schema 1 made it; later columns come with their migration.
_V1_REP_COLUMNS = _REP_COLUMNS[: _REP_COLUMNS.index("mm_per_unit_source") + 1]
_TEXT_COLUMNS = {c.name for c in REP_SCHEMA.columns if c.unit in ("id", "text", "region", "left/right/none")}

_V1_FRAME_COLUMNS = (
    "frame",
    "t_s",
    "step",
    "movement",
    "phase",
    "usable",
    "flags",
    "left_mm",
    "right_mm",
    "left_mesh_mm",
    "right_mesh_mm",
    "left_flow_mm",
    "right_flow_mm",
)
# Version 1 keyed frames on the frame number alone and imports faked uniqueness with
# frame + step * 1e6; version 2 keys them on (step, frame), and every landmark chunk holds
# the frames of one step.
_V1_STEP_OFFSET = 1_000_000
_FRAMES_V2 = (
    "CREATE TABLE frames (session_id INTEGER NOT NULL REFERENCES sessions(id), step INTEGER NOT NULL, "
    "frame INTEGER NOT NULL, "
    + ", ".join(f"{c} {'TEXT' if c in ('movement', 'phase') else 'REAL'}" for c in FRAME_COLUMNS[2:])
    + ", PRIMARY KEY (session_id, step, frame))"
)
_CHUNKS_V2 = (
    "CREATE TABLE landmark_chunks (session_id INTEGER NOT NULL REFERENCES sessions(id), "
    "step INTEGER NOT NULL, first_frame INTEGER NOT NULL, n INTEGER NOT NULL, width INTEGER NOT NULL, "
    "height INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (session_id, step, first_frame))"
)


def _migrate_to_2(db: sqlite3.Connection) -> None:
    """Frames and landmark chunks keyed on (step, frame); import frame numbers un-offset."""
    imports = {r[0] for r in db.execute("SELECT id FROM sessions WHERE kind = 'import'")}
    db.execute("ALTER TABLE frames RENAME TO frames_v1")
    db.execute(_FRAMES_V2)
    cols = ", ".join(FRAME_COLUMNS[2:])
    db.execute(
        f"INSERT INTO frames (session_id, step, frame, {cols}) SELECT session_id, CAST(step AS INTEGER), "
        f"CAST(frame AS INTEGER) - (CASE WHEN session_id IN (SELECT id FROM sessions WHERE kind = 'import') "
        f"THEN CAST(step AS INTEGER) * {_V1_STEP_OFFSET} ELSE 0 END), {cols} FROM frames_v1"
    )
    step_of = {(r[0], int(r[1])): int(r[2]) for r in db.execute("SELECT session_id, frame, step FROM frames_v1")}
    db.execute("DROP TABLE frames_v1")
    db.execute("ALTER TABLE landmark_chunks RENAME TO landmark_chunks_v1")
    db.execute(_CHUNKS_V2)
    for sid, width, height, blob in db.execute(
        "SELECT session_id, width, height, data FROM landmark_chunks_v1 ORDER BY session_id, first_frame"
    ).fetchall():
        rows = _rows_of(unpack_landmarks(blob))
        by_step: dict[int, list] = {}
        for frame, t_s, xyz, matrix in rows:
            if sid in imports:
                step, frame = frame // _V1_STEP_OFFSET, frame % _V1_STEP_OFFSET
            else:
                step = step_of.get((sid, frame), -1)
            by_step.setdefault(step, []).append((frame, t_s, xyz, matrix))
        for step, part in by_step.items():
            db.execute(
                "INSERT OR REPLACE INTO landmark_chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sid, step, part[0][0], len(part), width, height, pack_landmarks(part, width, height)),
            )
    db.execute("DROP TABLE landmark_chunks_v1")


MIGRATIONS: dict[int, list] = {
    # version -> statements that bring a database from version - 1 to it
    1: [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE patients (
            id INTEGER PRIMARY KEY, code TEXT UNIQUE NOT NULL, name TEXT UNIQUE NOT NULL,
            affected_side TEXT, created_at TEXT NOT NULL)""",
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL REFERENCES patients(id),
            started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL DEFAULT 'incomplete',
            kind TEXT NOT NULL, routine TEXT, software_version TEXT NOT NULL, model_sha256 TEXT,
            settings TEXT, source TEXT, mm_per_unit REAL, iod_mm REAL, scale_source TEXT,
            rest_brow_diff_mm REAL, rest_fissure_diff_mm REAL, rest_mouth_diff_mm REAL,
            rest_fissure_left_mm REAL, rest_fissure_right_mm REAL, neutral_xyz BLOB, video_path TEXT,
            note TEXT)""",
        "CREATE INDEX sessions_patient ON sessions(patient_id, started_at)",
        "CREATE TABLE reps (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id), "
        "step INTEGER NOT NULL, "
        + ", ".join(f'"{c}" {"TEXT" if c in _TEXT_COLUMNS else "REAL"}' for c in _V1_REP_COLUMNS)
        + ")",
        "CREATE INDEX reps_session ON reps(session_id)",
        "CREATE TABLE frames (session_id INTEGER NOT NULL REFERENCES sessions(id), "
        + ", ".join(f"{c} {'TEXT' if c in ('movement', 'phase') else 'REAL'}" for c in _V1_FRAME_COLUMNS)
        + ", PRIMARY KEY (session_id, frame))",
        """CREATE TABLE landmark_chunks (
            session_id INTEGER NOT NULL REFERENCES sessions(id), first_frame INTEGER NOT NULL,
            n INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, data BLOB NOT NULL,
            PRIMARY KEY (session_id, first_frame))""",
    ],
    2: [_migrate_to_2, 'ALTER TABLE reps ADD COLUMN "estimator_version" TEXT'],
    # each step's own neutral face (the rest just before its movement, or an imported video's
    # rest), from the moment it applies: what that step's frames and repetitions were measured
    # against, so that the offline twin can recompute them
    3: [
        "CREATE TABLE step_neutrals (session_id INTEGER NOT NULL REFERENCES sessions(id), "
        "step INTEGER NOT NULL, from_t_s REAL NOT NULL, neutral_xyz BLOB NOT NULL, "
        "PRIMARY KEY (session_id, step))"
    ],
    # hands-on variants: what the fingers did and how much of the movement stayed measurable;
    # repetitions stored before were free and wholly measured
    4: [
        "ALTER TABLE reps ADD COLUMN \"variant\" TEXT NOT NULL DEFAULT 'free'",
        'ALTER TABLE reps ADD COLUMN "measured_pct" REAL',
    ],
}
# Every table with a session_id: what deleting a session deletes.
SESSION_TABLES = ("reps", "frames", "landmark_chunks", "step_neutrals")


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def data_dir(override: str | os.PathLike | None = None) -> Path:
    if override:
        return Path(override)
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    import platformdirs

    return Path(platformdirs.user_data_dir("facetrack", appauthor=False))


def clean_name(name: str) -> str:
    """A patient name as stored: printable, trimmed, bounded.  Never used as a path."""
    if not isinstance(name, str):
        raise FacetrackError("patient name must be text")
    cleaned = "".join(ch for ch in name if ch.isprintable()).strip()
    if not cleaned:
        raise FacetrackError("patient name is empty (after removing control characters)")
    if len(cleaned) > MAX_NAME_CHARS:
        raise FacetrackError(f"patient name is {len(cleaned)} characters long; at most {MAX_NAME_CHARS}")
    return cleaned


@dataclass
class LandmarkBuffer:
    """Landmarks of the frames since the last commit, per routine step (stored 1/16 px)."""

    by_step: dict[int, list] = field(default_factory=dict)

    def add(self, step: int, frame: int, xyz_px: Any, transform: Any, t_s: float) -> None:
        self.by_step.setdefault(step, []).append((frame, t_s, xyz_px, transform))

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_step.values())


def _rows_of(unpacked: dict[str, np.ndarray]) -> list[tuple]:
    return [
        (int(f), float(t), xyz if found else None, m if found else None)
        for f, t, found, xyz, m in zip(
            unpacked["frame"], unpacked["t_s"], unpacked["found"], unpacked["xyz_px"], unpacked["matrix"]
        )
    ]


def pack_landmarks(rows, width: int, height: int) -> bytes:
    """frames -> zlib(npz-like raw arrays): t (float64), found (u1), xyz (int32 1/16 px), matrix."""
    n = len(rows)
    t = np.array([r[1] for r in rows], np.float64)
    frame = np.array([r[0] for r in rows], np.int64)
    found = np.array([r[2] is not None for r in rows], np.uint8)
    xyz = np.zeros((n, 478, 3), np.int32)
    mat = np.zeros((n, 16), np.float32)
    for i, (_, _, p, m) in enumerate(rows):
        if p is not None:
            xyz[i] = np.round(np.asarray(p, np.float64) * 16).astype(np.int32)
            mat[i] = np.asarray(m, np.float32).ravel()
    payload = b"".join(a.tobytes() for a in (frame, t, found, xyz, mat))
    return zlib.compress(np.array([n], np.int64).tobytes() + payload, 6)


def unpack_landmarks(blob: bytes) -> dict[str, np.ndarray]:
    raw = zlib.decompress(blob)
    n = int(np.frombuffer(raw[:8], np.int64)[0])
    off = 8
    out = {}
    for name, dtype, shape in (
        ("frame", np.int64, (n,)),
        ("t_s", np.float64, (n,)),
        ("found", np.uint8, (n,)),
        ("xyz_px", np.int32, (n, 478, 3)),
        ("matrix", np.float32, (n, 4, 4)),
    ):
        size = int(np.prod(shape)) * np.dtype(dtype).itemsize
        out[name] = np.frombuffer(raw[off : off + size], dtype).reshape(shape)
        off += size
    out["xyz_px"] = out["xyz_px"].astype(np.float64) / 16
    out["found"] = out["found"].astype(bool)
    return out


def _row_id(cur: sqlite3.Cursor) -> int:
    if cur.lastrowid is None:  # an INSERT always sets it; None would be an SQLite bug
        raise FacetrackError("the database did not return the new row's id", EXIT_DATA)
    return cur.lastrowid


class Store:
    def __init__(self, directory: str | os.PathLike | None = None, readonly: bool = False):
        self.dir = data_dir(directory)
        self.path = self.dir / DB_NAME
        if readonly and not self.path.exists():
            raise FacetrackError(
                f"no facetrack database in {self.dir} yet: record a session, import or run the demo first"
            )
        self._make_private_dir()
        old_umask = os.umask(0o077)  # the database, its WAL and SHM files: owner only
        try:
            self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self.db.execute("PRAGMA foreign_keys = ON")
            self._check_readable()
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise self._explain(exc) from None
        finally:
            os.umask(old_umask)

    def _make_private_dir(self) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise FacetrackError(f"cannot create the data directory {self.dir}: {exc.strerror}") from None
        if not os.access(self.dir, os.W_OK):
            raise FacetrackError(f"the data directory {self.dir} is not writable")

    def _explain(self, exc: Exception) -> FacetrackError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return FacetrackError(
                f"the database {self.path} is locked by another facetrack (waited "
                f"{BUSY_TIMEOUT_S:.0f} s); try again when it has finished",
                EXIT_DATA,
            )
        if "full" in text or "disk I/O" in text:
            return FacetrackError(
                "the disk is full: the session stopped; everything up to the last finished repetition is saved",
                EXIT_DATA,
            )
        return FacetrackError(
            f"the database {self.path} cannot be used ({text}); it was left untouched: "
            "restore it from a backup or move it away to start a new one",
            EXIT_DATA,
        )

    def _check_readable(self) -> None:
        self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()

    def _version(self) -> int:
        has_meta = self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        if not has_meta:
            if self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise FacetrackError(
                    f"{self.path} is an SQLite database but not facetrack's; left untouched", EXIT_DATA
                )
            return 0
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        if 0 < self._version() < SCHEMA_VERSION:
            # before the write transaction: SQLite's backup of a connection that is inside one
            # waits for it to end, i.e. for ever
            self._backup(self._version())
        with self.transaction():
            version = self._version()
            if version > SCHEMA_VERSION:
                raise FacetrackError(
                    f"the database {self.path} was written by a newer facetrack (schema "
                    f"{version}, this one reads up to {SCHEMA_VERSION}); upgrade facetrack",
                    EXIT_DATA,
                )
            for v in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[v]:
                    if callable(statement):
                        statement(self.db)
                    else:
                        self.db.execute(statement)
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(v),))

    def _backup(self, version: int) -> None:
        """A copy of the database as it was, before a migration changes it (owner-only)."""
        target = self.dir / f"facetrack.schema{version}.backup.sqlite"
        if target.exists():
            return
        copy = sqlite3.connect(target)
        try:
            self.db.backup(copy)
        finally:
            copy.close()
        os.chmod(target, 0o600)

    @contextmanager
    def transaction(self):
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._explain(exc) from None
        try:
            yield self.db
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._rollback()
            raise self._explain(exc) from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.DatabaseError):  # SQLite may have rolled back already (disk full)
            self.db.execute("ROLLBACK")

    # -- patients -------------------------------------------------------------------
    def patient_id(self, name: str, create: bool = True, affected: str | None = None) -> int:
        name = clean_name(name)
        row = self.db.execute("SELECT id FROM patients WHERE name = ?", (name,)).fetchone()
        if row:
            if affected:
                with self.transaction():
                    self.db.execute("UPDATE patients SET affected_side = ? WHERE id = ?", (affected, row[0]))
            return row[0]
        if not create:
            raise FacetrackError(f"no patient named {name!r} in {self.path}")
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO patients (code, name, affected_side, created_at) VALUES (?, ?, ?, ?)",
                (f"P-{secrets.token_hex(4)}", name, affected, now_iso()),
            )
            return _row_id(cur)

    def patients(self) -> list[tuple]:
        return self.db.execute("SELECT id, code, name, affected_side FROM patients ORDER BY name").fetchall()

    # -- sessions -------------------------------------------------------------------
    def start_session(
        self,
        patient_id: int,
        kind: str,
        routine: str,
        model_sha256: str,
        settings: dict,
        source: str,
        started_at: str | None = None,
    ) -> int:
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO sessions (patient_id, started_at, kind, routine, software_version, model_sha256, "
                "settings, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    patient_id,
                    started_at or now_iso(),
                    kind,
                    routine,
                    __version__,
                    model_sha256,
                    json.dumps(settings, sort_keys=True),
                    source,
                ),
            )
            return _row_id(cur)

    def set_neutral(self, session_id: int, neutral: NeutralRecord) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE sessions SET mm_per_unit=?, iod_mm=?, scale_source=?, rest_brow_diff_mm=?, "
                "rest_fissure_diff_mm=?, rest_mouth_diff_mm=?, rest_fissure_left_mm=?, rest_fissure_right_mm=?, "
                "neutral_xyz=? WHERE id=?",
                (
                    neutral.mm_per_unit,
                    neutral.iod_mm,
                    neutral.scale_source,
                    neutral.rest_brow_diff_mm,
                    neutral.rest_fissure_diff_mm,
                    neutral.rest_mouth_diff_mm,
                    neutral.rest_fissure_left_mm,
                    neutral.rest_fissure_right_mm,
                    np.asarray(neutral.xyz, np.float64).tobytes(),
                    session_id,
                ),
            )

    def set_step_neutral(self, session_id: int, record: StepNeutralRecord) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO step_neutrals VALUES (?, ?, ?, ?)",
                (session_id, record.step, record.from_t_s, np.asarray(record.xyz, np.float64).tobytes()),
            )

    def step_neutrals(self, session_id: int) -> dict[int, tuple[float, np.ndarray]]:
        """step -> (from what time s it applies, neutral (478, 3) face units)."""
        rows = self.db.execute(
            "SELECT step, from_t_s, neutral_xyz FROM step_neutrals WHERE session_id = ?", (session_id,)
        ).fetchall()
        return {int(st): (float(t), np.frombuffer(b, np.float64).reshape(478, 3)) for st, t, b in rows}

    def neutral_xyz(self, session_id: int) -> tuple[np.ndarray, float] | None:
        """The session's neutral face (478, 3) in face units and its mm per unit, if calibrated."""
        row = self.db.execute("SELECT neutral_xyz, mm_per_unit FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        return np.frombuffer(row[0], np.float64).reshape(478, 3), float(row[1])

    def commit_rep(
        self,
        session_id: int,
        step: int,
        rep: dict | None,
        frames: list[FrameRecord],
        landmarks: LandmarkBuffer | None,
        resolution_wh: tuple[int, int],
    ) -> None:
        """One transaction: the repetition's row (REP_SCHEMA names -> values), its frames and
        their landmarks."""
        with self.transaction():
            if rep is not None:
                cols = ", ".join(f'"{c}"' for c in _REP_COLUMNS)
                self.db.execute(
                    f"INSERT INTO reps (session_id, step, {cols}) VALUES (?, ?, {', '.join('?' * len(_REP_COLUMNS))})",
                    # a row that names no variant is a free repetition
                    (session_id, step, *(rep[c] if c != "variant" else rep[c] or FREE for c in _REP_COLUMNS)),
                )
            self.db.executemany(
                f"INSERT OR REPLACE INTO frames (session_id, {', '.join(FRAME_COLUMNS)}) "
                f"VALUES (?, {', '.join('?' * len(FRAME_COLUMNS))})",
                [(session_id, *f.row()) for f in frames],
            )
            for chunk_step, rows in landmarks.by_step.items() if landmarks is not None else ():
                self.db.execute(
                    "INSERT OR REPLACE INTO landmark_chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        session_id,
                        chunk_step,
                        rows[0][0],
                        len(rows),
                        *resolution_wh,
                        pack_landmarks(rows, *resolution_wh),
                    ),
                )

    def mark_redone(self, session_id: int, step: int) -> None:
        """The patient asked to redo a movement: its repetitions so far stay, marked 'redone'."""
        with self.transaction():
            self.db.execute("UPDATE reps SET status = 'redone' WHERE session_id = ? AND step = ?", (session_id, step))

    def end_session(self, session_id: int, status: str, video_path: str | None = None) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE sessions SET ended_at = ?, status = ?, video_path = ? WHERE id = ?",
                (now_iso(), status, video_path, session_id),
            )

    def sessions(self, patient: str | None = None) -> list[sqlite3.Row]:
        self.db.row_factory = sqlite3.Row
        try:
            q = (
                "SELECT s.*, p.name AS patient, p.code AS patient_code, p.affected_side, "
                "(SELECT count(*) FROM reps r WHERE r.session_id = s.id) AS n_reps, "
                "(SELECT count(DISTINCT movement) FROM reps r WHERE r.session_id = s.id) AS n_movements "
                "FROM sessions s JOIN patients p ON p.id = s.patient_id"
            )
            if patient is not None:
                return self.db.execute(
                    q + " WHERE p.name = ? ORDER BY s.started_at, s.id", (clean_name(patient),)
                ).fetchall()
            return self.db.execute(q + " ORDER BY p.name, s.started_at, s.id").fetchall()
        finally:
            self.db.row_factory = None

    def session_ids(self, patient_id: int, before_session: int | None = None) -> list[int]:
        """A patient's sessions in time order (only those before ``before_session`` if given)."""
        q = "SELECT id FROM sessions WHERE patient_id = ?" + (" AND id < ?" if before_session else "")
        args = (patient_id, before_session) if before_session else (patient_id,)
        return [r[0] for r in self.db.execute(q + " ORDER BY started_at, id", args)]

    def reps(self, session_id: int, statuses: tuple[str, ...] | None = None) -> list[dict]:
        """A session's repetitions in order; only those whose status is in ``statuses`` if given."""
        where = "" if statuses is None else f" AND status IN ({', '.join('?' * len(statuses))})"
        cur = self.db.execute(
            f"SELECT step, {', '.join(repr(c).replace(chr(39), chr(34)) for c in _REP_COLUMNS)} "
            f"FROM reps WHERE session_id = ?{where} ORDER BY id",
            (session_id, *(statuses or ())),
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def frames(self, session_id: int) -> list[dict]:
        cur = self.db.execute(
            f"SELECT {', '.join(FRAME_COLUMNS)} FROM frames WHERE session_id = ? ORDER BY step, frame", (session_id,)
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def landmarks(self, session_id: int) -> dict[str, np.ndarray] | None:
        """Every stored frame's landmarks (step, frame, t_s, found, xyz_px, matrix), or None
        when none were committed yet (a session killed before its first flush)."""
        rows = self.db.execute(
            "SELECT step, data, width, height FROM landmark_chunks WHERE session_id = ? ORDER BY step, first_frame",
            (session_id,),
        ).fetchall()
        if not rows:
            return None
        parts = []
        for step, blob, _, _ in rows:
            part = unpack_landmarks(blob)
            part["step"] = np.full(len(part["frame"]), step, np.int64)
            parts.append(part)
        out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        out["resolution_wh"] = np.array([rows[0][2], rows[0][3]])
        return out

    # -- forgetting -----------------------------------------------------------------
    def patient_footprint(self, name: str) -> dict:
        """What the store holds about a patient: ids, counts and recorded video paths."""
        name = clean_name(name)
        row = self.db.execute("SELECT id FROM patients WHERE name = ?", (name,)).fetchone()
        if not row:
            raise FacetrackError(f"no patient named {name!r}")
        pid = row[0]
        sessions = [r[0] for r in self.db.execute("SELECT id FROM sessions WHERE patient_id = ?", (pid,))]
        videos = [
            r[0]
            for r in self.db.execute(
                "SELECT video_path FROM sessions WHERE patient_id = ? AND video_path IS NOT NULL", (pid,)
            )
        ]
        marks = ",".join("?" * len(sessions))
        counts = {
            t: self.db.execute(f"SELECT count(*) FROM {t} WHERE session_id IN ({marks})", sessions).fetchone()[0]
            if sessions
            else 0
            for t in ("reps", "frames", "landmark_chunks")
        }
        return {"name": name, "patient_id": pid, "sessions": sessions, "videos": videos, **counts}

    def delete_patient(self, footprint: dict) -> None:
        """Delete every row about the patient, then rewrite the file so nothing lingers."""
        sessions, marks = footprint["sessions"], ",".join("?" * len(footprint["sessions"]))
        with self.transaction() as db:
            for table in SESSION_TABLES:
                db.execute(f"DELETE FROM {table} WHERE session_id IN ({marks})", sessions)
            db.execute("DELETE FROM sessions WHERE patient_id = ?", (footprint["patient_id"],))
            db.execute("DELETE FROM patients WHERE id = ?", (footprint["patient_id"],))
        self.db.execute("VACUUM")  # the deleted rows must not linger in free pages ...
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # ... nor in the write-ahead log

    def delete_session(self, session_id: int) -> None:
        """Delete one session and every row recorded in it (a video that ended before anything
        was measured: no session to keep)."""
        with self.transaction() as db:
            for table in SESSION_TABLES:
                db.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
