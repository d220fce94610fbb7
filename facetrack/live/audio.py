"""Sound guidance for the live session: a cue at each phase change, the repetition count, and
during the eye exercises a continuous tone whose pitch follows the lid closure.

A person with the eyes shut cannot read the screen: the sound tells when to start, hold,
relax and stop, which repetition was just done, and how far the weaker lid has closed.

Compute and play are kept apart:

- :func:`cue_between` and :func:`cues` turn the session's :class:`Progress` stream into
  :class:`Cue` events (pure; the tests check them), :func:`tone_target` gives the closure
  tone's pitch and loudness for one frame, :func:`closure_pitch` maps closure to pitch;
- :func:`cue_samples` synthesises each cue (numpy sine tones with short raised-cosine fades,
  so nothing clicks), :class:`Mixer` mixes cues and the phase-continuous tone block by block;
- :class:`Player` plays a mixer on the sound card from PortAudio's own thread (``sounddevice``,
  imported here only, and only when sound is wanted): the frame loop never waits for it;
  :class:`WavWriter` writes the same mix on the session's timeline (frame timestamps);
- :class:`AudioGuide` is the sink of :func:`facetrack.live.runner.run_session`.

No sound library, no PortAudio, no output device, or any failure to open one: one line on
stderr and the session goes on silently.  No network, no speech service.
"""

from __future__ import annotations

import math
import os
import sys
import time
import wave
from collections import deque
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import IO

import numpy as np

from facetrack.capture.landmarker import _native_stderr_silenced  # the one lock on fd 2
from facetrack.errors import FacetrackError
from facetrack.live.session import Progress, SessionFrame

WAV_RATE = 16_000  # Hz: every cue is below 1.5 kHz
FADE_S = 0.008  # raised-cosine fade in and out of every note: no click
CUE_GAIN = 0.45
TONE_GAIN = 0.16  # the closure tone sits under the cues
TONE_FADE_S = 0.03  # the tone starts, stops and follows pauses this smoothly
F_OPEN, F_SHUT = 220.0, 880.0  # Hz: the closure tone, lid open to lid shut (two octaves)
TONE_PHASES = ("move", "hold", "rest")  # when the closure tone sounds (eye exercises only)
EYE_MOVEMENTS = ("eye_close_tight", "eye_close_alternate")
COUNT_F, FIVE_F = 1320.0, 990.0  # Hz: one short beep per repetition, a long lower one per five
COUNT_AFTER_S = 0.42  # the count follows the relax sweep
MAX_CLOSE_WAIT_S = 2.0  # at the end, the last cue may still play this long

# A note: (start Hz, end Hz, seconds, pause after, s).  Each cue has its own shape and register.
NOTES: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    # two low, calm notes: keep still, your neutral face is being measured
    "calibrate": ((392.0, 392.0, 0.2, 0.1), (392.0, 392.0, 0.2, 0.0)),
    # a slow falling pair, soft: massage (and each new part of the face to massage)
    "massage": ((587.3, 587.3, 0.3, 0.05), (440.0, 440.0, 0.45, 0.0)),
    # a rising three-note arpeggio: the next movement, get ready
    "instruct": ((523.3, 523.3, 0.12, 0.0), (659.3, 659.3, 0.12, 0.0), (784.0, 784.0, 0.16, 0.0)),
    # a rising sweep: move now
    "move": ((500.0, 1000.0, 0.25, 0.0),),
    # one long flat note: hold the position
    "hold": ((784.0, 784.0, 0.45, 0.0),),
    # a falling sweep: relax (the repetition count follows)
    "rest": ((1000.0, 500.0, 0.3, 0.0),),
    # the arpeggio up to the octave, the last note long: the session is done
    "summary": (
        (523.3, 523.3, 0.13, 0.0),
        (659.3, 659.3, 0.13, 0.0),
        (784.0, 784.0, 0.13, 0.0),
        (1046.5, 1046.5, 0.6, 0.0),
    ),
}
COUNT_NOTE = (COUNT_F, COUNT_F, 0.07, 0.08)
FIVE_NOTE = (FIVE_F, FIVE_F, 0.25, 0.1)


@dataclass(frozen=True)
class Cue:
    t: float  # the session's time of the frame that changed phase, s
    kind: str  # calibrate, massage, instruct, move, hold, rest, summary (the phase entered)
    count: int = 0  # rest: the repetition just done


# -- computing: the session's progress -> cues and the tone ------------------------------
def _key(p: Progress) -> tuple:
    # a new calibration try, or a new part of the massage, is a new cue
    return (p.phase, p.step, p.attempt if p.phase == "calibrate" else (p.rep if p.phase == "massage" else 0))


def cue_between(prev: Progress | None, cur: Progress) -> Cue | None:
    """The cue of the frame ``cur`` after ``prev`` (None: ``cur`` is the first frame): one for
    entering each phase (a new calibration try and a new movement included), none otherwise."""
    if prev is not None and _key(prev) == _key(cur):
        return None
    return Cue(cur.t, cur.phase, cur.rep if cur.phase == "rest" else 0)


def cues(timeline: list[Progress]) -> list[Cue]:
    """Every cue of a session's frames, in order."""
    out, prev = [], None
    for p in timeline:
        c = cue_between(prev, p)
        if c is not None:
            out.append(c)
        prev = p
    return out


def weaker_closure(p: Progress) -> float:
    """The lid closure the tone follows: the affected side's, or the side closing less
    (NaN while neither is measured)."""
    if p.affected in p.closure:
        return p.closure[p.affected]
    vals = [v for v in p.closure.values() if math.isfinite(v)]
    return min(vals) if vals else math.nan


def closure_pitch(closure: float) -> float:
    """Hz: F_OPEN with the lid open, rising evenly in octaves to F_SHUT when shut."""
    c = float(np.clip(closure, 0.0, 1.0))
    return F_OPEN * (F_SHUT / F_OPEN) ** c


def tone_target(p: Progress) -> tuple[float | None, float]:
    """(pitch in Hz or None to keep the last one, loudness) of the closure tone at ``p``:
    heard during an eye exercise's movement, hold and rest, not while paused."""
    if p.movement not in EYE_MOVEMENTS or p.phase not in TONE_PHASES or p.paused:
        return None, 0.0
    c = weaker_closure(p)
    return (closure_pitch(c) if math.isfinite(c) else None), TONE_GAIN


# -- synthesis ---------------------------------------------------------------------
def _note(f0: float, f1: float, seconds: float, rate: int) -> np.ndarray:
    n = max(round(seconds * rate), 2)
    freq = np.linspace(f0, f1, n)
    phase = 2 * np.pi * np.cumsum(freq) / rate
    x = np.sin(phase)
    k = min(int(FADE_S * rate), n // 2)
    if k > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, k))
        x[:k] *= ramp
        x[n - k :] *= ramp[::-1]
    return x


def _notes(notes, rate: int) -> np.ndarray:
    parts = []
    for f0, f1, dur, pause in notes:
        parts.append(_note(f0, f1, dur, rate))
        if pause > 0:
            parts.append(np.zeros(round(pause * rate)))
    return np.concatenate(parts)


def count_notes(count: int) -> list[tuple[float, float, float, float]]:
    """The repetition count: a long low beep per five, then a short high beep per one."""
    return [FIVE_NOTE] * (count // 5) + [COUNT_NOTE] * (count % 5)


@lru_cache(maxsize=64)
def cue_samples(kind: str, count: int = 0, rate: int = WAV_RATE) -> np.ndarray:
    """The sound of one cue (float32, -1..1)."""
    x = _notes(NOTES[kind], rate)
    if count > 0:
        pad = round(COUNT_AFTER_S * rate) - len(x)
        x = np.concatenate([x, np.zeros(max(pad, 0)), _notes(count_notes(count), rate)])
    out = (CUE_GAIN * x).astype(np.float32)
    out.flags.writeable = False
    return out


class Tone:
    """A phase-continuous sine that glides to each new pitch and loudness over a block (the
    loudness no faster than TONE_FADE_S from silence to full): no click, no jump."""

    def __init__(self, rate: int):
        self.rate = rate
        self.freq = F_OPEN
        self.amp = 0.0
        self.phase = 0.0

    def render(self, n: int, freq: float | None, amp: float) -> np.ndarray:
        if n <= 0:
            return np.zeros(0, np.float32)
        if self.amp == 0.0 and amp == 0.0:
            if freq is not None:
                self.freq = freq
            return np.zeros(n, np.float32)
        target = self.freq if freq is None else freq
        k = np.arange(1, n + 1)
        f = self.freq + (target - self.freq) * k / n
        step = TONE_GAIN / (TONE_FADE_S * self.rate)
        a = np.clip(self.amp + np.sign(amp - self.amp) * step * k, min(self.amp, amp), max(self.amp, amp))
        ph = self.phase + 2 * np.pi * np.cumsum(f) / self.rate
        self.phase = float(ph[-1] % (2 * np.pi))
        self.freq, self.amp = target, float(a[-1])
        return (a * np.sin(ph)).astype(np.float32)


class Mixer:
    """Cues and the closure tone, mixed block by block.  ``cue`` and ``tone`` may be called
    from the frame loop while another thread calls ``render`` (the sound card's)."""

    def __init__(self, rate: int):
        self.rate = rate
        self._tone = Tone(rate)
        self._target: tuple[float | None, float] = (None, 0.0)
        self._new: deque[np.ndarray] = deque()
        self._playing: list[list] = []  # [samples, position]

    def cue(self, c: Cue) -> None:
        self._new.append(cue_samples(c.kind, c.count, self.rate))

    def tone(self, freq: float | None, amp: float) -> None:
        self._target = (freq, amp)

    @property
    def busy(self) -> bool:
        """A cue is still sounding, or the tone has not faded out."""
        return bool(self._new or self._playing or self._tone.amp > 0)

    def render(self, n: int) -> np.ndarray:
        out = self._tone.render(n, *self._target)
        while self._new:
            self._playing.append([self._new.popleft(), 0])
        for item in self._playing:
            samples, pos = item
            part = samples[pos : pos + n]
            out[: len(part)] += part
            item[1] = pos + len(part)
        self._playing = [p for p in self._playing if p[1] < len(p[0])]
        return np.clip(out, -1.0, 1.0)


def render(timeline: list[Progress], rate: int = WAV_RATE) -> np.ndarray:
    """What a session's frames sound like, on their own timeline (sample 0 = the first frame),
    with the cues and the tone allowed to finish after the last frame."""
    writer = _Timeline(Mixer(rate))
    chunks = [writer.frame(p) for p in timeline] + [writer.finish()]
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


class _Timeline:
    """Runs a mixer on the frames' timestamps: each frame first renders the time up to itself,
    then starts its cue and sets the tone."""

    def __init__(self, mixer: Mixer):
        self.mixer = mixer
        self.t0: float | None = None
        self.done = 0  # samples rendered
        self.prev: Progress | None = None

    def frame(self, p: Progress) -> np.ndarray:
        if self.t0 is None:
            self.t0 = p.t
        n = max(round((p.t - self.t0) * self.mixer.rate) - self.done, 0)
        block = self.mixer.render(n)
        self.done += n
        self.advance(p)
        return block

    def advance(self, p: Progress) -> None:
        c = cue_between(self.prev, p)
        self.prev = p
        if c is not None:
            self.mixer.cue(c)
        self.mixer.tone(*tone_target(p))

    def finish(self) -> np.ndarray:
        """The rest: cues still sounding, the tone faded out."""
        self.mixer.tone(None, 0.0)
        block = int(0.05 * self.mixer.rate)
        parts = []
        for _ in range(int(MAX_CLOSE_WAIT_S / 0.05)):
            if not self.mixer.busy:
                break
            parts.append(self.mixer.render(block))
        self.done += sum(len(p) for p in parts)
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


# -- output ------------------------------------------------------------------------
class AudioUnavailable(Exception):
    """No sound: no library, no PortAudio, no device; the message says which."""


class WavWriter:
    """The mix on the session's timeline, written as it goes (16-bit mono, owner-only file).
    A write that fails stops the writing and is raised when the session closes."""

    def __init__(self, path: str | os.PathLike, rate: int = WAV_RATE):
        self.path = Path(path)
        self._timeline = _Timeline(Mixer(rate))
        self.error: str | None = None
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)  # a file left by an earlier run keeps no wider mode
            self._fh: IO[bytes] = os.fdopen(fd, "wb")
            self._wav = wave.open(self._fh, "wb")
            self._wav.setnchannels(1)
            self._wav.setsampwidth(2)
            self._wav.setframerate(rate)
        except OSError as exc:
            raise FacetrackError(f"cannot write the audio to {self.path}: {exc.strerror or exc}") from None

    def _write(self, x: np.ndarray) -> None:
        if self.error is not None or not len(x):
            return
        try:
            self._wav.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
        except OSError as exc:
            self.error = exc.strerror or str(exc)

    def frame(self, p: Progress) -> None:
        self._write(self._timeline.frame(p))

    def close(self) -> None:
        self._write(self._timeline.finish())
        try:
            self._wav.close()
            self._fh.close()
        except OSError as exc:
            self.error = self.error or exc.strerror or str(exc)
        if self.error:
            raise FacetrackError(f"the audio file {self.path} is incomplete: {self.error}")


class Player:
    """A mixer on the default sound output, pulled by PortAudio's thread: the frame loop only
    hands over cues and the tone's pitch, it never waits for the sound card."""

    def __init__(self, sd=None):
        # PortAudio's ALSA side prints its probing of every device to fd 2 (on a machine with no
        # sound card, dozens of lines): the user is to see one line of ours at most.
        with _native_stderr_silenced():
            if sd is None:
                sd = _sounddevice()
            try:
                rate = int(sd.query_devices(kind="output")["default_samplerate"])
                self.mixer = Mixer(rate)
                self._failed = False
                self._stream = sd.OutputStream(samplerate=rate, channels=1, dtype="float32", callback=self._fill)
                self._stream.start()
            except Exception as exc:  # PortAudioError, no default device, a backend that refuses
                raise AudioUnavailable(_reason(exc)) from None
        self._timeline = _Timeline(self.mixer)

    def _fill(self, outdata, frames, time_info, status) -> None:
        try:
            outdata[:, 0] = self.mixer.render(frames)
        except Exception:  # never let the sound thread raise: silence instead
            self._failed = True
            outdata.fill(0)

    def frame(self, p: Progress) -> None:
        self._timeline.advance(p)  # played now: the frame is now

    def close(self) -> None:
        self.mixer.tone(None, 0.0)
        deadline = time.monotonic() + MAX_CLOSE_WAIT_S
        while self.mixer.busy and not self._failed and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            self._stream.stop()
            self._stream.close()
        except Exception:
            pass


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _sounddevice():
    try:
        import sounddevice  # the optional dependency (pip install 'facetrack[audio]')
    except ImportError:
        raise AudioUnavailable("the sounddevice package is not installed (pip install 'facetrack[audio]')") from None
    except OSError as exc:  # sounddevice is there, the PortAudio library is not
        raise AudioUnavailable(f"{_reason(exc)} (install PortAudio, e.g. apt install libportaudio2)") from None
    return sounddevice


def open_player(err: IO[str] | None = None, sd=None) -> Player | None:
    """The sound output, or None after one line on ``err`` (stderr) saying why there is none."""
    try:
        return Player(sd)
    except AudioUnavailable as exc:
        print(f"facetrack: no audio: {exc}; the session goes on silently", file=err or sys.stderr)
        return None


class AudioGuide:
    """The sink: follows each frame's :class:`Progress`, plays the cues and the tone on the
    sound card (``play``) and writes them to ``wav`` on the session's timeline.  A session
    that ends without its summary (the patient quit) still gets the "done" cue."""

    def __init__(self, play: bool = True, wav: str | os.PathLike | None = None, err: IO[str] | None = None, sd=None):
        self.writer = WavWriter(wav) if wav is not None else None
        self.player = open_player(err, sd) if play else None
        self.last: Progress | None = None

    def on_frame(self, out: SessionFrame) -> None:
        p = out.progress
        if p is not None:
            self._feed(p)

    def _feed(self, p: Progress) -> None:
        self.last = p
        if self.player is not None:
            self.player.frame(p)
        if self.writer is not None:
            self.writer.frame(p)

    def on_close(self, end=None) -> None:
        if self.last is not None and self.last.phase != "summary":
            self._feed(replace(self.last, phase="summary", paused=False))
        self.last = None
        player, self.player = self.player, None
        writer, self.writer = self.writer, None
        try:
            if player is not None:
                player.close()
        finally:
            if writer is not None:
                writer.close()
