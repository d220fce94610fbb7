"""The one-page PDF beside the HTML report: what a clinic files or prints.

One A4 page, drawn by matplotlib from the same :class:`~facetrack.reporting.report.ReportData`
the HTML page is drawn from (no second reading of the store): the patient, the affected side,
the sessions' dates, the latest session's per-side measures at rest and in movement, the
Sunnybrook estimate with its sub-scores, and the symmetry of each movement over time with its
trend.  Made to survive a black-and-white printer: the two sides differ in line style and
marker as well as colour, trends are dashed, and no meaning rests on colour alone.
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timedelta
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages

from facetrack import __version__
from facetrack.analysis.sunnybrook import estimate
from facetrack.face.movements import variant_label
from facetrack.reporting.plots import plt
from facetrack.reporting.report import (
    TREND_RULE,
    ReportData,
    _fmt,
    clinical_measures,
    trend_data,
)
from facetrack.reporting.trend import NOT_ENOUGH
from facetrack.storage.history import rep_key

A4_IN = (8.27, 11.69)
# at most this many movements get a trend panel (a routine has 13; the page holds 4 x 3)
MAX_PANELS = 12


def drawable(text: str) -> str:
    """``text`` with the characters the page's font has no glyph for (an emoji in a patient's
    name) as "?": matplotlib would draw an empty box and print a warning to the user.  The PDF's
    metadata and the HTML page keep the name as given."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    charmap = FT2Font(font_manager.findfont(font_manager.FontProperties())).get_charmap()
    return "".join(c if c.isspace() or ord(c) in charmap else "?" for c in text)


def _sessions_line(data: ReportData) -> str:
    s = data.sessions
    first, last = s[0]["started_at"][:10], s[-1]["started_at"][:10]
    return f"{len(s)} session{'s' if len(s) != 1 else ''}, {first}" + (f" to {last}" if last != first else "")


def _sunnybrook_lines(session: dict, reps: list[dict]) -> list[str]:
    composite, items = estimate(dict(session), reps)
    parts: dict[str, float] = {}
    for i in items:
        if not math.isnan(i.score):
            parts[i.part] = parts.get(i.part, 0.0) + i.score
    head = (
        "not computed: not all five standard expressions were exercised"
        if composite is None
        else f"{composite:.0f} / 100"
    )
    lines = [f"Sunnybrook composite (estimate from video): {head}"]
    if parts:
        lines.append("  sums of item scores: " + ", ".join(f"{k} {v:.0f}" for k, v in parts.items()))
    lines.append("  An automatic estimate from video measures, not a clinical grading or a diagnosis.")
    return lines


def _text(fig, x: float, y: float, lines: list[str], size: float = 9.0, **kw) -> None:
    fig.text(x, y, "\n".join(lines), va="top", ha="left", fontsize=size, linespacing=1.45, **kw)


def _movement_rows(reps: list[dict]) -> list[list[str]]:
    """One row per movement (hands-on variants apart) of a session's counted repetitions:
    repetitions, median amplitude per side (mm), median symmetry, and the side named weaker
    most often ("none": no side moved clearly less; "right 1 of 2" where they disagree)."""
    by: dict[str, list[dict]] = {}
    for r in reps:
        by.setdefault(rep_key(r), []).append(r)

    def med(rs, key):
        v = [r[key] for r in rs if r[key] is not None and math.isfinite(r[key])]
        return float(np.median(v)) if v else None

    rows = []
    for m, rs in by.items():
        named = [r["weaker_side"] or "none" for r in rs]
        # the side named most often, a named side before "none" on a tie, and how often when
        # the repetitions disagree (a set's order picked one at random)
        top = min(set(named), key=lambda w: (-named.count(w), w == "none", w))
        n = named.count(top)
        weaker = top if n == len(named) else f"{top} {n} of {len(named)}"
        rows.append(
            [
                variant_label(m),
                str(len(rs)),
                _fmt(med(rs, "left_amplitude_mm")),
                _fmt(med(rs, "right_amplitude_mm")),
                _fmt(med(rs, "symmetry_pct")),
                weaker,
            ]
        )
    return rows


def _table(ax, cells: list[list[str]], labels: list[str], widths: list[float]) -> None:
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=labels, colWidths=widths, bbox=[0.0, 0.0, 1.0, 1.0], cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(8.5)
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor("0.55")
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("0.9")
        if c > 0 and r > 0:
            cell.get_text().set_horizontalalignment("right")
            cell.PAD = 0.05


def _measure_table(ax, measures) -> None:
    cells = [[name, _fmt(lo), _fmt(ro), _fmt(d)] for name, lo, ro, d in measures]
    _table(
        ax,
        cells,
        ["measure (mm; deg where said)", "patient's left", "patient's right", "left − right"],
        [0.49, 0.17, 0.17, 0.17],
    )


def _date_ticks(ax, when: list[datetime]) -> None:
    """Day and month on the ticks, the year(s) in the axis label: matplotlib's concise
    formatter puts the year beside the axis, where on a small panel it lands on the next one."""
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=2, maxticks=4))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    years = sorted({w.year for w in when})
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
    ax.set_xlabel(f"session date, {span}", fontsize=6.5)


def _trend_panel(ax, m: str, d: dict, first_in_row: bool = True) -> None:
    ax.plot(d["when"], d["symmetry"], "o-", color="black", linewidth=1.4, markersize=4)
    trend = d["trend"]
    if trend is not None:
        days = np.linspace(d["days"][0], d["days"][-1], 30)
        when = [d["when"][0] + timedelta(days=float(x - d["days"][0])) for x in days]
        ax.plot(when, np.clip(trend.at(days), 0, 100), "--", color="0.45", linewidth=1.2)
    ax.set_ylim(0, 105)
    # the trend under the name, not over the data, where it hid the line on a small panel
    # compact for a quarter-page-wide panel; the footer says it is points per week, 95% CI
    trend_line = (
        f"{trend.per_week:+.1f}/wk (CI {trend.low:+.1f} to {trend.high:+.1f})" if trend is not None else "no trend yet"
    )
    ax.set_title(f"{variant_label(m)}\n{trend_line}", fontsize=7, pad=3, linespacing=1.3)
    ax.set_yticks([0, 50, 100])
    _date_ticks(ax, d["when"])
    ax.tick_params(labelsize=6.5)
    if first_in_row:  # beside the next panel it ran into that panel's plot
        ax.set_ylabel("symmetry %", fontsize=7)
    ax.grid(alpha=0.35, color="0.6")


def write_pdf(data: ReportData, path: Path) -> Path:
    """One A4 page (see the module's docstring); the file is the owner's only (0600)."""
    fig = plt.figure(figsize=A4_IN)
    left, width = 0.08, 0.84
    affected = next((d.session.get("affected_side") for d in reversed(data.with_reps or data.chosen)), None)
    fig.text(left, 0.965, f"facetrack report: {drawable(data.patient)}", fontsize=15, weight="bold", va="top")
    _text(
        fig,
        left,
        0.935,
        [
            f"Affected side (as entered): {affected or 'not given'}    |    {_sessions_line(data)}",
            f"Generated {datetime.now().astimezone().isoformat(timespec='minutes')} by facetrack {__version__}"
            + (f", measuring method {data.estimator_version}" if data.estimator_version else ""),
        ],
        size=9,
    )
    latest = data.chosen[-1] if data.chosen else None
    if latest is not None:
        s, rows = latest.session, clinical_measures(latest.session, latest.reps, latest.rest)
        when = s["started_at"][:16].replace("T", " ")
        _text(fig, left, 0.885, [f"Session {s['id']}, {when} ({s['status']}): in mm on the iris scale"], size=10)
        table_h = 0.0165 * (len(rows) + 1)
        _measure_table(fig.add_axes((left, 0.865 - table_h, width, table_h)), rows)
        top = 0.850 - table_h
        moves = _movement_rows(latest.reps)
        if moves:
            _text(fig, left, top, ["Each movement in this session (medians over its repetitions)"], size=9.5)
            moves_h = 0.0165 * (len(moves) + 1)
            _table(
                fig.add_axes((left, top - 0.02 - moves_h, width, moves_h)),
                moves,
                ["movement", "reps", "left mm", "right mm", "symmetry %", "weaker"],
                [0.43, 0.08, 0.12, 0.12, 0.13, 0.12],
            )
            top -= 0.035 + moves_h
        _text(fig, left, top, _sunnybrook_lines(s, latest.reps), size=8.5)
        top -= 0.07
    else:
        top = 0.87
    trends = trend_data(data.with_reps) if data.with_reps else {}
    chosen = list(trends)[:MAX_PANELS]
    _text(fig, left, top, ["Symmetry of each movement over time (dashed: trend, where there is one)"], size=10)
    if not chosen:
        _text(fig, left, top - 0.03, [f"{NOT_ENOUGH} ({TREND_RULE})."], size=9)
    # three panels a row, four when there are more than six: the rows must stay tall enough
    # to read under the session's tables
    cols = 3 if len(chosen) <= 6 else 4
    n_rows = math.ceil(len(chosen) / cols)
    bottom = 0.085
    cell_h = min(0.22, (top - 0.03 - bottom) / max(n_rows, 1))
    for k, m in enumerate(chosen):
        r, c = divmod(k, cols)
        y0 = top - 0.03 - (r + 1) * cell_h
        ax = fig.add_axes((left + 0.035 + c * width / cols, y0 + 0.045, width / cols - 0.05, cell_h - 0.085))
        _trend_panel(ax, m, trends[m], first_in_row=c == 0)
    _text(
        fig,
        left,
        0.055,
        [
            "Symmetry: the weaker side's movement as % of the stronger side's (100% = both sides move equally).",
            f"Trend: least-squares line in points per week with its 95% confidence interval; {TREND_RULE}.",
            "facetrack measures; it does not diagnose. Left and right are always the patient's own sides.",
        ],
        size=7,
    )
    old = os.umask(0o077)
    try:
        with PdfPages(path) as pdf:
            pdf.savefig(fig)
            info = pdf.infodict()
            info["Title"] = f"facetrack report: {data.patient}"
            info["Creator"] = f"facetrack {__version__}"
    finally:
        os.umask(old)
        plt.close(fig)
    os.chmod(path, 0o600)
    return path
