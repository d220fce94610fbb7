"""A repetition as a row of :data:`facetrack.tables.REP_SCHEMA` (``analyze --csv``, the
database and the exports all take it from here)."""

from __future__ import annotations

import math

from facetrack.analysis.meter import FrameValues, Neutral, RepResult
from facetrack.face.landmarks import SIDES
from facetrack.face.measures import eye_aperture
from facetrack.face.movements import FREE
from facetrack.face.pipeline import Tracked
from facetrack.tables import REP_SCHEMA, FrameRecord, LandmarkRow, NeutralRecord, flag_bits

# The measuring method's version, stored with every repetition.  Bump it whenever what
# MovementMeter or results_from_series read from a video changes: a trend never draws one line
# through numbers of two methods (reporting.report).
#   1: reference-to-frame skin flow, live and offline summarised differently (rows have no version)
#   2: one summariser for live and offline (analysis.meter.results_from_series)
#   3: mesh first, skin as a gated local correction (face.skin.SkinFlow.correct); lids keep 1
#   4: 3, mirror-invariant: landmarks averaged over the frame and its mirror image
#      (capture.mirror), skin flow averaged with its mirror (face.skin.MirrorFlow)
#   5: 4 on one flow crop for live and offline (120 px between the eyes), residual flows with
#      DIS's "fast" preset (face.skin.FLOW_IOD_PX, RESIDUAL_PRESET)
#   6: 5, and the live session measures each movement against its own neutral face, the rest
#      just before it (live.session.SETTLE_S), as `analyze` does, not the calibration's
#   7: 6, amplitudes read from each recording's own rest level, not from zero
#      (analysis.meter.from_rest): the skin reference frame's noise left an offset
#   8: 7, each frame turned onto the neutral again on the stable points its movement does not
#      move (face.landmarks.TURN_POINTS, Movement.frontal): MediaPipe's pose is tilted by the
#      movement itself
#   9: 8, the similarity fitted to the skin residual at the stable points and taken out is
#      bounded to jitter's size (face.skin.bounded_similarity): under a real head turn its
#      turn and scale were parallax at the outline, and read a still mouth 4 mm one-sided
#  (10: a trial, not kept: a point tracker at the mouth corners; calibration/VALIDATION.md)
#  11: 9, the skin correction's prediction takes, where the mesh's triangles fold, the mean
#      of their maps instead of the last painted (face.skin._Correcter.predict): a clip and
#      its mirror image read the same, sides swapped
ESTIMATOR_VERSION = "11"


def rep_row(movement_id: str, neutral: Neutral, r: RepResult, variant: str = FREE) -> list:
    """The row for one repetition, in REP_SCHEMA's order."""

    def mm(units):
        return units * neutral.mm_per_unit

    def pct(units):
        return 100.0 * units / neutral.iod

    return [
        movement_id,
        r.rep,
        round(r.t_start_s, 3),
        round(r.t_peak_s, 3),
        round(r.t_end_s, 3),
        mm(r.amplitude["left"]),
        mm(r.amplitude["right"]),
        pct(r.amplitude["left"]),
        pct(r.amplitude["right"]),
        r.symmetry.symmetry_pct,
        r.symmetry.weaker_side,
        r.synkinesis_pct["left"],
        r.synkinesis_pct["right"],
        r.tracked_pct,
        r.hold_s,
        r.symmetry.status,
        r.symmetry.affected_pct,
        mm(r.synkinesis_units["left"]),
        mm(r.synkinesis_units["right"]),
        r.synkinesis_region["left"],
        r.synkinesis_region["right"],
        neutral.scale_source,
        ESTIMATOR_VERSION,
        variant,
        r.measured_pct,
    ]


def rep_record(movement_id: str, neutral: Neutral, r: RepResult, variant: str = FREE) -> dict:
    """The same row keyed by column name, as the store takes it."""
    return dict(zip(REP_SCHEMA.names, rep_row(movement_id, neutral, r, variant)))


def neutral_record(neutral: Neutral) -> NeutralRecord:
    """What the store keeps of a neutral face: scale, resting asymmetry, the mesh."""
    rest = neutral.resting_asymmetry_mm()
    fissure = {s: float(eye_aperture(neutral.xyz, s)) * neutral.mm_per_unit for s in ("left", "right")}
    return NeutralRecord(
        neutral.mm_per_unit,
        neutral.iod_mm,
        neutral.scale_source,
        rest["brow_height_diff_mm"],
        rest["palpebral_fissure_diff_mm"],
        rest["mouth_corner_height_diff_mm"],
        fissure["left"],
        fissure["right"],
        neutral.xyz,
    )


def frame_record(
    step: int,
    movement: str | None,
    phase: str,
    t: Tracked,
    values: FrameValues | None,
    flags: dict[str, bool],
    mm_per_unit: float,
) -> FrameRecord:
    """One frame's row of the frames table: per-side fused, mesh and flow change in mm."""

    def side_mm(kind: str, side: str) -> float | None:
        if values is None or not math.isfinite(mm_per_unit):
            return None
        v = getattr(values, kind)[side]
        return v * mm_per_unit if math.isfinite(v) else None

    usable = bool(values.usable) if values is not None else bool(t.usable)
    return FrameRecord(
        step,
        t.frame.index,
        t.frame.timestamp_s,
        movement,
        phase,
        usable,
        flag_bits(flags),
        *(side_mm(kind, s) for kind in ("fused", "mesh", "flow") for s in SIDES),
    )


def landmark_row(step: int, t: Tracked) -> LandmarkRow:
    """The frame's raw landmarks (pixels) and head pose as the store keeps them."""
    found = t.face.face_found
    return LandmarkRow(
        step,
        t.frame.index,
        t.frame.timestamp_s,
        t.face.xyz_px.copy() if found else None,
        t.face.transform.copy() if found else None,
        t.frame.resolution_wh,
    )
