"""Honest trends: a least-squares slope in points per week with its 95% confidence interval,
and only where the sessions can carry one.

Two sessions an hour apart give a line, but the line says nothing of recovery: their
difference is the session-to-session noise divided by almost no time.  So a slope is only
computed from :data:`MIN_SESSIONS` sessions spanning at least :data:`MIN_SPAN_DAYS` calendar
days, and always with its interval, which is wide while the sessions are few.

Pure numpy; the t quantile comes from scipy.stats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_SESSIONS = 3  # fewer leave no degree of freedom for the slope's uncertainty (n - 2)
MIN_SPAN_DAYS = 7  # a week: less is mostly day-to-day noise
NOT_ENOUGH = "not enough sessions for a trend yet"
LEVEL = 0.95


@dataclass(frozen=True)
class Trend:
    """A straight line through a movement's sessions; time in days, values in points."""

    per_week: float  # least-squares slope, points per week
    low: float  # the slope's 95% confidence interval, points per week
    high: float
    intercept: float  # the line's value at day 0

    def at(self, days: np.ndarray) -> np.ndarray:
        """The line's values at ``days``."""
        return self.intercept + self.per_week / 7 * np.asarray(days, float)


def enough_for_trend(n_sessions: int, span_days: int) -> bool:
    """True when a slope may be computed: at least :data:`MIN_SESSIONS` sessions whose first
    and last are at least :data:`MIN_SPAN_DAYS` calendar days apart."""
    return n_sessions >= MIN_SESSIONS and span_days >= MIN_SPAN_DAYS


def linear_trend(days: np.ndarray, values: np.ndarray, level: float = LEVEL) -> Trend:
    """Ordinary least-squares line ``y = a + b x`` through (days, values) and the two-sided
    confidence interval of its slope ``b``, assuming independent normal errors of one spread:

        Sxx  = sum (x - mean x)^2
        b    = sum (x - mean x)(y - mean y) / Sxx,   a = mean y - b mean x
        s^2  = sum (y - a - b x)^2 / (n - 2)          (residual variance)
        se_b = sqrt(s^2 / Sxx)
        b  +/- t(1 - (1 - level)/2; n - 2) * se_b

    Montgomery, Peck & Vining, *Introduction to Linear Regression Analysis* (Wiley), section
    2.4.1, "Confidence intervals on beta0, beta1 and sigma^2"; ``se_b`` is the ``stderr`` of
    ``scipy.stats.linregress``, whose documentation computes the same interval with
    ``scipy.stats.t.ppf``.  Slope and interval are returned per week (7 x per day).

    Needs ``n >= 3`` points at two or more distinct times (see :func:`enough_for_trend`).
    """
    x, y = np.asarray(days, float), np.asarray(values, float)
    n = x.size
    sxx = float(np.sum((x - x.mean()) ** 2))
    if n < 3 or sxx == 0:
        raise ValueError(f"a slope's interval needs 3 points at distinct times, got {n}")
    b = float(np.sum((x - x.mean()) * (y - y.mean())) / sxx)
    a = float(y.mean() - b * x.mean())
    s2 = float(np.sum((y - a - b * x) ** 2) / (n - 2))
    half = float(stats.t.ppf(1 - (1 - level) / 2, n - 2)) * np.sqrt(s2 / sxx)
    return Trend(7 * b, 7 * (b - half), 7 * (b + half), a)
