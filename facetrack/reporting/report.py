"""``facetrack report``: a self-contained HTML report and the same plots as PNG.

Read once, then draw: :func:`read_report` takes everything the report shows out of the store
into a :class:`ReportData`; ``trend_data`` and ``amplitude_history`` turn it into plain
numbers, and :func:`write_report` and the ``plot_*`` functions draw those, never touching
the store.  Every file written is the owner's only (0600 in a 0700 folder): it is health data.
"""

from __future__ import annotations

import base64
import html
import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np

from facetrack import __version__
from facetrack.analysis.sunnybrook import estimate
from facetrack.errors import FacetrackError
from facetrack.face import emotrics
from facetrack.face.movements import variant_keys, variant_label
from facetrack.reporting.plots import SIDE_STYLE, plt
from facetrack.reporting.trend import MIN_SESSIONS, MIN_SPAN_DAYS, NOT_ENOUGH, Trend, enough_for_trend, linear_trend
from facetrack.storage.history import counted_reps, median_symmetry, rep_key
from facetrack.storage.store import Store, clean_name

OTHER = {"left": "right", "right": "left"}
TREND_RULE = f"a trend needs {MIN_SESSIONS} sessions of a movement over at least {MIN_SPAN_DAYS} days"


def _days(iso: str, first: str) -> float:
    return (datetime.fromisoformat(iso) - datetime.fromisoformat(first)).total_seconds() / 86400


def _when(iso: str) -> datetime:
    """A session's start as the wall-clock time it was stored with: plots show the date the
    patient lived, whatever the zone of the machine drawing them."""
    return datetime.fromisoformat(iso).replace(tzinfo=None)


@dataclass(frozen=True)
class SessionData:
    """One session as the report shows it: its row, counted repetitions, and (for the
    sessions shown in detail) its frames."""

    session: dict
    reps: list[dict]
    frames: list[dict] | None = None
    # the sessions shown in detail: Emotrics-grade measures of the neutral face, side ->
    # measure -> value (face.emotrics.measures_mm); None before calibration
    rest: dict[str, dict[str, float]] | None = None


@dataclass(frozen=True)
class ReportData:
    patient: str
    sessions: list[dict]  # every session of the patient, in time order
    with_reps: list[SessionData]  # those with repetitions of the trend's method: the trends
    chosen: list[SessionData]  # shown in detail
    estimator_version: str | None = None  # the method the trends show
    older_method_sessions: int = 0  # sessions left out of the trends: measured another way


def _version_order(version: str) -> tuple:
    """Sorts estimator versions oldest first: none recorded (""), then by number, so that
    "10" is newer than "9" (as text it would sort before it)."""
    return (version != "", int(version) if version.isdigit() else -1, version)


def read_report(store: Store, patient: str | None, session_id: int | None = None) -> ReportData:
    """Everything a report shows, read from the store in one pass."""
    all_sessions = [dict(s) for s in store.sessions(clean_name(patient) if patient else None)]
    if not all_sessions:
        raise FacetrackError("no sessions to report" + (f" for {patient}" if patient else ""))
    names = {s["patient"] for s in all_sessions}
    if len(names) > 1:
        raise FacetrackError(f"the database holds {len(names)} patients; choose one with --patient")
    name = names.pop()
    if session_id is not None:
        chosen = [s for s in all_sessions if s["id"] == session_id]
        if not chosen:
            raise FacetrackError(f"no session {session_id} for {name}")
    else:  # the latest session with repetitions (--last says the same explicitly)
        with_any = [s for s in all_sessions if s["n_reps"]]
        chosen = [with_any[-1] if with_any else all_sessions[-1]]
    reps = {s["id"]: counted_reps(store, s["id"]) for s in all_sessions}
    # A trend draws one line through one method's numbers: the newest method the patient's
    # sessions were measured with; sessions measured otherwise are counted and said.
    versions = {r["estimator_version"] or "" for rs in reps.values() for r in rs}
    newest = max(versions, key=_version_order, default=None)
    same = {sid: [r for r in rs if (r["estimator_version"] or "") == newest] for sid, rs in reps.items()}
    older = sum(1 for sid, rs in reps.items() if rs and not same[sid])
    return ReportData(
        name,
        all_sessions,
        [SessionData(s, same[s["id"]]) for s in all_sessions if same[s["id"]]],
        [SessionData(s, reps[s["id"]], store.frames(s["id"]), rest_measures(store, s["id"])) for s in chosen],
        newest or None,
        older,
    )


def rest_measures(store: Store, session_id: int) -> dict[str, dict[str, float]] | None:
    """The session's neutral face measured as Emotrics measures a photograph at rest; None
    before calibration or where nothing could be measured on it (no iris)."""
    stored = store.neutral_xyz(session_id)
    if stored is None:
        return None
    values = emotrics.measures_mm(*stored)
    return values if any(math.isfinite(v) for side in values.values() for v in side.values()) else None


def trend_data(sessions: list[SessionData]) -> dict:
    """Per movement: session times, symmetry, change since the first, and the linear trend
    (:class:`~facetrack.reporting.trend.Trend`, points per week with its 95% interval), or
    ``None`` while the movement has too few sessions, or too short a span, to carry one."""
    out = {}
    first = sessions[0].session["started_at"]
    per = [(d.session["started_at"], median_symmetry(d.reps)) for d in sessions]
    for m in variant_keys(k for _, sym in per for k in sym):
        pts = [(iso, sym[m]) for iso, sym in per if m in sym and not math.isnan(sym[m])]
        if not pts:
            continue
        d = np.array([_days(iso, first) for iso, _ in pts])
        y = np.array([v for _, v in pts])
        when = [_when(iso) for iso, _ in pts]
        # calendar days, not elapsed: weekly sessions at 10:00 and 9:00 are a week apart
        span = (when[-1].date() - when[0].date()).days
        out[m] = {
            "days": d,
            "when": when,
            "symmetry": y,
            "trend": linear_trend(d, y) if enough_for_trend(len(pts), span) else None,
            "change": float(y[-1] - y[0]),
        }
    return out


def _median_mm(values) -> float:
    """Median of the stored amplitudes; NaN where none was measured (a covered side)."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(vals)) if vals else math.nan


def amplitude_history(sessions: list[SessionData], affected: str | None) -> dict:
    """Per movement: median amplitude of the affected (or weaker-on-average) side and the other."""
    out = {}
    for m in variant_keys(rep_key(r) for d in sessions for r in d.reps):
        rows, when = [], []
        for d in sessions:
            rs = [r for r in d.reps if rep_key(r) == m]
            if rs:
                when.append(_when(d.session["started_at"]))
                rows.append(
                    (
                        _median_mm(r["left_amplitude_mm"] for r in rs),
                        _median_mm(r["right_amplitude_mm"] for r in rs),
                    )
                )
        if rows:
            a = np.array(rows, float)
            seen = np.isfinite(a).any(axis=0)
            if affected or not seen.all():  # a side never measured (covered by fingers) is not "the weaker"
                side = affected or "left"
            else:
                side = "left" if np.nanmean(a[:, 0]) < np.nanmean(a[:, 1]) else "right"
            out[m] = {
                "when": when,
                "affected": a[:, 0 if side == "left" else 1],
                "other": a[:, 1 if side == "left" else 0],
                "side": side,
                "affected_known": bool(affected) or bool(seen.all()),
            }
    return out


# -- drawing ------------------------------------------------------------------------
def _private(path: Path) -> Path:
    os.chmod(path, 0o600)
    return path


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return _private(path)


def _grid(n: int, width: float = 4.2, height: float = 2.9):
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def plot_session_movements(data: SessionData, path: Path) -> Path | None:
    session, frames, reps = data.session, data.frames or [], data.reps
    movements = list(dict.fromkeys(rep_key(r) for r in reps))
    if not movements:
        return None
    fig, axes = _grid(len(movements))
    for ax, m in zip(axes, movements):
        steps = {r["step"] for r in reps if rep_key(r) == m}  # a variant's frames: those of its steps
        fs = [f for f in frames if f["step"] in steps and f["phase"] in ("move", "rest", "import", "instruct")]
        t = np.array([f["t_s"] for f in fs])
        t0 = t.min() if t.size else 0.0
        for side, style in SIDE_STYLE.items():
            y = np.array([np.nan if f[f"{side}_mm"] is None else f[f"{side}_mm"] for f in fs])
            ax.plot(t - t0, y, linewidth=1.6, **style)
        for r in (r for r in reps if rep_key(r) == m):
            ax.axvspan(r["t_start_s"] - t0, r["t_end_s"] - t0, color="#F0E442", alpha=0.3, zorder=0)
            ax.text(
                (r["t_peak_s"] or 0) - t0,
                0.95,
                _rep_label(r),
                ha="center",
                va="top",
                transform=ax.get_xaxis_transform(),
                fontsize=9,
            )
        ax.axhline(0, color="0.6", linewidth=0.8)
        ax.set_title(variant_label(m), fontsize=11)
        ax.set_xlabel("time (s)", fontsize=9)
        ax.set_ylabel("change (mm)", fontsize=9)
        ax.grid(alpha=0.3)
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.3 * (hi - lo))  # headroom: the symmetry labels above the curves
    # one legend for all panels, below them, where it hides no curve or label
    fig.legend(
        *axes[0].get_legend_handles_labels(),
        loc="lower center",
        ncol=2,
        fontsize=9,
        frameon=False,
        bbox_to_anchor=(0.5, -0.06),
    )
    fig.suptitle(
        f"Session {session['id']} ({session['started_at'][:10]}): each movement, per side, "
        "repetitions shaded with their symmetry",
        fontsize=12,
        wrap=True,
    )
    return _save(fig, path)


def _rep_label(r: dict) -> str:
    """What a repetition's shading is labelled with: its symmetry, or why it has none."""
    if r["symmetry_pct"] is not None:
        return f"{r['symmetry_pct']:.0f}%"
    if r["status"] == "one side covered":
        hidden = "right" if r["right_amplitude_mm"] is None else "left"
        return f"{hidden} covered"
    return "covered" if r["status"] == "covered" else "--"


def plot_session_bars(data: SessionData, path: Path) -> Path | None:
    session, reps = data.session, data.reps
    movements = list(dict.fromkeys(rep_key(r) for r in reps))
    if not movements:
        return None
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.6), gridspec_kw={"width_ratios": [3, 3, 1.4]})
    x = np.arange(len(movements))
    for k, m in enumerate(movements):
        syms = [r["symmetry_pct"] for r in reps if rep_key(r) == m and r["symmetry_pct"] is not None]
        ax1.scatter([k] * len(syms), syms, color="0.2", s=28, zorder=3)
        if syms:
            ax1.bar(k, np.median(syms), color="#009E73", alpha=0.55)
    ax1.set_xticks(x, [variant_label(m) for m in movements], rotation=35, ha="right", fontsize=9)
    ax1.set_ylim(0, 105)
    ax1.set_ylabel("symmetry (%)")
    ax1.set_title("Symmetry of each repetition (bar: median)")
    for off, side in ((-0.2, "left"), (0.2, "right")):
        vals = [np.nanmax([r[f"{side}_synkinesis_pct"] or 0 for r in reps if rep_key(r) == m]) for m in movements]
        st = SIDE_STYLE[side]
        ax2.bar(
            x + off,
            vals,
            width=0.4,
            color=st["color"],
            label=st["label"],
            hatch="" if side == "left" else "//",
            edgecolor="white",
        )
    ax2.set_xticks(x, [variant_label(m) for m in movements], rotation=35, ha="right", fontsize=9)
    ax2.set_ylabel("% of that region's range")
    ax2.set_title("Synkinesis per side (largest)")
    ax2.legend(fontsize=9)
    rest = [session["rest_brow_diff_mm"], session["rest_fissure_diff_mm"], session["rest_mouth_diff_mm"]]
    ax3.barh([0, 1, 2], [0 if v is None else v for v in rest], color="#56B4E9")
    ax3.axvspan(-1.5, 1.5, color="0.9", zorder=0)
    ax3.set_yticks([0, 1, 2], ["brow height", "eye opening", "mouth corner"])
    ax3.axvline(0, color="0.3")
    lim = max(3.0, *(abs(v or 0) for v in rest))
    ax3.set_xlim(-lim, lim)
    ax3.set_xlabel("left minus right (mm)")
    ax3.set_title("At rest")
    for a in (ax1, ax2):
        a.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _date_axis(ax, fontsize: float | None = 9) -> None:
    """Sessions on the calendar: dates on the time axis, few enough not to overlap.  Every
    day tick names its month ("08 Mar"): matplotlib's concise default writes "08" and puts
    the month of the last tick beside the axis, which reads as the wrong month."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(  # each list: ticks a year apart, a month, a day, hours, minutes, seconds
            locator,
            formats=["%Y", "%b", "%d %b", "%H:%M", "%H:%M", "%S.%f"],
            zero_formats=["", "%Y", "%d %b", "%d %b", "%H:%M", "%H:%M"],
            offset_formats=["", "%Y", "%Y", "%d %b %Y", "%d %b %Y", "%d %b %Y %H:%M"],
        )
    )
    ax.set_xlabel("date of session", fontsize=fontsize)


def trend_text(trend: Trend | None, unit: str = "", sep: str = " ") -> str:
    """What the report says of a trend: its slope and 95% interval, or that there is none yet."""
    if trend is None:
        return NOT_ENOUGH
    return f"{trend.per_week:+.1f}{unit}{sep}(95% CI {trend.low:+.1f} to {trend.high:+.1f})"


def plot_trends(trends: dict, path: Path, patient: str) -> Path | None:
    if not trends:
        return None
    fig, axes = _grid(len(trends), 4.2, 3.1)
    for ax, (m, d) in zip(axes, trends.items()):
        ax.plot(d["when"], d["symmetry"], "o-", color="#009E73", linewidth=2, markersize=6, label="session")
        trend = d["trend"]
        if trend is None:  # said where the trend's label would stand
            ax.plot([], [], " ", label=NOT_ENOUGH)
        else:
            days = np.linspace(d["days"][0], d["days"][-1], 50)
            when = [d["when"][0] + timedelta(days=float(x - d["days"][0])) for x in days]
            # symmetry cannot pass 100% (or fall below 0): the line stops there, not the data
            ax.plot(
                when,
                np.clip(trend.at(days), 0, 100),
                "--",
                color="0.25",
                label="trend " + trend_text(trend, " pts/week", "\n"),
            )
        ax.set_ylim(0, 105)
        ax.set_title(f"{variant_label(m)}: {d['change']:+.0f} pts since first", fontsize=11)
        _date_axis(ax)
        ax.set_ylabel("symmetry (%)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(
        f"{patient}: symmetry of each movement over time (100% = both sides move equally)", fontsize=12, wrap=True
    )
    return _save(fig, path)


def plot_amplitudes(amps: dict, path: Path) -> Path | None:
    if not amps:
        return None
    fig, axes = _grid(len(amps), 4.2, 3.1)
    for ax, (m, d) in zip(axes, amps.items()):
        st_a, st_o = SIDE_STYLE[d["side"]], SIDE_STYLE[OTHER[d["side"]]]
        ax.plot(
            d["when"],
            d["affected"],
            marker="o",
            color=st_a["color"],
            linestyle=st_a["linestyle"],
            label=f"{st_a['label']} (affected)" if d.get("affected_known", True) else st_a["label"],
        )
        ax.plot(
            d["when"], d["other"], marker="s", color=st_o["color"], linestyle=st_o["linestyle"], label=st_o["label"]
        )
        ax.set_title(variant_label(m), fontsize=11)
        _date_axis(ax)
        ax.set_ylabel("amplitude (mm)", fontsize=9)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Affected side's movement against the other side's", fontsize=12, wrap=True)
    return _save(fig, path)


def plot_rest_trend(sessions, path: Path) -> Path:
    when = mdates.date2num([_when(s["started_at"]) for s in sessions])
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for key, label, style in (
        ("rest_brow_diff_mm", "brow height", "o-"),
        ("rest_fissure_diff_mm", "eye opening", "s--"),
        ("rest_mouth_diff_mm", "mouth corner height", "^:"),
    ):
        ax.plot(when, [s[key] if s[key] is not None else np.nan for s in sessions], style, label=label, linewidth=2)
    ax.axhspan(-1.5, 1.5, color="0.92", zorder=0)
    ax.axhline(0, color="0.4")
    _date_axis(ax, fontsize=None)
    ax.set_ylabel("left minus right (mm)")
    ax.set_title("Resting asymmetry over time (grey: within 1.5 mm)")
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    return _save(fig, path)


# -- the HTML page ------------------------------------------------------------------
def _img(path: Path | None, alt: str) -> str:
    if path is None:
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(alt)
    return f'<figure><img alt="{alt}" src="data:image/png;base64,{data}"><figcaption>{alt}</figcaption></figure>'


def _fmt(v, unit="") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{(0.0 if round(v, 1) == 0 else v):.1f}{unit}"  # no "-0.0"


# (row name, Emotrics measure) of the resting face, per side (face.emotrics); mm unless the
# name ends in DEG
DEG = ", deg"
REST_ROWS = (
    ("Brow height at rest (BH)", "brow_height"),
    ("Upper lid to iris centre at rest (MRD1)", "mrd1"),
    ("Lower lid to iris centre at rest (MRD2)", "mrd2"),
    ("Commissure excursion at rest (CE)", "commissure_excursion"),
    ("Smile angle at rest (SA)" + DEG, "smile_angle"),
)


def clinical_measures(session, reps, rest=None) -> list[tuple[str, float | None, float | None, float | None]]:
    """The clinical summary of one session, per side: (measure, patient's left, patient's
    right, left - right), mm unless the name says deg, None where not measured.  At rest:
    Emotrics' measures of the neutral face (``rest``: :func:`rest_measures`; without it only
    the stored left - right differences of the brow and the mouth corner), and the palpebral
    fissure (mean of three lid pairs, face.measures.eye_aperture); the lagophthalmos gap is
    the resting fissure minus the median tight-closure amplitude (floored at 0); brow raise
    and commissure excursion are the medians of the session's counted repetitions."""

    def med(m, key):
        vals = [r[key] for r in reps if rep_key(r) == m and r[key] is not None]
        return float(np.median(vals)) if vals else None

    def diff(a, b):
        return None if a is None or b is None else a - b

    def finite(v):
        return float(v) if v is not None and math.isfinite(v) else None

    out: list[tuple[str, float | None, float | None, float | None]] = []
    if rest is not None:
        for name, key in REST_ROWS:
            lo, ro = finite(rest["left"][key]), finite(rest["right"][key])
            out.append((name, lo, ro, diff(lo, ro)))
    else:
        out.append(("Brow height at rest", None, None, session["rest_brow_diff_mm"]))
    out.append(
        (
            "Palpebral fissure at rest",
            session["rest_fissure_left_mm"],
            session["rest_fissure_right_mm"],
            session["rest_fissure_diff_mm"],
        )
    )
    if rest is None:
        out.append(("Mouth-corner height at rest", None, None, session["rest_mouth_diff_mm"]))
    gap = {}
    for side in ("left", "right"):
        closure = med("eye_close_tight", f"{side}_amplitude_mm")
        open_mm = session[f"rest_fissure_{side}_mm"]
        gap[side] = None if closure is None or open_mm is None else max(open_mm - closure, 0.0)
    out.append(("Lagophthalmos gap at tight closure", gap["left"], gap["right"], diff(gap["left"], gap["right"])))
    for name, m in (("Brow raise", "brow_raise"), ('Commissure excursion (smile "i")', "lip_spread_i")):
        lo, ro = med(m, "left_amplitude_mm"), med(m, "right_amplitude_mm")
        out.append((name, lo, ro, diff(lo, ro)))
    return out


def clinical_rows(session, reps, rest=None) -> list[tuple[str, str]]:
    """:func:`clinical_measures` as the HTML page's (measure, value) text pairs: each side
    where it was measured, the left - right difference where only that is known."""
    rows = []
    for name, lo, ro, d in clinical_measures(session, reps, rest):
        base, unit = (name.removesuffix(DEG), " deg") if name.endswith(DEG) else (name, " mm")
        if lo is None and ro is None:
            rows.append((f"{base}, left − right", _fmt(d, unit)))
        else:
            rows += [(f"{base}, left", _fmt(lo, unit)), (f"{base}, right", _fmt(ro, unit))]
    return rows


def clinical_table(session, reps, rest=None) -> tuple[str, float | None]:
    rows = clinical_rows(session, reps, rest)
    composite, items = estimate(dict(session), reps)
    table = "".join(f"<tr><td>{html.escape(a)}</td><td class=num>{html.escape(b)}</td></tr>" for a, b in rows)
    sb = "".join(
        f"<tr><td>{i.part}</td><td>{html.escape(i.item)}</td>"
        f"<td class=num>{_fmt(i.score) if not math.isnan(i.score) else '–'}</td>"
        f"<td>{html.escape(i.derived_from)}</td></tr>"
        for i in items
    )
    comp = (
        "not computed (not all five standard expressions were exercised)"
        if composite is None
        else f"{composite:.0f} / 100"
    )
    return (
        f"<table>{table}</table><h3>Sunnybrook composite, estimated from video: <span id=sunnybrook>{comp}</span></h3>"
        "<p class=warn>An automatic estimate from video measures, not a clinical grading or a diagnosis. "
        "How each item was derived:</p>"
        f"<table><tr><th>part</th><th>item</th><th>score</th><th>derived from</th></tr>{sb}</table>"
    ), composite


CSS = """body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em;color:#222}
img{max-width:100%}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:3px 8px}
.num{text-align:right}.warn{color:#8a4b00}figure{margin:1em 0}figcaption{font-size:.9em;color:#555}"""


def build_report(store: Store, out: Path, patient: str | None, session_id: int | None = None) -> Path:
    """Read the report's data from ``store`` and write it into ``out`` (the HTML page with its
    plots, and report.pdf beside it); returns the page."""
    from facetrack.reporting.pdf import write_pdf  # pdf draws from this module's data

    data = read_report(store, patient, session_id)
    page = write_report(data, out)
    write_pdf(data, out / "report.pdf")
    return page


def write_report(data: ReportData, out: Path) -> Path:
    """The HTML page and its PNG plots, from data already read."""
    out.mkdir(parents=True, exist_ok=True, mode=0o700)  # a folder the user named is left as it is
    name, all_sessions, with_reps = data.patient, data.sessions, data.with_reps
    parts = [
        f"<h1>facetrack report: {html.escape(name)}</h1>",
        f"<p>{len(all_sessions)} sessions from {all_sessions[0]['started_at'][:10]} to "
        f"{all_sessions[-1]['started_at'][:10]}. Left and right are the patient's own sides. "
        f"Generated {datetime.now().astimezone().isoformat(timespec='seconds')} by facetrack {__version__}.</p>",
    ]
    if data.older_method_sessions:
        parts.append(
            f"<p class=warn>{data.older_method_sessions} earlier session(s) were measured with an older "
            "version of the measuring method and are not in the trends (re-import their videos to "
            "include them).</p>"
        )
    if len(with_reps) < 2:
        parts.append(f"<h2>Recovery over time</h2><p id=trend>{NOT_ENOUGH} ({TREND_RULE}).</p>")
    else:
        trends = trend_data(with_reps)
        parts.append("<h2>Recovery over time</h2>")
        parts.append(
            _img(
                plot_trends(trends, out / "trend_symmetry.png", name),
                "Symmetry of each movement per session, with its linear trend where there are enough sessions",
            )
        )
        rows = "".join(
            f"<tr><td>{variant_label(m)}</td><td class=num>{d['symmetry'][0]:.0f}%</td>"
            f"<td class=num>{d['symmetry'][-1]:.0f}%</td><td class=num data-movement='{m}'>{d['change']:+.0f}</td>"
            f"<td class=num data-trend='{m}'>{trend_text(d['trend'])}</td></tr>"
            for m, d in trends.items()
        )
        parts.append(
            "<table><tr><th>movement</th><th>first</th><th>latest</th><th>change (points)</th>"
            f"<th>trend (points/week)</th></tr>{rows}</table>"
            "<p>Trend: the least-squares line through the sessions, in points per week, with its 95% "
            f"confidence interval; {TREND_RULE}.</p>"
        )
        parts.append(
            _img(
                plot_amplitudes(
                    amplitude_history(with_reps, with_reps[-1].session["affected_side"]), out / "trend_amplitude.png"
                ),
                "Affected side against the other, per movement",
            )
        )
        parts.append(
            _img(plot_rest_trend([d.session for d in with_reps], out / "trend_rest.png"), "Resting asymmetry over time")
        )
    for d in data.chosen:
        s, reps = d.session, d.reps
        parts.append(f"<h2>Session {s['id']}: {s['started_at']} ({s['status']}, {s['kind']})</h2>")
        table, _ = clinical_table(s, reps, d.rest)
        parts.append("<h3>Clinical summary</h3>" + table)
        parts.append(
            _img(
                plot_session_movements(d, out / f"session{s['id']}_movements.png"),
                "Each movement over time, per side, repetitions shaded",
            )
        )
        parts.append(
            _img(
                plot_session_bars(d, out / f"session{s['id']}_symmetry.png"),
                "Symmetry per repetition, synkinesis per side, resting asymmetry",
            )
        )
        rows = "".join(
            f"<tr><td>{variant_label(rep_key(r))}</td><td class=num>{int(r['rep'])}</td>"
            f"<td class=num>{_fmt(r['left_amplitude_mm'])}</td><td class=num>{_fmt(r['right_amplitude_mm'])}</td>"
            f"<td class=num>{_fmt(r['symmetry_pct'])}</td><td>{r['weaker_side']}</td></tr>"
            for r in reps
        )
        parts.append(
            "<table class=reps><tr><th>movement</th><th>rep</th><th>left (mm)</th><th>right (mm)</th>"
            f"<th>symmetry (%)</th><th>weaker</th></tr>{rows}</table>"
        )
    page = out / "report.html"
    old = os.umask(0o077)
    try:
        page.write_text(
            f"<!doctype html><html lang=en><meta charset=utf-8><title>facetrack report</title>"
            f"<style>{CSS}</style><body>{''.join(parts)}</body></html>",
            encoding="utf-8",
        )
    finally:
        os.umask(old)
    return _private(page)
