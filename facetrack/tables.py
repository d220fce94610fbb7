"""What every table and CSV holds, defined once: the database, ``analyze --csv`` and the exports
take their columns, units and meanings (the data dictionary) from here.

A leaf module: it imports nothing of facetrack, so the store and ``facetrack sessions`` load
without the analysis stack.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields


@dataclass(frozen=True)
class Column:
    name: str
    unit: str
    meaning: str


@dataclass(frozen=True)
class Schema:
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __add__(self, other: "Schema") -> "Schema":
        return Schema(self.columns + other.columns)


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
    Column("status", "text", "movement; no movement (nothing stood clear of the rest noise); head moved (live: the "
           "head turned during it, not measured); redone (the patient redid the step; not counted)"),
    Column("affected_pct_of_other", "%", "affected side's amplitude as % of the other (given --affected); may exceed 100"),
    Column("left_synkinesis_mm", "mm", "left synkinesis as a distance"),
    Column("right_synkinesis_mm", "mm", "right synkinesis as a distance"),
    Column("left_synkinesis_region", "region", "region of the left synkinesis (brow, eye, nose, mouth)"),
    Column("right_synkinesis_region", "region", "region of the right synkinesis"),
    Column("mm_per_unit_source", "text", "what set the mm scale: iris (11.7 mm) or interocular (63 mm)"),
    Column("estimator_version", "text", "version of the measuring method that made this row (empty: before "
           "versions were recorded); trends never mix versions"),
))


# Quality flags, one bit each in the frames table and the exports.  The first five come from
# the landmarks (face.geometry.quality_flags), the next two from the picture
# (face.quality.lighting), the last two from the movement meter.
FLAG_NAMES = ("no_face", "head_turned", "head_tilted", "too_small", "out_of_frame",
              "too_dark", "overexposed", "occluded", "head_moved")
FLAG_BITS = {name: 1 << i for i, name in enumerate(FLAG_NAMES)}


def flag_bits(flags: dict[str, bool]) -> int:
    """The flags that are set, as the bitmask the frames table stores."""
    return sum(bit for name, bit in FLAG_BITS.items() if flags.get(name))


def flag_names(bits: int) -> list[str]:
    """The inverse of :func:`flag_bits`: the names of the set flags, in FLAG_NAMES order."""
    return [name for name, bit in FLAG_BITS.items() if bits & bit]


@dataclass(frozen=True)
class FrameRecord:
    """One frame of a session as the frames table keeps it (mm on the session's scale)."""

    step: int                  # routine step (-1 before the first movement); imports: the video
    frame: int                 # frame index within the source (imports: within the step's video)
    t_s: float
    movement: str | None
    phase: str
    usable: bool
    flags: int                 # flag_bits()
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
    xyz: object                # (478, 3) float64 array, face units


@dataclass(frozen=True)
class LandmarkRow:
    """One frame's raw landmarks as the landmark chunks keep them (1/16 px)."""

    step: int
    frame: int
    t_s: float
    xyz_px: object | None          # (478, 3) pixels, None when no face was found
    transform: object | None       # (4, 4) MediaPipe facial transformation matrix
    resolution_wh: tuple[int, int]


@dataclass(frozen=True)
class RepRecord:
    """A finished repetition to store: its routine step and its REP_SCHEMA row (name -> value)."""

    step: int
    row: dict


@dataclass(frozen=True)
class RedoRecord:
    """The patient redoes a step: its repetitions so far are kept but marked 'redone'."""

    step: int


FRAME_SCHEMA = Schema((
    Column("step", "index", "routine step, -1 before the first movement (imports: the video's position)"),
    Column("frame", "index", "frame number within the source video or camera stream (imports: within the step's video)"),
    Column("t_s", "s", "time from the start of the session (imports: of the step's video)"),
    Column("movement", "id", "movement being exercised"),
    Column("phase", "text", "calibrate, instruct, move, rest (live) or import"),
    Column("usable", "0/1", "1 when the face was found, frontal, whole and uncovered"),
    Column("flags", "bits", "quality flags: " + ", ".join(f"{bit} {name.replace('_', ' ')}"
                                                        for name, bit in FLAG_BITS.items())),
    Column("left_mm", "mm", "left change from neutral in the correct direction (fused, as shown live)"),
    Column("right_mm", "mm", "right change from neutral in the correct direction (fused)"),
    Column("left_mesh_mm", "mm", "left, face mesh alone"),
    Column("right_mesh_mm", "mm", "right, face mesh alone"),
    Column("left_flow_mm", "mm", "left, skin optical flow alone"),
    Column("right_flow_mm", "mm", "right, skin optical flow alone"),
))
FRAME_COLUMNS = tuple(f.name for f in fields(FrameRecord))
assert tuple(FRAME_SCHEMA.names) == FRAME_COLUMNS, "FrameRecord and FRAME_SCHEMA must list the same columns"
