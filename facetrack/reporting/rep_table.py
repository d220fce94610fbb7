"""The per-repetition table: one schema for ``analyze --csv``, the database and exports."""

from __future__ import annotations

from facetrack.analysis.meter import Neutral, RepResult
from facetrack.schema import Column, Schema

REP_SCHEMA = Schema((
    Column("movement", "id", "movement id from the catalogue"),
    Column("rep", "count", "repetition number, from 1"),
    Column("t_start_s", "s", "start: the measure first rises above 20% of this repetition's peak"),
    Column("t_peak_s", "s", "time of the peak of the stronger side"),
    Column("t_end_s", "s", "end: the measure falls back below 20% of the peak"),
    Column("left_amplitude_mm", "mm", "patient's left: peak change from neutral in the correct direction"),
    Column("right_amplitude_mm", "mm", "patient's right: peak change from neutral in the correct direction"),
    Column("left_amplitude_pct_iod", "% IOD", "left amplitude as % of the interocular distance (eye centres)"),
    Column("right_amplitude_pct_iod", "% IOD", "right amplitude as % of the interocular distance"),
    Column("symmetry_pct", "%", "100 * min(L, R) / max(L, R); empty when neither side moved beyond the noise floor"),
    Column("weaker_side", "left/right/none", "the side that moved less; none when equal within noise or no movement"),
    Column("left_synkinesis_pct", "% of range", "largest involuntary change of another region on the left, "
           "as % of that region's voluntary range"),
    Column("right_synkinesis_pct", "% of range", "same, patient's right"),
    Column("tracked_pct", "%", "frames of this repetition with a usable face (found, frontal, whole)"),
    Column("hold_s", "s", "time the stronger side stayed above 80% of its peak"),
    Column("status", "text", "movement, or no movement"),
    Column("affected_pct_of_other", "%", "affected side's amplitude as % of the other (given --affected); may exceed 100"),
    Column("left_synkinesis_mm", "mm", "left synkinesis as a distance"),
    Column("right_synkinesis_mm", "mm", "right synkinesis as a distance"),
    Column("left_synkinesis_region", "region", "region of the left synkinesis (brow, eye, nose, mouth)"),
    Column("right_synkinesis_region", "region", "region of the right synkinesis"),
    Column("mm_per_unit_source", "text", "what set the mm scale: iris (11.7 mm) or interocular (63 mm)"),
))


def rep_row(movement_id: str, neutral: Neutral, r: RepResult) -> list:
    """The row for one repetition, in REP_SCHEMA's order."""
    def mm(units):
        return units * neutral.mm_per_unit

    def pct(units):
        return 100.0 * units / neutral.iod

    return [
        movement_id, r.rep, round(r.t_start_s, 3), round(r.t_peak_s, 3), round(r.t_end_s, 3),
        mm(r.amplitude["left"]), mm(r.amplitude["right"]),
        pct(r.amplitude["left"]), pct(r.amplitude["right"]),
        r.symmetry.symmetry_pct, r.symmetry.weaker_side,
        r.synkinesis_pct["left"], r.synkinesis_pct["right"], r.tracked_pct,
        r.hold_s, r.symmetry.status, r.symmetry.affected_pct,
        mm(r.synkinesis_units["left"]), mm(r.synkinesis_units["right"]),
        r.synkinesis_region["left"], r.synkinesis_region["right"], neutral.scale_source,
    ]
