"""From per-side measure series to repetitions, amplitudes and symmetry (pure numpy/scipy)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from facetrack.tables import COVERED_BOTH, COVERED_ONE

__all__ = ["COVERED_BOTH", "COVERED_ONE"]

SMOOTH_CUTOFF_HZ = 3.0  # facial exercise movements last >= 0.3 s; jitter is faster
MAX_GAP_S = 0.5  # gaps of untrusted frames up to this long are bridged
NOISE_K = 6.0  # a repetition must stand this many noise SDs above rest
START_END_FRACTION = 0.2  # a repetition starts/ends where it crosses 20% of its peak
HOLD_FRACTION = 0.8  # ... and is "held" while above 80% of its peak
MIN_REP_SPACING_S = 0.6
# Sides moving within 10% of each other are not called weaker: healthy faces differ about
# that much.  Before, only an absolute margin (half the smallest movement counted, about
# 1 mm for the lids) decided it, and a lid closing to 75% of the other was never named
# weaker, its closure being only 7-9% of the eye distance (calibration/VALIDATION.md).
SAME_WITHIN_PCT = 90.0


def fill_gaps(t: np.ndarray, y: np.ndarray, max_gap_s: float = MAX_GAP_S) -> np.ndarray:
    """Linear interpolation over NaN runs no longer than ``max_gap_s``; longer ones stay NaN."""
    y = np.asarray(y, float).copy()
    bad = np.isnan(y)
    if bad.all() or not bad.any():
        return y
    good = ~bad
    filled = np.interp(t, t[good], y[good])
    run_start = None
    for i in range(len(y) + 1):
        if i < len(y) and bad[i]:
            run_start = i if run_start is None else run_start
        elif run_start is not None:
            t0 = t[run_start - 1] if run_start > 0 else -np.inf
            t1 = t[i] if i < len(y) else np.inf
            if t1 - t0 <= max_gap_s + 1e-9:
                y[run_start:i] = filled[run_start:i]
            run_start = None
    return y


def smooth(t: np.ndarray, y: np.ndarray, cutoff_hz: float = SMOOTH_CUTOFF_HZ) -> np.ndarray:
    """Zero-phase low-pass (2nd-order Butterworth, forward and backward) over bridged gaps."""
    y = fill_gaps(t, y)
    if len(t) < 16:
        return y
    fs = (len(t) - 1) / (t[-1] - t[0]) if t[-1] > t[0] else 30.0
    b, a = signal.butter(2, min(cutoff_hz / (fs / 2), 0.99))
    nan = np.isnan(y)
    if nan.all():
        return y
    work = np.where(nan, np.interp(t, t[~nan], y[~nan]), y)
    out = signal.filtfilt(b, a, work, padlen=min(3 * max(len(a), len(b)), len(work) - 1))
    out[nan] = np.nan
    return out


@dataclass(frozen=True)
class Window:
    start: int
    peak: int
    end: int


def find_repetitions(t: np.ndarray, combined: np.ndarray, threshold: float) -> list[Window]:
    """Peaks of the (smoothed, direction-corrected) signal standing ``threshold`` above
    rest, with start/end where the signal crosses 20% of the peak."""
    y = np.nan_to_num(combined, nan=0.0)
    fs = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 30.0
    peaks, _ = signal.find_peaks(
        y, height=threshold, prominence=threshold, distance=max(1, int(MIN_REP_SPACING_S * fs))
    )
    windows: list[Window] = []
    for k, p in enumerate(peaks):
        level = START_END_FRACTION * y[p]
        lo = windows[-1].end if windows else 0
        hi = peaks[k + 1] if k + 1 < len(peaks) else len(y) - 1
        s = p
        while s > lo and y[s - 1] > level:
            s -= 1
        e = p
        while e < hi and y[e + 1] > level:
            e += 1
        windows.append(Window(s, p, e))
    return windows


def hold_seconds(t: np.ndarray, y: np.ndarray, w: Window) -> float:
    seg = np.nan_to_num(y[w.start : w.end + 1])
    above = seg >= HOLD_FRACTION * seg.max() if seg.size else seg
    if not above.any():
        return 0.0
    idx = np.flatnonzero(above)
    return float(t[w.start + idx[-1]] - t[w.start + idx[0]])


@dataclass(frozen=True)
class Symmetry:
    symmetry_pct: float  # 100 * min / max; NaN when there was no movement
    weaker_side: str  # "left", "right" or "none"
    status: str  # "movement" or "no movement"
    affected_pct: float  # affected side as % of the other; NaN if not given


def symmetry(
    left: float, right: float, floor: float, affected: str | None = None, noise: float | None = None
) -> Symmetry:
    """``symmetry_pct = 100 * min(L, R) / max(L, R)``; never 100% for a still face.

    ``floor`` is the smallest amplitude that counts as a movement: below it on both sides the
    repetition is "no movement".  A side is called weaker when it moves less than
    SAME_WITHIN_PCT of the other and the two differ by more than ``noise``, the difference
    rest jitter can make (``floor`` when not measured).
    """
    if math.isnan(left) != math.isnan(right):  # a hands-on step: the fingers hid one side
        return Symmetry(math.nan, "none", COVERED_ONE, math.nan)
    left, right = max(left, 0.0), max(right, 0.0)
    if max(left, right) < floor or math.isnan(left + right):
        return Symmetry(math.nan, "none", "no movement", math.nan)
    pct = 100.0 * min(left, right) / max(left, right)
    same = pct >= SAME_WITHIN_PCT or abs(left - right) < (floor if noise is None else noise)
    weaker = "none" if same else ("left" if left < right else "right")
    aff = math.nan
    if affected in ("left", "right"):
        a, o = (left, right) if affected == "left" else (right, left)
        aff = 100.0 * a / o if o > 0 else math.nan
    return Symmetry(pct, weaker, "movement", aff)
