"""Per-movement symmetry across a patient's sessions (for the summary screen and reports)."""

from __future__ import annotations

import math

import numpy as np

from facetrack.storage.store import Store
from facetrack.tables import COVERED_BOTH, COVERED_ONE, variant_key

# "redone" repetitions are kept but not counted
COUNTED = ("movement", "no movement", COVERED_ONE, COVERED_BOTH)


def rep_key(r) -> str:
    """A stored repetition's series: its movement, or movement/variant for a hands-on one."""
    return variant_key(r["movement"], r.get("variant"))


def counted_reps(store: Store, session_id: int) -> list[dict]:
    """A session's repetitions that count (the redone ones are kept but left out)."""
    return store.reps(session_id, COUNTED)


def median_symmetry(reps: list[dict]) -> dict[str, float]:
    """Median symmetry % per movement (and hands-on variant: history.rep_key) over ``reps``
    (NaN where no repetition moved)."""
    out: dict[str, list] = {}
    for r in reps:
        out.setdefault(rep_key(r), []).append(math.nan if r["symmetry_pct"] is None else r["symmetry_pct"])
    return {m: (float(np.nanmedian(v)) if not all(map(math.isnan, v)) else math.nan) for m, v in out.items()}


def session_symmetry(store: Store, session_id: int) -> dict[str, float]:
    """Median symmetry % per movement in one session (NaN where no rep moved)."""
    return median_symmetry(counted_reps(store, session_id))


def previous_and_first(store: Store, patient_id: int, before_session: int | None = None) -> dict[str, tuple]:
    """movement -> (symmetry of the latest earlier session, of the first session) with that movement."""
    per = [session_symmetry(store, i) for i in store.session_ids(patient_id, before_session)]
    out = {}
    for m in {m for p in per for m in p}:
        vals = [p[m] for p in per if m in p]
        out[m] = (vals[-1], vals[0])
    return out
