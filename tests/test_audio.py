"""Issue 12, the sound guidance: the closure tone, the cues of keys and odd endings, no sound
card, and a frame loop that never waits for the sound.  (The cues of a whole routine are
checked on the replayed session: tests/test_replay_session.py.)"""

from __future__ import annotations

import io
import itertools
import math
import sys
import threading
import time
import wave
from dataclasses import replace

import numpy as np
import pytest
from conftest import run_main
from wavcheck import pitch, read_wav

from facetrack.live import audio as A
from facetrack.live.session import INSTRUCT_S, MOVE_LEAD_S, Progress

FPS = 30.0


def lid(t: float, t_close: float, t_open: float, depth: float, ramp: float) -> float:
    """A lid closing smoothly to ``depth`` from ``t_close`` over ``ramp`` s, reopening at ``t_open``."""
    up = np.clip((t - t_close) / ramp, 0, 1)
    down = np.clip((t - t_open) / ramp, 0, 1)
    return depth * float(0.5 - 0.5 * np.cos(np.pi * up)) * float(0.5 + 0.5 * np.cos(np.pi * down))


def eye_step(affected: str | None, hold_s: float = 2.0, rest_s: float = 2.0):
    """The frames of one eye closure as the session gives them (its phase times), with the lids
    of a patient whose left closes half-way and slowly, the right fully and at once."""
    frames, t = [], 0.0
    move_at, rest_at = INSTRUCT_S, INSTRUCT_S + MOVE_LEAD_S + hold_s
    end = rest_at + rest_s
    while t < end:
        if t < move_at:
            phase, rep = "instruct", 0
        elif t < move_at + MOVE_LEAD_S:
            phase, rep = "move", 1
        elif t < rest_at:
            phase, rep = "hold", 1
        else:
            phase, rep = "rest", 1
        closure = {
            "left": lid(t, move_at + 0.2, rest_at, 0.5, 1.6),
            "right": lid(t, move_at + 0.1, rest_at - 0.4, 1.0, 0.3),
        }
        frames.append(Progress(t, phase, 0, "eye_close_tight", rep, 1, 0, closure, affected, False))
        t = round(t + 1 / FPS, 9)
    return frames


def tone_pitches(frames, x: np.ndarray, rate: int):
    """Per frame interval of the tone phases, away from the cues: (time, pitch heard, loudness)."""
    busy = [(c.t, c.t + len(A.cue_samples(c.kind, c.count, rate)) / rate) for c in A.cues(frames)]
    out = []
    for a, b in itertools.pairwise(frames):
        if a.phase not in A.TONE_PHASES or any(s - 0.05 < b.t and a.t < e + 0.05 for s, e in busy):
            continue
        seg = x[round((a.t + 0.25 / FPS) * rate) : round((b.t - 0.25 / FPS) * rate)]
        out.append((a.t, pitch(seg, rate), float(np.sqrt(np.mean(seg**2)))))
    return out


@pytest.mark.parametrize("affected", ["left", None])
def test_closure_tone_rises_as_the_weaker_lid_closes(affected):
    """The eye exercise's tone, heard in the synthesised sound: its pitch rises with the
    weaker lid's closure (the affected left, or with no side known the side closing less,
    also the left here) and not with the other lid, which shuts fully and earlier; two
    octaves from open to shut; silent in the instructions."""
    frames = eye_step(affected)
    x = A.render(frames)
    rate = A.WAV_RATE
    heard = tone_pitches(frames, x, rate)
    assert len(heard) > 60
    t, f, loud = (np.array(v) for v in zip(*heard))
    by_t = {p.t: p for p in frames}
    left = np.array([by_t[k].closure["left"] for k in t])
    right = np.array([by_t[k].closure["right"] for k in t])
    weaker = left if affected == "left" else np.minimum(left, right)  # no side known: the one closing less
    assert loud.min() > 0.05  # a tone all through the movement, hold and rest
    octaves = np.log2(f / A.F_OPEN)
    assert np.corrcoef(octaves, weaker)[0, 1] > 0.99
    if affected == "left":
        assert np.corrcoef(octaves, right)[0, 1] < 0.8  # it is the weaker lid the patient hears
    # the pitch is the lid: 220 Hz open, two octaves up shut; half shut one octave up (between
    # two frames the tone glides from the one's pitch to the next's)
    index = {p.t: i for i, p in enumerate(frames)}
    lids = {p.t: (p.closure["left"] if affected else min(p.closure.values())) for p in frames}
    glide = [(frames[index[k] - 1].t, k) for k in t]
    expected = np.array([(A.closure_pitch(lids[a]) + A.closure_pitch(lids[b])) / 2 for a, b in glide])
    assert np.abs(np.log2(f / expected)).max() < 0.03  # within half a semitone
    assert A.closure_pitch(0) == pytest.approx(220) and A.closure_pitch(1) == pytest.approx(880)
    assert f.max() > 1.9 * f.min()  # the left lid's half closure: an octave the ear hears
    # the instructions are silent (the eyes are open; only the "get ready" cue sounds)
    instruct = x[round(0.6 * rate) : round((INSTRUCT_S - 0.05) * rate)]
    assert np.abs(instruct).max() < 0.01


def test_pause_silences_the_tone_and_the_session_continues():
    frames = eye_step("left")
    k = next(i for i, p in enumerate(frames) if p.phase == "hold") + 20  # after the hold cue
    paused = [p if not (k <= i < k + 30) else replace(p, paused=True) for i, p in enumerate(frames)]
    x = A.render(paused)
    rate = A.WAV_RATE
    quiet = x[round((paused[k].t + 0.1) * rate) : round((paused[k + 29].t) * rate)]
    assert np.abs(quiet).max() < 0.01  # paused: no tone
    after = x[round((paused[k + 35].t) * rate) : round((paused[k + 38].t) * rate)]
    assert np.sqrt(np.mean(after**2)) > 0.05  # resumed


def progress(t, phase, step=0, rep=0, attempt=0, movement="brow_raise"):
    return Progress(t, phase, step, movement, rep, 2, attempt, {}, None, False)


def test_cues_of_keys_retries_and_a_quit():
    """A failed calibration try sounds the calibration cue again; a skipped or redone movement
    its "next movement" cue; a quit (no summary screen) still ends with the "done" cue."""
    frames = [
        progress(0.0, "calibrate", -1, movement=None),
        progress(0.1, "calibrate", -1, movement=None),
        progress(3.0, "calibrate", -1, attempt=1, movement=None),  # "keep still - let's try again"
        progress(6.0, "instruct", 0),
        progress(7.0, "instruct", 1, movement="lip_spread_i"),  # n: skipped to the next movement
        progress(11.0, "move", 1, 1, movement="lip_spread_i"),
        progress(11.5, "instruct", 1, movement="lip_spread_i"),  # r: redo
        progress(11.6, "instruct", 1, movement="lip_spread_i"),
    ]
    assert [(c.t, c.kind) for c in A.cues(frames)] == [
        (0.0, "calibrate"),
        (3.0, "calibrate"),
        (6.0, "instruct"),
        (7.0, "instruct"),
        (11.0, "move"),
        (11.5, "instruct"),
    ]

    class Heard(A.AudioGuide):
        def _feed(self, p):
            seen.append(p)
            super()._feed(p)

    seen: list[Progress] = []
    guide = Heard(play=False, wav=None)
    for p in frames:
        guide.on_frame(Out(p))
    guide.on_close(None)  # q: the session ended on the last frame
    assert seen[-1].phase == "summary" and seen[-1].t == 11.6
    assert A.cues(seen)[-1] == A.Cue(11.6, "summary")


def test_count_beyond_five_stays_short():
    """Twelve repetitions: two long low beeps (fives) and two short ones, relax cue and count
    inside the default 2 s rest."""
    twelve = A.cue_samples("rest", 12)
    assert A.count_notes(12) == [A.FIVE_NOTE] * 2 + [A.COUNT_NOTE] * 2
    assert len(twelve) / A.WAV_RATE < 1.5
    assert np.abs(twelve).max() <= A.CUE_GAIN + 1e-6


def test_no_clicks():
    """Every cue starts and ends at silence and never jumps from one sample to the next by more
    than a sine of its highest pitch would (a click is a jump)."""
    for kind in A.NOTES:
        x = A.cue_samples(kind, 3 if kind == "rest" else 0)
        assert abs(x[0]) < 0.01 and abs(x[-1]) < 0.01
        assert np.abs(np.diff(x)).max() < A.CUE_GAIN * 2 * math.pi * 1400 / A.WAV_RATE
    frames = eye_step("left")
    x = A.render(frames)
    assert abs(x[-1]) < 0.01  # the tone fades out at the end


class FakeCard:
    """A sounddevice stand-in: a stream pulled by its own thread, a slow one (50 ms blocks)."""

    def __init__(self, fail: Exception | None = None):
        self.fail = fail
        self.played: list[np.ndarray] = []

    def query_devices(self, kind=None):
        if self.fail:
            raise self.fail
        return {"default_samplerate": 8000.0}

    def OutputStream(self, samplerate, channels, dtype, callback):
        card = self

        class Stream:
            def start(self):
                self.running = True
                self.thread = threading.Thread(target=self.pull, daemon=True)
                self.thread.start()

            def pull(self):
                while self.running:
                    out = np.zeros((400, channels), np.float32)
                    callback(out, 400, None, None)
                    card.played.append(out[:, 0].copy())
                    time.sleep(0.05)

            def stop(self):
                self.running = False
                self.thread.join()

            def close(self):
                pass

        return Stream()


class Out:
    def __init__(self, p):
        self.progress = p


def test_playing_never_holds_up_the_frame_loop(tmp_path):
    """With a sound card the cues and the tone are played, and handing a frame to the sound
    takes well under a millisecond: the card pulls the sound in its own thread."""
    card = FakeCard()
    guide = A.AudioGuide(play=True, wav=tmp_path / "g.wav", sd=card)
    frames = eye_step("left")
    took = []
    for p in frames:
        t0 = time.perf_counter()
        guide.on_frame(Out(p))
        took.append(time.perf_counter() - t0)
        time.sleep(0.002)
    guide.on_close(None)
    assert np.median(took) < 0.001 and max(took) < 0.05, (np.median(took), max(took))
    played = np.concatenate(card.played)
    assert np.abs(played).max() > 0.3  # the cues were heard
    x, rate = read_wav(tmp_path / "g.wav")
    assert rate == A.WAV_RATE and len(x) / rate > frames[-1].t  # and written on the session's timeline


@pytest.mark.parametrize(
    "card,why",
    [
        (None, "sounddevice package is not installed"),
        (FakeCard(OSError("Error querying device -1")), "Error querying device -1"),
    ],
)
def test_no_sound_card_says_so_in_one_line_and_goes_on(tmp_path, monkeypatch, card, why):
    if card is None:
        monkeypatch.setitem(sys.modules, "sounddevice", None)  # not installed: import fails
    err = io.StringIO()
    guide = A.AudioGuide(play=True, wav=tmp_path / "g.wav", err=err, sd=card)
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("facetrack: no audio: ") and why in lines[0], lines
    assert lines[0].endswith("; the session goes on silently")
    for p in eye_step("left"):
        guide.on_frame(Out(p))
    guide.on_close(None)
    with wave.open(str(tmp_path / "g.wav")) as w:  # what would have been played is still written
        assert w.getnframes() / w.getframerate() > 8.0


def test_audio_out_into_a_missing_folder_is_one_line(tmp_path):
    result = run_main("exercise", "--source", "x.mp4", "--audio-out", tmp_path / "nope" / "g.wav", "--no-window")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "output directory does not exist" in result.stderr


def test_the_sound_library_chatter_is_not_shown(capfd):
    """PortAudio probing ALSA on a machine without a sound card prints its own lines to fd 2:
    the patient sees the one line of facetrack only."""
    import os

    class ChattyCard(FakeCard):
        def query_devices(self, kind=None):
            os.write(2, b"ALSA lib confmisc.c:855:(parse_card) cannot find card '0'\n" * 20)
            raise OSError("Error querying device -1")

    guide = A.AudioGuide(play=True, sd=ChattyCard())
    guide.on_close(None)
    err = capfd.readouterr().err.splitlines()
    assert err == ["facetrack: no audio: Error querying device -1; the session goes on silently"], err
