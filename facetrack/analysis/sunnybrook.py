"""An automatic estimate on the Sunnybrook Facial Grading System, from one session.

Sunnybrook (Ross, Fradet & Nedzelski 1996, Otolaryngol Head Neck Surg 114:380-386):
composite = voluntary movement score - resting symmetry score - synkinesis score, where
  voluntary movement = 4 x sum over 5 standard expressions of 1 (unable to initiate) .. 5
                       (complete), resting symmetry = 5 x (eye 0/1 + cheek 0-2 + mouth 0/1),
  synkinesis = sum over the 5 expressions of 0 (none) .. 3 (severe).
The clinician grades by eye; here each item is derived from video measures with fixed,
documented cut-offs.  It is an ESTIMATE FROM VIDEO, NOT A DIAGNOSIS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from facetrack.tables import FREE

# Sunnybrook expression -> facetrack movements that show it (first one present is used)
EXPRESSIONS = {
    "brow lift": ("brow_raise",),
    "gentle eye closure": ("eye_close_alternate", "eye_close_tight"),
    "open-mouth smile": ("lip_spread_i",),
    "snarl": ("upper_lip_raise", "nose_wrinkle"),
    "lip pucker": ("lip_pucker_u",),
}
# weaker side's movement as % of the stronger side -> Sunnybrook 1..5
MOVEMENT_CUTS = ((10, 1), (30, 2), (60, 3), (85, 4), (math.inf, 5))
# synkinesis % of the region's range on the worse side -> 0..3
SYNKINESIS_CUTS = ((10, 0), (25, 1), (50, 2), (math.inf, 3))
EYE_REST_MM, MOUTH_REST_MM = 1.5, 2.0


@dataclass
class Item:
    part: str
    item: str
    score: float
    derived_from: str


def _grade(value: float, cuts) -> int:
    for limit, score in cuts:
        if value < limit:
            return score
    return cuts[-1][1]


def estimate(session: dict, reps: list[dict]) -> tuple[float | None, list[Item]]:
    """Composite estimate (None if a voluntary expression is missing) and how each item came."""
    items: list[Item] = []
    eye = abs(session.get("rest_fissure_diff_mm") or 0.0)
    mouth = abs(session.get("rest_mouth_diff_mm") or 0.0)
    items.append(
        Item(
            "resting",
            "eye",
            float(eye > EYE_REST_MM),
            f"palpebral fissure difference {eye:.1f} mm (>{EYE_REST_MM} mm scores 1)",
        )
    )
    items.append(Item("resting", "cheek (nasolabial fold)", 0.0, "not measured from the mesh: scored 0"))
    items.append(
        Item(
            "resting",
            "mouth",
            float(mouth > MOUTH_REST_MM),
            f"mouth-corner height difference {mouth:.1f} mm (>{MOUTH_REST_MM} mm scores 1)",
        )
    )
    voluntary, synk, complete = 0.0, 0.0, True
    for expression, movements in EXPRESSIONS.items():
        # free repetitions only: Sunnybrook grades the patient's own movement, not a hands-on one
        free = [r for r in reps if (r.get("variant") or FREE) == FREE]
        rs = next(
            ([r for r in free if r["movement"] == m] for m in movements if any(r["movement"] == m for r in free)), []
        )
        if not rs:
            complete = False
            items.append(Item("voluntary", expression, math.nan, "not exercised in this session"))
            continue
        ratios = [
            100.0
            * min(r["left_amplitude_mm"] or 0, r["right_amplitude_mm"] or 0)
            / max(r["left_amplitude_mm"] or 0, r["right_amplitude_mm"] or 0, 1e-9)
            for r in rs
        ]
        ratio = sorted(ratios)[len(ratios) // 2]
        score = _grade(ratio, MOVEMENT_CUTS)
        voluntary += score
        items.append(
            Item(
                "voluntary",
                expression,
                score,
                f"{rs[0]['movement']}: weaker side {ratio:.0f}% of the stronger (median of repetitions)",
            )
        )
        worst = max((max(r["left_synkinesis_pct"] or 0, r["right_synkinesis_pct"] or 0) for r in rs), default=0)
        s = _grade(worst, SYNKINESIS_CUTS)
        synk += s
        items.append(
            Item(
                "synkinesis", expression, s, f"largest involuntary change elsewhere {worst:.0f}% of that region's range"
            )
        )
    resting = 5 * sum(i.score for i in items if i.part == "resting")
    if not complete:
        return None, items
    return 4 * voluntary - resting - synk, items
