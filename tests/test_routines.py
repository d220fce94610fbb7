"""The built-in routines and the hands-on variants of a routine file (fast: no video)."""

from __future__ import annotations

import pytest

from facetrack.analysis.sunnybrook import EXPRESSIONS, estimate
from facetrack.errors import FacetrackError
from facetrack.face.movements import HANDS_ON
from facetrack.live.routine import BUILTIN, load_routine, parse_routine
from facetrack.tables import REP_SCHEMA


def test_the_hands_on_routine_has_every_form_the_programme_gives_each_with_its_fingers():
    steps = [s for s in load_routine("hands-on").steps if s.measured]
    assert {(s.movement, s.variant) for s in steps} == {(m, v) for m, vs in HANDS_ON.items() for v in vs}
    assert all(s.fingers and len(s.fingers) <= 60 for s in steps)  # one line of the window
    assert all(s.name.endswith(f"({s.variant})") for s in steps)


def test_a_variant_the_programme_does_not_give_is_one_clear_line():
    with pytest.raises(FacetrackError, match="nostril_flare has no variant 'resisted'"):
        parse_routine('[[movement]]\nid = "nostril_flare"\nvariant = "resisted"\n', "mine.toml")
    with pytest.raises(FacetrackError, match="no variant 'pressed'"):
        parse_routine('[[movement]]\nid = "brow_raise"\nvariant = "pressed"\n', "mine.toml")
    ok = parse_routine('[[movement]]\nid = "lip_pucker_u"\nvariant = "resisted"\n', "mine.toml")
    assert ok.steps[0].hands_on and "both sides of the mouth" in ok.steps[0].fingers
    assert not parse_routine('[[movement]]\nid = "lip_pucker_u"\n', "mine.toml").steps[0].hands_on


def _clinical_reps(weak_ratio: float, variant: str = "free") -> list[dict]:
    """One session of the clinical routine: each step's repetitions, the patient's left moving
    ``weak_ratio`` of the right, no synkinesis."""
    rows = []
    for step in BUILTIN["clinical"].steps:
        for k in range(step.reps):
            row = dict.fromkeys(REP_SCHEMA.names)
            row |= {
                "movement": step.movement,
                "rep": k + 1,
                "right_amplitude_mm": 6.0,
                "left_amplitude_mm": 6.0 * weak_ratio,
                "left_synkinesis_pct": 2.0,
                "right_synkinesis_pct": 2.0,
                "status": "movement",
                "variant": variant,
            }
            rows.append(row)
    return rows


def test_a_clinical_recording_gives_a_sunnybrook_estimate_that_falls_with_a_weaker_side():
    movements = {s.movement for s in BUILTIN["clinical"].steps}
    assert all(ms[0] in movements for ms in EXPRESSIONS.values())  # each expression as it prefers
    assert {"eye_close_tight", "lower_lip_lower"} <= movements  # eFACE's full closure and lower lip
    rest = {"rest_fissure_diff_mm": 0.2, "rest_mouth_diff_mm": 0.3}
    symmetric, _ = estimate(rest, _clinical_reps(1.0))
    half, items = estimate(rest, _clinical_reps(0.5))
    assert symmetric == 100 and half is not None and half < symmetric
    assert all(i.score == 3 for i in items if i.part == "voluntary")  # 50% of the other side
    # hands-on repetitions are not what the scale grades: none of them, no estimate
    assert estimate(rest, _clinical_reps(1.0, "resisted"))[0] is None
