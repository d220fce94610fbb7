"""The catalogue: every prescribed movement, defined once.

Ids are those of the exercise programme (docs: shared exercises.md).  A movement names
its primary per-side measure (a function of :mod:`facetrack.face.measures`) and the direction
of a correct movement: the change from neutral, times ``direction``, is positive when the
person moves the right way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from facetrack.errors import FacetrackError
from facetrack.face import measures as M
from facetrack.face.geometry import rigid_fit, turned_onto
from facetrack.face.landmarks import TURN_POINTS, region_landmarks
from facetrack.tables import FREE, VARIANTS, variant_key

__all__ = ["FREE", "VARIANTS", "variant_key"]  # the hands-on variants are defined with the tables


@dataclass(frozen=True)
class Movement:
    id: str
    name: str
    instruction: str
    regions: tuple[str, ...]
    measure_name: str  # what the primary measure is, for people
    measure: Callable  # (xyz, side) -> value, or (xyz, neutral, side) if relative
    direction: float  # +1: the measure grows in a correct movement, -1: shrinks
    relative: bool = False  # measure needs the neutral face itself
    flow_weight: float = 0.0  # share of skin motion (optical flow) in the fused measure
    min_amplitude_pct_iod: float = 1.5  # smaller peaks are not counted as repetitions
    # How skin enters the measure (analysis.meter.METHODS), chosen by the figures: the gated
    # correction for all but the lid closures, where a closing lid hides the eye (no skin
    # residual passes the gate, so it read like the mesh: 50% on a 25% ground truth,
    # tests/test_measures.py) and the former reference flow reads the ratio best (synthetic
    # MAE 8.0 / 4.2 points against the mesh's 10.9 / 11.8, calibration/VALIDATION.md).
    skin_method: str = "gated_residual"
    muscle: str = ""
    # Eye distance (px) of the crop the skin flow runs on, live and offline alike; None: the
    # default (face.skin.FLOW_IOD_PX).  See NOSE_FLOW_IOD_PX.
    flow_iod_px: float | None = None

    def landmarks(self, side: str) -> tuple[int, ...]:
        """The landmarks of ``side`` this movement's measure reads (its regions')."""
        return tuple(i for r in self.regions for i in region_landmarks(side, r))

    @cached_property  # read for every frame measured: worked out once per movement
    def turn_points(self) -> tuple[int, ...]:
        """The stable points this movement's head turn is fitted on: those of its regions'
        TURN_POINTS that no region of it moves (landmarks.TURN_POINTS)."""
        sets = [set(TURN_POINTS[r]) for r in self.regions]
        return tuple(sorted(set.intersection(*sets)))

    def frontal(self, xyz: np.ndarray, neutral: np.ndarray) -> np.ndarray:
        """One frame's pose-normalised landmarks turned onto ``neutral`` on this movement's
        turn points (geometry.turned_onto): what is left of the head pose after MediaPipe's
        own fit, which the movement itself tilts."""
        return turned_onto(xyz, neutral, self.turn_points)

    def turn(self, xyz: np.ndarray, neutral: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rigid move (r, t) of :meth:`frontal`, to apply to another estimate of the same
        frame (the skin-corrected landmarks: fitted on them, their noise on a low-resolution
        webcam tilted a real frozen half by up to 0.8 deg)."""
        return rigid_fit(xyz, neutral, self.turn_points)

    def change(self, xyz: np.ndarray, neutral: np.ndarray, side: str) -> np.ndarray:
        """Change from neutral in the correct direction (face units; positive = correct)."""
        if self.relative:
            return self.measure(xyz, neutral, side)
        return self.direction * (self.measure(xyz, side) - self.measure(neutral, side))


# Flow weight: with the former method (MovementMeter(method="reference_flow")) the share of
# skin motion (flow from the neutral frame straight to each frame) in the reported measure
# near the neutral pose.  The reported method (gated_residual, facetrack.face.skin.SkinFlow.correct)
# decides landmark by landmark instead: the mesh stands wherever the skin residual fails its
# gate (teeth appearing in a smile), skin corrects it elsewhere (a still half the mesh leaks
# onto); there any flow_weight > 0 only switches the skin correction on.  Every movement
# keeps 1.0: on ground truth the skin reads the per-side ratio far better than the mesh for
# every movement (calibration/VALIDATION.md).
# The nostrils and the alae move a few pixels next to still skin: on ground truth (the
# astronaut face, 43 px between the eyes; calibration/VALIDATION.md) the skin read them far
# better on a crop at 180 px than at 90 (symmetric nostril narrowing 82% against 68%, nose
# wrinkle 88% against 70%, half-strength flare 45% against 43% of a true 50%), where the
# other movements read alike.  It costs about four times the flow per frame of 90 px.
NOSE_FLOW_IOD_PX = 180.0
CATALOGUE: dict[str, Movement] = {
    m.id: m
    for m in (
        Movement(
            "frown",
            "Frown",
            "Pull your eyebrows together and down, as hard as you can.",
            ("brow",),
            "inner brow travel toward the midline and down",
            M.inner_brow_medial_down,
            +1,
            flow_weight=1.0,
            muscle="corrugator supercilii",
        ),
        Movement(
            "brow_raise",
            "Raise the eyebrows",
            "Lift both eyebrows as high as you can, a surprised look.",
            ("brow",),
            "brow height above the eye line",
            M.brow_height,
            +1,
            flow_weight=1.0,
            muscle="frontalis",
        ),
        Movement(
            "eye_close_tight",
            "Close the eyes tightly",
            "Shut both eyes firmly, then open them.",
            ("eye",),
            "palpebral aperture (closure)",
            M.eye_aperture,
            -1,
            flow_weight=1.0,
            min_amplitude_pct_iod=3.0,
            muscle="orbicularis oculi",
            skin_method="reference_flow",
        ),
        Movement(
            "eye_close_alternate",
            "Tight and light eye closure",
            "Close your eyes tightly, open, then close them lightly; keep alternating.",
            ("eye",),
            "palpebral aperture (closure)",
            M.eye_aperture,
            -1,
            flow_weight=1.0,
            min_amplitude_pct_iod=3.0,
            muscle="orbicularis oculi",
            skin_method="reference_flow",
        ),
        Movement(
            "nostril_flare",
            "Flare the nostrils",
            "Widen your nostrils as if you were short of breath.",
            ("nose",),
            "alar width from the midline",
            M.alar_width,
            +1,
            flow_weight=1.0,
            min_amplitude_pct_iod=0.8,
            muscle="dilator naris",
            flow_iod_px=NOSE_FLOW_IOD_PX,
        ),
        Movement(
            "nostril_narrow",
            "Narrow the nostrils",
            "Pinch your nostrils narrow, as if meeting a bad smell.",
            ("nose",),
            "alar width from the midline",
            M.alar_width,
            -1,
            flow_weight=1.0,
            min_amplitude_pct_iod=0.8,
            muscle="compressor naris",
            flow_iod_px=NOSE_FLOW_IOD_PX,
        ),
        Movement(
            "nose_wrinkle",
            "Wrinkle the nose",
            "Wrinkle your nose so lines form at its root.",
            ("nose",),
            "alar base to inner eye corner distance",
            M.alar_to_inner_canthus,
            -1,
            flow_weight=1.0,
            min_amplitude_pct_iod=1.0,
            muscle="procerus, levator labii superioris alaeque nasi",
            flow_iod_px=NOSE_FLOW_IOD_PX,
        ),
        Movement(
            "lip_pucker_u",
            'Pucker: say "u"',
            'Push your lips forward as if saying "oo".',
            ("mouth",),
            "mouth-corner travel toward the midline",
            M.corner_from_midline,
            -1,
            flow_weight=1.0,
            muscle="orbicularis oris",
        ),
        Movement(
            "lip_spread_i",
            'Spread: say "i"',
            'Pull your lips wide and back as if saying "ee".',
            ("mouth",),
            "mouth-corner excursion outward and up",
            M.corner_out_up,
            +1,
            flow_weight=1.0,
            muscle="risorius, zygomaticus",
        ),
        Movement(
            "upper_lip_raise",
            "Show the upper gums",
            "Lift your upper lip to show your upper gums.",
            ("mouth",),
            "upper-lip height toward the alar base",
            M.upper_lip_to_ala,
            -1,
            flow_weight=1.0,
            muscle="levator labii superioris",
        ),
        Movement(
            "lower_lip_lower",
            "Show the lower gums",
            "Pull your lower lip down to show your lower gums.",
            ("mouth",),
            "lower-lip travel down",
            M.lower_lip_height,
            -1,
            flow_weight=1.0,
            muscle="depressor labii inferioris",
        ),
        Movement(
            "lip_hold",
            "Hold between the lips",
            "Hold something light between your lips and move it.",
            ("mouth",),
            "lip movement from neutral (each half of the lips)",
            M.lip_displacement,
            +1,
            relative=True,
            flow_weight=1.0,
            muscle="orbicularis oris",
        ),
    )
}

MOVEMENT_IDS = tuple(CATALOGUE)

# Hands-on variants (shared/docs/exercises.md): the programme lets the patient's fingers help
# a weak movement ("assisted") or push against it ("resisted").  What the patient is told, per
# movement, in the programme's words where it has them; a movement it gives no hands-on form
# for has none here.  Each fits one line of the window (<= 60 characters).
HANDS_ON: dict[str, dict[str, str]] = {
    "frown": {"resisted": "Fingertips on the inner brows: push them apart gently"},
    "brow_raise": {"resisted": "Fingertips above the brows: press down as you raise them"},
    "eye_close_tight": {
        "assisted": "Help a lid that does not close with a fingertip",
        "resisted": "Fingertips lightly on the upper lids: a slight force",
    },
    "nose_wrinkle": {"assisted": "Hands crossed, fingers beside the nose: help it wrinkle"},
    "lip_pucker_u": {"resisted": "Fingers pressed on both sides of the mouth, lips forward"},
    "lip_spread_i": {"resisted": "Fingers pressed on both sides of the mouth, lips back"},
    "upper_lip_raise": {
        "assisted": "Fingers gently lift the skin under the nose",
        "resisted": "Fingers press from under the nose down to the lip",
    },
    "lower_lip_lower": {
        "assisted": "Fingers gently press the jaw skin down",
        "resisted": "Fingers press from the jaw up toward the lip",
    },
}


def split_variant_key(key: str) -> tuple[str, str]:
    movement_id, _, variant = key.partition("/")
    return movement_id, variant or FREE


def variant_label(key: str) -> str:
    """``Raise the eyebrows`` or ``Raise the eyebrows (resisted)``."""
    movement_id, variant = split_variant_key(key)
    name = CATALOGUE[movement_id].name
    return name if variant == FREE else f"{name} ({variant})"


def variant_keys(keys) -> list[str]:
    """The keys present, in catalogue order, each movement's free form before its variants."""
    present = set(keys)
    return [variant_key(m, v) for m in MOVEMENT_IDS for v in VARIANTS if variant_key(m, v) in present]


def get_movement(movement_id: str) -> Movement:
    try:
        return CATALOGUE[movement_id]
    except KeyError:
        raise FacetrackError(f"unknown movement {movement_id!r}; known: {', '.join(MOVEMENT_IDS)}") from None


# Region signals for synkinesis: how much each region moves, whatever the exercise.
# (name, change function (xyz, neutral, side) -> face units >= 0 when moving, nominal
# voluntary range in % of the interocular distance when the person's own is not known)
def _eye_closing(xyz, neutral, side):
    return M.eye_aperture(neutral, side) - M.eye_aperture(xyz, side)


def _brow_moving(xyz, neutral, side):
    return np.abs(M.brow_height(xyz, side) - M.brow_height(neutral, side))


def _nose_moving(xyz, neutral, side):
    return np.abs(M.alar_width(xyz, side) - M.alar_width(neutral, side))


REGION_SIGNALS = {
    "brow": (_brow_moving, 15.0),
    "eye": (_eye_closing, None),  # None: the range is the person's own open aperture
    "nose": (_nose_moving, 8.0),
    "mouth": (M.corner_displacement, 20.0),
}
