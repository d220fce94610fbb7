"""``facetrack analyze``: one movement video -> repetitions, per-side amplitude, symmetry."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from facetrack.analysis.meter import Analysis
from facetrack.analysis.offline import run_analysis
from facetrack.analysis.rows import rep_row
from facetrack.capture.source import FrameSource
from facetrack.capture.video import VideoFile
from facetrack.errors import EXIT_FAILURE, FacetrackError
from facetrack.face import landmarks as L
from facetrack.live.overlay import OverlayState, annotate
from facetrack.reporting.csvfile import CsvWriter
from facetrack.tables import REP_SCHEMA


def summary_lines(a: Analysis) -> list[str]:
    n = a.neutral
    lines = [
        f"{a.movement.name} ({a.movement.id}): {len(a.reps)} repetition(s); usable frames "
        f"{a.tracked_pct:.0f}%; scale {n.mm_per_unit * n.iod:.1f} mm between eye centres ({n.scale_source})"
    ]
    for r in a.reps:
        s = r.symmetry
        sym = "no movement" if s.status == "no movement" else f"symmetry {s.symmetry_pct:.0f}%, weaker: {s.weaker_side}"
        aff = "" if math.isnan(s.affected_pct) else f", affected side {s.affected_pct:.0f}% of the other"
        lines.append(
            f"  rep {r.rep} {r.t_start_s:5.2f}-{r.t_end_s:5.2f} s: left {a.mm(r.amplitude['left']):.1f} mm, "
            f"right {a.mm(r.amplitude['right']):.1f} mm, {sym}{aff}"
        )
    for peak_s, turn in a.left_out:
        lines.append(
            f"  left out: a movement peaking at {peak_s:.2f} s, during which the head turned "
            f"{turn:.0f} deg from its neutral pose (keep the head still to measure it)"
        )
    rest = n.resting_asymmetry_mm()
    lines.append(
        "  at rest (left minus right): brow {brow_height_diff_mm:+.1f} mm, eye opening "
        "{palpebral_fissure_diff_mm:+.1f} mm, mouth corner height {mouth_corner_height_diff_mm:+.1f} mm".format(**rest)
    )
    return lines


def write_overlay(a: Analysis, video: str, mirrored: bool, points: list, out: Path) -> Path:
    """Replays the video with the analysis drawn on it (second decode pass, no landmarking)."""
    peak = max([max(r.amplitude.values()) for r in a.reps] or [1e-9])
    source = FrameSource(video, mirrored=mirrored)
    writer = VideoFile(out, fps=source.fps)  # the video's own rate: it plays at the real speed
    try:
        for i, frame in enumerate(source):
            if i >= len(a.series.t):
                break
            t = a.series.t[i]
            done = [r for r in a.reps if r.t_end_s <= t]
            state = OverlayState(
                title=a.movement.name,
                subtitle=a.movement.instruction,
                side_label="PATIENT",
                mirrored=False,
                points_xy=points[i] if i < len(points) else None,
            )
            for side in L.SIDES:
                v = a.smoothed[side][i]
                if np.isfinite(v):
                    state.bars[side] = v / peak
                    state.bar_text[side] = f"{a.mm(v):+.1f} mm"
            state.rep_text = f"rep {len(done)}/{len(a.reps)}"
            if done and not math.isnan(done[-1].symmetry.symmetry_pct):
                state.symmetry_text = (
                    f"last rep: symmetry {done[-1].symmetry.symmetry_pct:.0f}%, weaker {done[-1].symmetry.weaker_side}"
                )
            if not a.series.usable[i]:
                state.warnings.append("frame not usable (face lost, turned or cut off)")
            writer.write(annotate(frame.image_bgr, state), frame.timestamp_s)
    finally:
        writer.close()
    return out


def _check_out(path: Path | None, what: str) -> None:
    if path is not None and not Path(path).parent.exists():
        raise FacetrackError(f"{what} directory does not exist: {Path(path).parent}")


def run(args) -> int:
    for p, what in ((args.csv, "--csv"), (args.overlay, "--overlay"), (args.plot, "--plot")):
        _check_out(p, what)
    a, points, _ = run_analysis(
        args.video,
        args.movement,
        args.affected,
        args.mirrored,
        args.model,
        args.rest_s,
        keep_points=args.overlay is not None,
        variant=args.variant,
    )
    print("\n".join(summary_lines(a)))
    if args.csv:
        w = CsvWriter(args.csv, REP_SCHEMA)
        for r in a.reps:
            w.write(rep_row(a.movement.id, a.neutral, r, args.variant))
        print(f"repetitions: {w.close()}")
    if args.plot:
        from facetrack.reporting.plots import movement_plot

        print(f"plot: {movement_plot(a, args.plot)}")
    if args.overlay:
        print(f"overlay video: {write_overlay(a, args.video, args.mirrored, points, args.overlay)}")
    if not a.reps:
        turned = f" ({len(a.left_out)} movement(s) left out: the head turned during them)" if a.left_out else ""
        raise FacetrackError(
            f"no repetition of {a.movement.id} found: neither side moved more than "
            f"{a.mm(a.threshold):.1f} mm from the neutral face{turned}",
            EXIT_FAILURE,
        )
    return 0
