"""What every table and CSV holds, defined once: the database, ``analyze --csv`` and the exports
take their columns, units and meanings (the data dictionary) from here.

A leaf module: it imports nothing of facetrack, so the store and ``facetrack sessions`` load
without the analysis stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import astuple, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Column:
    """One column as the data dictionary explains it: ``positive`` says which way a signed
    measure counts up (empty for what is never negative), ``source`` where the value comes from."""

    name: str
    unit: str
    meaning: str
    positive: str = ""
    source: str = ""


@dataclass(frozen=True)
class Schema:
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __add__(self, other: Schema) -> Schema:
        return Schema(self.columns + other.columns)

    def __getitem__(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def replacing(self, name: str, *columns: Column) -> Schema:
        """This schema with column ``name`` replaced by ``columns`` (in its place)."""
        i = self.names.index(name)
        return Schema(self.columns[:i] + columns + self.columns[i + 1 :])

    def sourced(self, source: str) -> Schema:
        """Every column that names no source of its own gets ``source``."""
        return Schema(tuple(c if c.source else replace(c, source=source) for c in self.columns))

    def row(self, values: Mapping[str, Any]) -> list:
        """``values`` (column name -> value) in this schema's order: the header and the rows of
        a file come from the same definition, and a value without a column (or a column
        without a value) is an error, never a shifted row."""
        if set(values) != set(self.names):
            missing, extra = set(self.names) - set(values), set(values) - set(self.names)
            raise KeyError(f"row does not fit the schema: missing {sorted(missing)}, extra {sorted(extra)}")
        return [values[n] for n in self.names]


# What "positive" means for every change from neutral: the way the exercised movement goes.
TOWARD_MOVEMENT = (
    "the movement's own direction (e.g. the brow up in a brow raise, the lids together in an eye "
    "closure); negative: that side moved the other way"
)

# Hands-on variants of a movement (the programme, shared/docs/exercises.md: fingers helping or
# resisting; face.movements.HANDS_ON says where they go) and the statuses of a repetition the
# fingers hid, one side or both (analysis.reps).  Here because the store and its history group
# and count by them too.
FREE = "free"
VARIANTS = (FREE, "assisted", "resisted")
COVERED_ONE = "one side covered"
COVERED_BOTH = "covered"


def variant_key(movement_id: str, variant: str | None) -> str:
    """What trends and summaries group repetitions by: a hands-on variant is its own series,
    never mixed with the free movement (``brow_raise``, ``brow_raise/resisted``)."""
    return movement_id if not variant or variant == FREE else f"{movement_id}/{variant}"


REP_SCHEMA = Schema(
    (
        Column("movement", "id", "movement id from the catalogue"),
        Column("rep", "count", "repetition number, from 1"),
        Column("t_start_s", "s", "start: the measure first rises above 20% of this repetition's peak"),
        Column("t_peak_s", "s", "time of the peak of the stronger side"),
        Column("t_end_s", "s", "end: the measure falls back below 20% of the peak"),
        Column(
            "left_amplitude_mm",
            "mm",
            "patient's left: peak change from neutral in the correct direction",
            positive=TOWARD_MOVEMENT,
        ),
        Column(
            "right_amplitude_mm",
            "mm",
            "patient's right: peak change from neutral in the correct direction",
            positive=TOWARD_MOVEMENT,
        ),
        Column(
            "left_amplitude_pct_iod",
            "% IOD",
            "left amplitude as % of the interocular distance (eye centres)",
            positive=TOWARD_MOVEMENT,
        ),
        Column(
            "right_amplitude_pct_iod",
            "% IOD",
            "right amplitude as % of the interocular distance",
            positive=TOWARD_MOVEMENT,
        ),
        Column(
            "symmetry_pct",
            "%",
            "100 * min(L, R) / max(L, R) of the amplitudes, a side that moved the wrong way counting as 0; "
            "empty when neither side moved beyond the noise floor",
        ),
        Column(
            "weaker_side", "left/right/none", "the side that moved less; none when equal within noise or no movement"
        ),
        Column(
            "left_synkinesis_pct",
            "% of range",
            "largest involuntary change of another region on the left, as % of that region's voluntary range",
        ),
        Column("right_synkinesis_pct", "% of range", "same, patient's right"),
        Column("tracked_pct", "%", "frames of this repetition with a usable face (found, frontal, whole)"),
        Column("hold_s", "s", "time the stronger side stayed above 80% of its peak"),
        Column(
            "status",
            "text",
            "movement; no movement (nothing stood clear of the rest noise); head moved (live: the "
            "head turned during it, not measured); one side covered (hands-on: the fingers hid "
            "one side, the other's amplitude stands); covered (hands-on: both sides hidden, counted "
            "by time, not measured); redone (the patient redid the step; not counted)",
        ),
        Column(
            "affected_pct_of_other",
            "%",
            "affected side's amplitude as % of the other's (a side that moved the wrong way counting as 0); "
            "the affected side is affected_side, given with --affected; may exceed 100",
        ),
        Column("left_synkinesis_mm", "mm", "left synkinesis as a distance"),
        Column("right_synkinesis_mm", "mm", "right synkinesis as a distance"),
        Column("left_synkinesis_region", "region", "region of the left synkinesis (brow, eye, nose, mouth)"),
        Column("right_synkinesis_region", "region", "region of the right synkinesis"),
        Column("mm_per_unit_source", "text", "what set the mm scale: iris (11.7 mm) or interocular (63 mm)"),
        Column(
            "estimator_version",
            "text",
            "version of the measuring method that made this row (empty: before "
            "versions were recorded); trends never mix versions",
            source="facetrack.analysis.rows.ESTIMATOR_VERSION when the repetition was measured",
        ),
        Column(
            "variant",
            "text",
            "free; assisted or resisted: the patient's fingers helped or resisted the movement "
            "(trends never mix variants)",
        ),
        Column(
            "measured_pct",
            "%",
            "share of the landmarks this movement reads that were measured, over the repetition's "
            "frames: fingers or a hand over them, or no usable face, lower it; 100 for a free step",
        ),
    )
).sourced(
    "facetrack's repetition analysis (facetrack.analysis.meter, .reps) of the session's camera "
    "frames or imported video, stored when the repetition ended"
)


# Quality flags, one bit each in the frames table and the exports.  The first five come from
# the landmarks (face.geometry.quality_flags), the next two from the picture
# (face.quality.lighting), the last two from the movement meter.
FLAG_NAMES = (
    "no_face",
    "head_turned",
    "head_tilted",
    "too_small",
    "out_of_frame",
    "too_dark",
    "overexposed",
    "occluded",
    "head_moved",
)
FLAG_BITS = {name: 1 << i for i, name in enumerate(FLAG_NAMES)}
# What each flag means, with the thresholds of face.geometry, face.quality and analysis.meter
# (tests/test_export.py checks the numbers are theirs).
FLAG_MEANINGS = {
    "no_face": "no face found in the frame",
    "head_turned": "head turned (yaw) or nodded (pitch) more than 20 deg from facing the camera",
    "head_tilted": "head tilted in the picture plane (roll) more than 20 deg",
    "too_small": "face too small: eye centres less than 40 px apart",
    "out_of_frame": "part of the face outline is outside the picture",
    "too_dark": "mean brightness inside the face box below 45 of 255",
    "overexposed": "more than 25% of the face box clipped white (250 of 255 or more)",
    "occluded": "more than 15% of the face unexplained by skin motion (e.g. a hand over it); not measured",
    "head_moved": "head turned or nodded more than 8 deg from its neutral pose; not measured",
}
FLAG_SOURCES = {
    **dict.fromkeys(FLAG_NAMES[:5], "the face landmarks (facetrack.face.geometry.quality_flags)"),
    **dict.fromkeys(FLAG_NAMES[5:7], "the picture inside the face (facetrack.face.quality.lighting)"),
    **dict.fromkeys(FLAG_NAMES[7:], "the movement meter (facetrack.analysis.meter.frame_flags)"),
}


def flag_columns(names=FLAG_NAMES) -> tuple[Column, ...]:
    """One named 0/1 column a quality flag, ``q_<flag>``, for every CSV that has flags."""
    return tuple(
        Column(f"q_{n}", "0/1", f"quality flag {n}: 1 when {FLAG_MEANINGS[n]}", source=FLAG_SOURCES[n]) for n in names
    )


def flag_bits(flags: dict[str, bool]) -> int:
    """The flags that are set, as the bitmask the frames table stores."""
    return sum(bit for name, bit in FLAG_BITS.items() if flags.get(name))


def flag_names(bits: int) -> list[str]:
    """The inverse of :func:`flag_bits`: the names of the set flags, in FLAG_NAMES order."""
    return [name for name, bit in FLAG_BITS.items() if bits & bit]


@dataclass(frozen=True)
class FrameRecord:
    """One frame of a session as the frames table keeps it (mm on the session's scale)."""

    step: int  # routine step (-1 before the first movement); imports: the video
    frame: int  # frame index within the source (imports: within the step's video)
    t_s: float
    movement: str | None
    phase: str
    usable: bool
    flags: int  # flag_bits()
    left_mm: float | None = None
    right_mm: float | None = None
    left_mesh_mm: float | None = None
    right_mesh_mm: float | None = None
    left_flow_mm: float | None = None
    right_flow_mm: float | None = None

    def row(self) -> tuple:
        return astuple(self)


@dataclass(frozen=True)
class NeutralRecord:
    """What a session keeps of its neutral face: the scale, resting asymmetry and the mesh."""

    mm_per_unit: float
    iod_mm: float
    scale_source: str
    rest_brow_diff_mm: float
    rest_fissure_diff_mm: float
    rest_mouth_diff_mm: float
    rest_fissure_left_mm: float
    rest_fissure_right_mm: float
    xyz: object  # (478, 3) float64 array, face units


@dataclass(frozen=True)
class LandmarkRow:
    """One frame's raw landmarks as the landmark chunks keep them (1/16 px)."""

    step: int
    frame: int
    t_s: float
    xyz_px: object | None  # (478, 3) pixels, None when no face was found
    transform: object | None  # (4, 4) MediaPipe facial transformation matrix
    resolution_wh: tuple[int, int]


@dataclass(frozen=True)
class RepRecord:
    """A finished repetition to store: its routine step and its REP_SCHEMA row (name -> value)."""

    step: int
    row: dict


@dataclass(frozen=True)
class StepNeutralRecord:
    """A step's own neutral face: the rest right before its movement (live) or its video's
    rest (imports), which the step's measures from ``from_t_s`` on are taken against."""

    step: int
    from_t_s: float
    xyz: object  # (478, 3) float64 array, face units


@dataclass(frozen=True)
class RedoRecord:
    """The patient redoes a step: its repetitions so far are kept but marked 'redone'."""

    step: int


FRAME_SCHEMA = Schema(
    (
        Column("step", "index", "routine step, -1 before the first movement (imports: the video's position)"),
        Column(
            "frame", "index", "frame number within the source video or camera stream (imports: within the step's video)"
        ),
        Column("t_s", "s", "time from the start of the session (imports: of the step's video)"),
        Column("movement", "id", "movement being exercised"),
        Column("phase", "text", "calibrate, instruct, move, rest (live) or import"),
        Column("usable", "0/1", "1 when the face was found, frontal, whole and uncovered"),
        Column(
            "flags",
            "bits",
            "quality flags: " + ", ".join(f"{bit} {name.replace('_', ' ')}" for name, bit in FLAG_BITS.items()),
        ),
        Column(
            "left_mm",
            "mm",
            "left change from neutral in the correct direction (fused, as shown live)",
            positive=TOWARD_MOVEMENT,
        ),
        Column(
            "right_mm", "mm", "right change from neutral in the correct direction (fused)", positive=TOWARD_MOVEMENT
        ),
        Column("left_mesh_mm", "mm", "left, face mesh alone", positive=TOWARD_MOVEMENT),
        Column("right_mesh_mm", "mm", "right, face mesh alone", positive=TOWARD_MOVEMENT),
        Column("left_flow_mm", "mm", "left, skin optical flow alone", positive=TOWARD_MOVEMENT),
        Column("right_flow_mm", "mm", "right, skin optical flow alone", positive=TOWARD_MOVEMENT),
    )
).sourced(
    "the per-frame measure (facetrack.analysis.meter) of the session's camera frames or imported video, "
    "on the session's mm scale"
)
FRAME_COLUMNS = tuple(f.name for f in fields(FrameRecord))
assert tuple(FRAME_SCHEMA.names) == FRAME_COLUMNS, "FrameRecord and FRAME_SCHEMA must list the same columns"
