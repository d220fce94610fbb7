"""Plots made for people: titles, units, the patient's sides named, colour-blind-safe.

Colours are Okabe & Ito's (2008) palette; the two sides also differ in line style, so the
plot reads in grey print and for every kind of colour vision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from facetrack.analysis.meter import Analysis  # noqa: E402

SIDE_STYLE: dict[str, dict[str, Any]] = {
    "left": dict(color="#0072B2", linestyle="-", label="patient's left"),
    "right": dict(color="#D55E00", linestyle="--", label="patient's right"),
}
plt.rcParams.update({"font.size": 12, "axes.titlesize": 14, "axes.labelsize": 12})


def movement_plot(a: Analysis, out: Path) -> Path:
    """Per-side change from neutral over time, repetitions shaded and labelled."""
    t = a.series.t
    fig, ax = plt.subplots(figsize=(10, 4.8), dpi=110)
    for side, style in SIDE_STYLE.items():
        ax.plot(t, a.mm(1.0) * a.smoothed[side], linewidth=2.2, **style)
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.axvspan(t[0], a.rest_s, color="0.92", zorder=0)
    ax.text(t[0] + 0.05, 0.97, "neutral", transform=ax.get_xaxis_transform(), va="top", color="0.35")
    for r in a.reps:
        ax.axvspan(r.t_start_s, r.t_end_s, color="#F0E442", alpha=0.25, zorder=0)
        sym = r.symmetry.symmetry_pct
        label = f"rep {r.rep}\n" + ("no movement" if np.isnan(sym) else f"{sym:.0f}% sym.")
        if r.symmetry.weaker_side != "none":
            label += f"\n{r.symmetry.weaker_side} weaker"
        ax.text(r.t_peak_s, 0.97, label, transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=10)
    bad = ~a.series.usable
    if bad.any():
        ax.plot(t[bad], np.zeros(bad.sum()), "x", color="0.3", markersize=5, label="frame not usable")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"change from neutral (mm)\n{a.movement.measure_name}", fontsize=10)
    ax.set_title(f"{a.movement.name}: {len(a.reps)} repetitions"
                 + (f", median symmetry {np.nanmedian([r.symmetry.symmetry_pct for r in a.reps]):.0f}%"
                    if a.reps and not all(np.isnan(r.symmetry.symmetry_pct) for r in a.reps) else ""))
    # headroom so the repetition labels sit above the curves, and the legend below the axes
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.45 * (hi - lo))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
