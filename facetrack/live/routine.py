"""Exercise routines: which movements, how many repetitions, hold and rest times.

A routine file is TOML::

    name = "mornings"
    [[movement]]
    id = "brow_raise"
    reps = 5          # 1..30
    hold_s = 2.0      # 0.5..15
    rest_s = 2.0      # 0.5..30

    [[movement]]
    id = "brow_raise"
    variant = "resisted"  # hands-on (face.movements.HANDS_ON): "assisted" or "resisted";
                          # default "free".  The step says where the fingers go, measures the
                          # landmarks they leave uncovered and counts repetitions by time.

    [[movement]]
    id = "massage"    # the facial massage the programme puts before training: timed, guided,
    duration_s = 60   # not measured (10..600 s)

Only movements from the catalogue (and ``massage``) are accepted; anything else is a one-line
error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from facetrack.errors import FacetrackError
from facetrack.face.movements import CATALOGUE, FREE, HANDS_ON, MOVEMENT_IDS, variant_key, variant_label

LIMITS = {"reps": (1, 30), "hold_s": (0.5, 15.0), "rest_s": (0.5, 30.0), "duration_s": (10.0, 600.0)}
DEFAULTS = {"reps": 3, "hold_s": 2.0, "rest_s": 2.0, "duration_s": 60.0}
# The programme's first item (shared/docs/exercises.md): "Daily massage or stretching of facial
# muscles ... every exercise before functional training".  Guided by time, never measured: the
# hands are on the face.
MASSAGE = "massage"
MASSAGE_NAME = "Facial massage"
# What the patient is told to massage, in order, each for an equal share of the step.
MASSAGE_PARTS = (  # (part, what to do): each line fits the window's width at 640 px
    ("forehead", "fingertips: stroke up from the brows to the hairline"),
    ("eyes", "small circles around the eyes; no pressure on them"),
    ("cheeks", "circles on the cheeks, from the nose toward the ears"),
    ("mouth and chin", "stroke from the lips out and up, then the chin"),
)


@dataclass(frozen=True)
class Step:
    movement: str  # a catalogue movement id, or MASSAGE
    reps: int = 3
    hold_s: float = 2.0
    rest_s: float = 2.0
    duration_s: float = 60.0  # MASSAGE only: how long it lasts
    variant: str = FREE  # face.movements.VARIANTS: fingers helping or resisting

    @property
    def measured(self) -> bool:
        return self.movement != MASSAGE

    @property
    def hands_on(self) -> bool:
        return self.variant != FREE

    @property
    def fingers(self) -> str:
        """Where the fingers go (hands-on steps; empty for a free one)."""
        return HANDS_ON[self.movement][self.variant] if self.hands_on else ""

    @property
    def name(self) -> str:
        return step_name(self.movement, self.variant)


def step_name(movement: str, variant: str = FREE) -> str:
    """What the patient is shown for a step's movement id (or MASSAGE) and variant."""
    return MASSAGE_NAME if movement == MASSAGE else variant_label(variant_key(movement, variant))


@dataclass(frozen=True)
class Routine:
    name: str
    steps: tuple[Step, ...]


BUILTIN = {
    # The whole programme, in the order it is written: the massage, then forehead, eyes, nose, lips.
    "full": Routine("full", (Step(MASSAGE, duration_s=60.0), *(Step(m) for m in MOVEMENT_IDS))),
    # Every hands-on form the programme gives, in its order, after the massage (2 repetitions).
    "hands-on": Routine(
        "hands-on",
        (
            Step(MASSAGE, duration_s=60.0),
            *(Step(m, reps=2, variant=v) for m in MOVEMENT_IDS for v in HANDS_ON.get(m, {})),
        ),
    ),
    # What the clinical scales grade, recorded the same way each visit: Sunnybrook's five
    # expressions (brow lift, gentle eye closure: here the tight-and-light alternation, snarl,
    # open-mouth smile: the "i" spread, pucker; analysis.sunnybrook.EXPRESSIONS) and what eFACE
    # adds (full closure, lower lip).  The calibration is the rest.  No massage: hands off.
    "clinical": Routine(
        "clinical",
        tuple(
            Step(m, reps=3, hold_s=2.0, rest_s=2.0)
            for m in (
                "brow_raise",
                "eye_close_alternate",
                "eye_close_tight",
                "lip_spread_i",
                "upper_lip_raise",
                "lip_pucker_u",
                "lower_lip_lower",
            )
        ),
    ),
    "quick": Routine(
        "quick",
        tuple(
            Step(m, reps=2, hold_s=1.5, rest_s=1.5)
            for m in ("brow_raise", "eye_close_tight", "lip_spread_i", "lip_pucker_u")
        ),
    ),
}


def _number(item: dict, key: str, where: str) -> float:
    value = item.get(key, DEFAULTS[key])
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FacetrackError(f"{where}: {key} must be a number, not {value!r}")
    lo, hi = LIMITS[key]
    if not lo <= value <= hi:
        raise FacetrackError(f"{where}: {key} = {value} is outside {lo}..{hi}")
    return value


def _variant(item: dict, movement: str, where: str) -> str:
    value = item.get("variant", FREE)
    known = (FREE, *HANDS_ON.get(movement, {}))
    if value not in known:
        raise FacetrackError(
            f"{where}: {movement} has no variant {value!r}; the programme gives it: {', '.join(map(repr, known))}"
        )
    return value


def parse_routine(text: str, name: str) -> Routine:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FacetrackError(f"routine {name} is not valid TOML: {exc}") from None
    items = data.get("movement")
    if not isinstance(items, list) or not items:
        raise FacetrackError(f"routine {name} has no [[movement]] entries")
    if len(items) > 100:
        raise FacetrackError(f"routine {name} has {len(items)} movements; at most 100")
    steps = []
    for k, item in enumerate(items, start=1):
        where = f"routine {name}, movement {k}"
        if not isinstance(item, dict):
            raise FacetrackError(f"{where}: must be a table with an id")
        mid = item.get("id")
        allowed = {"id", "duration_s"} if mid == MASSAGE else {"id", "reps", "hold_s", "rest_s", "variant"}
        unknown = set(item) - allowed
        if unknown:
            raise FacetrackError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        if mid == MASSAGE:
            steps.append(Step(MASSAGE, duration_s=float(_number(item, "duration_s", where))))
            continue
        if mid not in CATALOGUE:
            raise FacetrackError(f"{where}: unknown movement {mid!r}; known: {MASSAGE}, {', '.join(MOVEMENT_IDS)}")
        steps.append(
            Step(
                mid,
                int(_number(item, "reps", where)),
                float(_number(item, "hold_s", where)),
                float(_number(item, "rest_s", where)),
                variant=_variant(item, mid, where),
            )
        )
    label = data.get("name", name)
    return Routine(str(label)[:80] if isinstance(label, str) else name, tuple(steps))


def load_routine(spec: str | None) -> Routine:
    """A built-in routine by name, or a TOML file."""
    if spec is None:
        return BUILTIN["full"]
    if spec in BUILTIN:
        return BUILTIN[spec]
    path = Path(spec)
    if not path.is_file():
        raise FacetrackError(f"no routine named {spec!r} (built-in: {', '.join(BUILTIN)}) and no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FacetrackError(f"cannot read routine {path}: {exc.__class__.__name__}") from None
    return parse_routine(text, path.name)
