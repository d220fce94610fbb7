"""Listening to a WAV as a test would: where the sounds are, how many, at what pitch.

Only the samples are read (no knowledge of how facetrack made them): a sound is a run of
samples above a small loudness; runs closer than GAP_S are one sound (the dip between
two legato notes); sounds closer than CUE_GAP_S are one cue (a sweep and its count).
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WIN_S = 0.002  # loudness window
LOUD = 0.02  # of full scale: the cues are far above, silence far below
GAP_S = 0.03  # shorter silences are inside one sound
CUE_GAP_S = 0.15  # shorter silences are inside one cue


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768
    return x, rate


def pitch(x: np.ndarray, rate: int) -> float:
    """The strongest frequency of a stretch of samples (Hann window, zero-padded FFT, parabolic
    interpolation of the peak): a pure tone's pitch to well under 1 Hz."""
    n = max(1 << 15, len(x))
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    k = int(np.argmax(spec[1:-1])) + 1
    a, b, c = np.log(spec[k - 1 : k + 2] + 1e-12)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / n


@dataclass
class Sound:
    start_s: float
    end_s: float
    f_start: float  # pitch of its first 30 ms
    f_end: float  # pitch of its last 30 ms

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def sounds(x: np.ndarray, rate: int) -> list[Sound]:
    w = max(1, round(WIN_S * rate))
    n = len(x) // w
    loud = np.abs(x[: n * w]).reshape(n, w).max(axis=1) > LOUD
    runs, k = [], 0
    while k < n:
        if not loud[k]:
            k += 1
            continue
        j = k
        while j < n and loud[j]:
            j += 1
        if runs and (k - runs[-1][1]) * w / rate < GAP_S:
            runs[-1][1] = j
        else:
            runs.append([k, j])
        k = j
    out = []
    seg = round(0.03 * rate)
    for a, b in runs:
        s, e = a * w, b * w
        out.append(Sound(s / rate, e / rate, pitch(x[s : s + seg], rate), pitch(x[max(s, e - seg) : e], rate)))
    return out


def cue_groups(found: list[Sound]) -> list[list[Sound]]:
    groups: list[list[Sound]] = []
    for s in found:
        if groups and s.start_s - groups[-1][-1].end_s < CUE_GAP_S:
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups
