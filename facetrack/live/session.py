"""The guided exercise session: a frame-driven state machine, free of any window or camera.

``ExerciseSession.step(tracked)`` advances on each frame's own timestamp and returns a
:class:`SessionFrame`: the :class:`OverlayState` to draw and the frame's table records;
``key(k)`` takes the user's keys.  What is to be kept (the neutral face, each finished
repetition, a redo) is queued as records of :mod:`facetrack.tables` and collected with
``take_stored()``.  The session knows nothing of storage, windows or cameras: the runner
(:func:`facetrack.live.runner.run_session`) feeds it and hands its output to the sinks.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from facetrack.analysis import reps as R
from facetrack.analysis.meter import (
    HIDDEN_FRAMES,
    FrameValues,
    MovementMeter,
    Neutral,
    RepResult,
    Series,
    build_neutral,
    covered_rep,
    frame_flags,
    hands_on_series,
    peak_amplitude,
    rest_level,
    results_from_series,
)
from facetrack.analysis.rows import frame_record, landmark_row, neutral_record, rep_record
from facetrack.capture.source import Frame
from facetrack.errors import FacetrackError
from facetrack.face import landmarks as L
from facetrack.face import measures as M
from facetrack.face.movements import FREE, get_movement, variant_key
from facetrack.face.pipeline import Tracked
from facetrack.face.quality import STILL_IOD, lighting
from facetrack.face.skin import STABLE
from facetrack.live.overlay import VIEWS, OverlayState, annotate
from facetrack.live.routine import MASSAGE, MASSAGE_NAME, MASSAGE_PARTS, Routine, step_name
from facetrack.tables import FrameRecord, LandmarkRow, RedoRecord, RepRecord, StepNeutralRecord

CALIBRATION_S = 3.0
INSTRUCT_S = 4.0
MOVE_LEAD_S = 1.0  # time to reach the position before the hold starts
RETURN_S = 0.6  # the measure window runs this far into the rest (the face relaxing)
LIVE_REST_S = 2.0  # the end of the instructions is the rest each repetition is measured against
# Each movement is measured against its own neutral face, the median of the instructions'
# frames in the SETTLE_S before that rest (as `analyze` measures against the rest at the start
# of its clip): against the calibration's neutral, from the session's start, a live "i" spread
# read 62.1% where `analyze` of the same frames read 43.1% (generated 50%); with its own
# neutral, 43.1% live too (tests/test_replay_session.py).
SETTLE_S = 1.0
SUMMARY_S = 8.0
MAX_CALIBRATION_TRIES = 6
LIVE_SMOOTH_FRAMES = 5  # the live bars only (causal median, ~0.17 s): stored numbers come from the offline summariser

LABEL_W = 30  # the summary's movement column: "Show the upper gums (resisted)"
KEYS_TEXT = "space pause   n skip   r redo   m view   q end"

WARNING_TEXT = {
    "no_face": "face not found: look at the camera",
    "head_turned": "turn your face to the camera",
    "head_tilted": "hold your head straight",
    "too_small": "come closer to the camera",
    "out_of_frame": "move your whole face into the picture",
    "too_dark": "too dark: add light in front of you",
    "overexposed": "too bright: avoid light behind the camera",
    "occluded": "hand or object over the face: frames not measured",
    "head_moved": "keep your head still, facing the camera as at the start",
}


@dataclass
class StepResult:
    movement: str  # a movement id or MASSAGE
    variant: str = FREE  # face.movements.VARIANTS
    reps: list[RepResult] = field(default_factory=list)
    skipped: bool = False
    completed: bool = False  # a massage that ran its full time

    def median_symmetry(self) -> float:
        vals = [r.symmetry.symmetry_pct for r in self.reps if not math.isnan(r.symmetry.symmetry_pct)]
        return float(np.median(vals)) if vals else math.nan


@dataclass(frozen=True)
class Progress:
    """Where the session stands at one frame, for sinks that follow it without reading the
    screen (the sound guidance, :mod:`facetrack.live.audio`)."""

    t: float  # the frame's own time, s
    phase: str  # calibrate, massage, instruct, move, hold, rest, summary ("hold": the move after its lead time)
    step: int  # index in the routine; -1 during the calibration
    movement: str | None  # None: calibration, massage, summary
    rep: int  # the repetition under way (move, hold, rest), the massage's part, or 0, as on screen
    reps: int  # the repetitions the step asks for (the massage: its parts)
    attempt: int  # calibration tries that failed so far
    closure: dict[str, float]  # eye movements: per side, how far the lid is shut (0 open, 1 shut), as the bars
    affected: str | None
    paused: bool


@dataclass
class SessionFrame:
    """What one frame of the session gives the sinks."""

    frame: Frame
    overlay: OverlayState
    record: FrameRecord | None  # None once the session is over (the summary screen)
    landmarks: LandmarkRow | None
    progress: Progress | None = None
    _image: np.ndarray | None = None

    @property
    def image(self) -> np.ndarray:
        """The overlay drawn on the frame, made once for every sink that shows or writes it."""
        if self._image is None:
            self._image = annotate(self.frame.image_bgr, self.overlay)
        return self._image


class ExerciseSession:
    """The guided routine as a phase machine: calibrate, then per step instruct -> move/hold
    -> rest for each repetition, then the summary.  Times come from the frames."""

    def __init__(
        self,
        routine: Routine,
        affected: str | None = None,
        mirrored: bool = True,
        history: dict | None = None,
        max_calibration_tries: int | None = None,
        view: str = "camera",
        summary_until_key: bool = False,
    ):
        self.routine = routine
        # in a window the summary stays until a key is pressed (q during the routine shows it
        # too); headless it shows for SUMMARY_S
        self.summary_until_key = summary_until_key
        self.view = view  # overlay.VIEWS; m switches
        self._stored: list = []
        self.complete = False
        self.affected = affected
        self.mirrored = mirrored
        self.history = history or {}
        self.max_tries = max_calibration_tries
        self.phase = "calibrate"
        self.phase_t0: float | None = None
        self.now = 0.0
        self.paused = False
        self.pause_t0 = 0.0
        self.calib: list[Tracked] = []
        self.calib_tries = 0
        self.calib_message = ""
        self.neutral: Neutral | None = None
        self.step_index = 0
        self.rep_index = 0
        self.meter: MovementMeter | None = None
        self.results: list[StepResult] = []
        self.done = False
        self.ended_by_user = False
        self.ended_early = False  # the source ended before anything was done (nothing_done)
        self.redone = False
        self.failure: str | None = None
        self._window: list = []
        self._rest: list = []  # (t, FrameValues) of the instructions: the face at rest
        self._settle: list[Tracked] = []  # the frames the step's own neutral is made of
        self._settle_hand = False  # fingers already on the face then (hands-on steps)
        self._rebased = False  # the step's meter measures against the step's own neutral
        self._rest_end = 0.0
        self._rest_level: dict[str, float] = {}  # the bars' zero (_level_at_rest)
        self._recent: dict[str, deque[float]] = {s: deque(maxlen=LIVE_SMOOTH_FRAMES) for s in L.SIDES}
        self._best: dict[str, float] = {}

    @property
    def _m(self) -> MovementMeter:
        """The current movement's meter (set from the first step on)."""
        assert self.meter is not None, "no movement is being measured yet"
        return self.meter

    @property
    def _n(self) -> Neutral:
        """The calibrated neutral face (set once calibration succeeded)."""
        assert self.neutral is not None, "not calibrated yet"
        return self.neutral

    # -- public ---------------------------------------------------------------------
    def key(self, k: str) -> None:
        if self.phase == "summary" and self.summary_until_key and not self.done:
            self.done = True  # any key closes the summary
            return
        if k in ("q", "esc", "close"):
            self.ended_by_user = True
            self._finish()
        elif k == "m":
            self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        elif k == "space":
            self.paused = not self.paused
            if self.paused:
                self.pause_t0 = self.now
            elif self.phase_t0 is not None:
                self.phase_t0 += self.now - self.pause_t0  # the paused time does not count
        elif k == "n" and self.phase in ("massage", "instruct", "move", "rest"):
            self._current_result().skipped = True
            self._next_step()
        elif k == "r" and self.phase in ("massage", "instruct", "move", "rest"):
            self._stored.append(RedoRecord(self.step_index))
            self.redone = True
            self._current_result().reps.clear()
            self._enter_step(self.step_index, redo=True)

    def source_ended(self) -> None:
        """The camera or video stopped before the session was done: end it and keep what was
        done (not counted as the user's choice; the routine is incomplete unless it was over)."""
        if not self.done:
            self.ended_early = self.nothing_done
            self._finish()
            self.done = True

    @property
    def nothing_done(self) -> bool:
        """No repetition measured and nothing chosen by the patient (no skip, redo or quit):
        a session that ends so is no session (a video shorter than calibration and one
        movement)."""
        return not self.ended_by_user and not any(r.reps or r.skipped for r in self.results) and not self.redone

    def step(self, t: Tracked) -> SessionFrame:
        self.now = t.frame.timestamp_s
        if self.phase_t0 is None:
            self.phase_t0 = self.now
        values = None
        if self.meter is not None and not self.paused and self.phase in ("move", "rest", "instruct"):
            values = self._measure(t)
        flags = frame_flags(t, values)
        record = lms = None
        # nothing is kept of the massage: nothing is measured and the hands are on the face
        if self.phase not in ("summary", "massage") and not self.done:
            step = self.step_index if self.meter is not None else -1
            mm = self._n.mm_per_unit if self.neutral is not None else math.nan
            record = frame_record(step, self._m.movement.id if self.meter else None, self.phase, t, values, flags, mm)
            lms = landmark_row(step, t)
        if not self.paused and not self.done:
            self._advance(t, flags, values)
        view = self._view(t, flags, values)
        return SessionFrame(t.frame, view, record, lms, self._progress(view))

    def take_stored(self) -> list:
        """What is to be kept since the last call: NeutralRecord, RepRecord, RedoRecord."""
        out, self._stored = self._stored, []
        return out

    @property
    def elapsed(self) -> float:
        return 0.0 if self.phase_t0 is None else self.now - self.phase_t0

    # -- phases ---------------------------------------------------------------------
    def _advance(self, t: Tracked, flags, values) -> None:
        if self.phase == "calibrate":
            self._calibrate(t, flags)
        elif self.phase == "massage":
            if self.elapsed >= self._step().duration_s:
                self._current_result().completed = True
                self._enter_step(self.step_index + 1, after=self._step().duration_s)
        elif self.phase == "instruct":
            if not self._rebased:
                if self.elapsed >= INSTRUCT_S - LIVE_REST_S:
                    self._rebase()
                elif self.elapsed >= INSTRUCT_S - LIVE_REST_S - SETTLE_S:
                    self._settle.append(t)
                    self._settle_hand |= values is not None and (values.hand or values.occluded)
            self._rest.append((self.now, values))
            if self.elapsed >= INSTRUCT_S:
                self._rest_end = self.now
                self._rest_level = self._level_at_rest()
                self._set_phase("move", after=INSTRUCT_S)
        elif self.phase == "move":
            self._window.append((self.now, values))
            if self.elapsed >= self.move_s:
                self._set_phase("rest", after=self.move_s)
        elif self.phase == "rest":
            if self.elapsed <= RETURN_S:
                self._window.append((self.now, values))
            if self.elapsed >= self._step().rest_s:
                self._close_rep(after=self._step().rest_s)
        elif self.phase == "summary" and self.elapsed >= SUMMARY_S and not self.summary_until_key:
            self.done = True

    def _set_phase(self, phase: str, after: float | None = None) -> None:
        """Enter ``phase``; ``after`` = the planned length of the phase just ended, so its
        end is on the schedule, not on whichever frame noticed it (no drift over a session)."""
        self.phase = phase
        self.phase_t0 = self.now if after is None or self.phase_t0 is None else self.phase_t0 + after

    def _calibrate(self, t: Tracked, flags) -> None:
        self.calib.append(t)
        if self.elapsed < CALIBRATION_S:
            return
        problem = self._calibration_problem()
        if problem is None:
            self.neutral = build_neutral(self.calib, with_flow=True)
            self._stored.append(neutral_record(self.neutral))
            self.calib = []
            self._enter_step(0, after=CALIBRATION_S)
            return
        self.calib_tries += 1
        self.calib_message = problem
        self.calib = []
        self._set_phase("calibrate", after=CALIBRATION_S)
        if self.max_tries is not None and self.calib_tries >= self.max_tries:
            self.failure = f"could not calibrate a neutral face after {self.calib_tries} tries: {problem}"
            self._finish()

    def _calibration_problem(self) -> str | None:
        frames = self.calib
        usable = [c for c in frames if c.usable]
        if len(usable) < 0.8 * len(frames) or len(usable) < 5:
            bad = [k for c in frames for k, v in c.flags.items() if v]
            worst = max(set(bad), key=bad.count) if bad else "no_face"
            return WARNING_TEXT.get(worst, worst)
        light = [lighting(c.frame.image_bgr, c.face) for c in usable[:: max(1, len(usable) // 5)]]
        if sum(x["too_dark"] for x in light) > len(light) / 2:
            return WARNING_TEXT["too_dark"]
        if sum(x["overexposed"] for x in light) > len(light) / 2:
            return WARNING_TEXT["overexposed"]
        centres = np.array([c.face.xy[STABLE].mean(axis=0) for c in usable])
        iod_px = np.median([c.norm.iod * c.norm.px_per_unit for c in usable if c.norm is not None])
        if float(np.linalg.norm(centres.std(axis=0))) > STILL_IOD * iod_px * 3:
            return "keep your head still"
        return None

    def _enter_step(self, index: int, redo: bool = False, after: float | None = None) -> None:
        self.step_index = index
        if index >= len(self.routine.steps):
            self._finish(complete=True)
            return
        if not self._step().measured:
            if not redo:
                self.results.append(StepResult(MASSAGE))
            self.results[-1].completed = False
            self.rep_index = 0
            self._set_phase("massage", after=after)
            return
        mv = get_movement(self._step().movement)
        self.meter = MovementMeter(mv, self._n, hands_on=self._step().hands_on)
        if not redo:
            self.results.append(StepResult(mv.id, self._step().variant))
        self.rep_index = 0
        self._window = []
        self._rest = []
        self._rest_level = {}
        self._settle = []
        self._settle_hand = False
        self._rebased = False
        self._set_phase("instruct", after=after)

    def _rebase(self) -> None:
        """Measure the step against its own neutral face from here on (SETTLE_S); the
        calibration's stands when the face was not still and in view for it.  The session
        keeps one mm scale: the calibration's."""
        self._rebased = True
        frames, self._settle = self._settle, []
        if self._settle_hand:
            # fingers already on the face: a neutral with them would hide them from the
            # coverage check, and the calibration's (made without hands) stands
            return
        try:
            own = build_neutral(frames, with_flow=True)
        except FacetrackError:
            return
        own = replace(own, mm_per_unit=self._n.mm_per_unit, scale_source=self._n.scale_source)
        self.meter = MovementMeter(self._m.movement, own, hands_on=self._m.hands_on)
        self._stored.append(StepNeutralRecord(self.step_index, self.now, own.xyz))
        self._rest = []  # measured against the calibration's neutral: not this step's rest

    def _next_step(self) -> None:
        self._enter_step(self.step_index + 1)

    @property
    def move_s(self) -> float:
        return self._step().hold_s + MOVE_LEAD_S

    def _close_rep(self, after: float) -> None:
        self.rep_index += 1
        rep = self._rep_result(self.rep_index)
        self._current_result().reps.append(rep)
        self._stored.append(
            RepRecord(self.step_index, rep_record(self._m.movement.id, self._m.neutral, rep, self._step().variant))
        )
        self._window = []
        if self.rep_index >= self._step().reps:
            self._enter_step(self.step_index + 1, after=after)
        else:
            self._set_phase("move", after=after)

    def _finish(self, complete: bool = False) -> None:
        if self.phase == "summary" or self.done:
            self.done = True
            return
        self.complete = complete and not self.ended_by_user and self.failure is None
        if self.results and not self.failure:
            self._set_phase("summary")
            if self.ended_by_user and not self.summary_until_key:
                self.done = True
        else:
            self.done = True

    # -- measuring ------------------------------------------------------------------
    def _measure(self, t: Tracked) -> FrameValues:
        v = self._m.measure(t)
        if not v.usable:
            return v
        for s in L.SIDES:
            self._recent[s].append(v.fused[s])
        return v

    def smoothed(self, side: str) -> float:
        """The live bar's value: the last frames' median, as change from the rest before the
        movement (the stored repetition reads its amplitude from that rest too)."""
        vals = self._recent[side]
        return float(np.median(vals)) - self._rest_level.get(side, 0.0) if vals else math.nan

    def _level_at_rest(self) -> dict[str, float]:
        """Per side, the median reading over the LIVE_REST_S of rest before the movement."""
        rest_from = self._rest_end - LIVE_REST_S
        values = [v for t, v in self._rest if t >= rest_from and v is not None and v.usable]
        return {side: rest_level([v.fused[side] for v in values]) for side in L.SIDES}

    def _rep_result(self, k: int) -> RepResult:
        """The repetition as ``analyze`` would read it: the offline summariser
        (analysis.meter.results_from_series: zero-phase smoothing, 20% start/end, median of
        the peak top, noise margin) run on the rest before the movement (the end of the
        instructions, face relaxed) followed by the repetition's window."""
        rest_from = self._rest_end - LIVE_REST_S
        pairs = [(t, v) for t, v in self._rest if t >= rest_from and v is not None]
        n_rest = len(pairs)
        pairs += [(t, v) for t, v in self._window if v is not None]
        window_values = [v for _, v in pairs[n_rest:]]
        handled = sum(v.hand or v.occluded for v in window_values)
        if not self._m.hands_on and window_values and handled >= HIDDEN_FRAMES * len(window_values):
            # a hand over the face in a free step: flagged on screen frame by frame; the mesh
            # under it reads a movement of its own (a real hand over one brow made a healthy
            # brow raise read 76-79% "weaker" on that side), so the repetition is counted, not
            # measured
            return covered_rep(k, pairs[n_rest][0], pairs[-1][0], 0.0)
        if len(pairs) == n_rest:
            nan = {s: math.nan for s in L.SIDES}
            return RepResult(
                k,
                self.now,
                self.now,
                self.now,
                0.0,
                nan,
                R.symmetry(0, 0, 1),
                nan,
                nan,
                {s: "none" for s in L.SIDES},
                0.0,
                0.0,
            )
        t0 = pairs[0][0]
        series = Series.collect([t - t0 for t, _ in pairs], [v for _, v in pairs])
        if self._m.hands_on:
            series, _ = hands_on_series(series, slice(0, n_rest))
        rest_s = (pairs[n_rest - 1][0] - t0 + 1e-6) if n_rest else 0.0
        a = results_from_series(
            self._m.movement, self._m.neutral, series, self.affected, rest_s=rest_s, hands_on=self._m.hands_on
        )
        window = slice(n_rest, None)
        if a.reps:  # the strongest one if the patient moved twice in one window
            rep = max(a.reps, key=lambda r: max((v for v in r.amplitude.values() if math.isfinite(v)), default=0.0))
            rep = replace(
                rep, rep=k, t_start_s=rep.t_start_s + t0, t_peak_s=rep.t_peak_s + t0, t_end_s=rep.t_end_s + t0
            )
        else:  # nothing stood clear of the rest noise (or the head turned): not a movement
            amp = {
                s: peak_amplitude(a.smoothed[s][window], np.fmax(a.smoothed["left"], a.smoothed["right"])[window])
                for s in L.SIDES
            }
            status = R.symmetry(0, 0, 1)
            if a.left_out:
                status = replace(status, status="head moved")
            seen = {s: bool(np.isfinite(series.raw["fused"][s][window]).any()) for s in L.SIDES}
            if self._m.hands_on and not all(seen.values()):
                # the fingers hid the movement's landmarks: counted by time, not measured
                status = replace(status, status=R.COVERED_BOTH if not any(seen.values()) else R.COVERED_ONE)
                amp = {s: (v if seen[s] else math.nan) for s, v in amp.items()}
            rep = RepResult(
                k,
                float(series.t[n_rest] + t0),
                float(series.t[n_rest] + t0),
                float(series.t[-1] + t0),
                0.0,
                # a side never seen is 0 in a free step (no face: no movement), unmeasured
                # in a hands-on one (the fingers on it)
                {s: (0.0 if math.isnan(v) and (seen[s] or not self._m.hands_on) else v) for s, v in amp.items()},
                status,
                {s: math.nan for s in L.SIDES},
                {s: math.nan for s in L.SIDES},
                {s: "none" for s in L.SIDES},
                100.0 * float(series.usable[window].mean()),
                series.measured_pct(window),
            )
        self._best[self._m.movement.id] = max(
            self._best.get(self._m.movement.id, 0.0), *(v for v in rep.amplitude.values() if np.isfinite(v)), 0.0
        )
        return rep

    # -- drawing state --------------------------------------------------------------
    def _progress(self, view: OverlayState) -> Progress:
        phase = "summary" if self.done else self.phase
        if phase == "move" and self.elapsed >= MOVE_LEAD_S:
            phase = "hold"
        measuring = self.meter is not None and phase not in ("calibrate", "summary", "massage")
        mv = self.meter.movement if measuring and self.meter is not None else None
        step = self._step() if mv is not None else None
        rep = 0 if step is None or phase == "instruct" else min(self.rep_index + 1, step.reps)
        reps = step.reps if step is not None else 0
        if phase == "massage":
            rep, reps = self._massage_part() + 1, len(MASSAGE_PARTS)
        return Progress(
            self.now,
            phase,
            -1 if phase == "calibrate" or (self.meter is None and phase == "summary") else self.step_index,
            mv.id if mv is not None else None,
            rep,
            reps,
            self.calib_tries,
            dict(view.bars) if mv is not None and "eye" in mv.regions else {},
            self.affected,
            self.paused,
        )

    def _step(self):
        return self.routine.steps[self.step_index]

    def _massage_part(self) -> int:
        """Which of MASSAGE_PARTS is under way (equal shares of the step's time)."""
        share = self._step().duration_s / len(MASSAGE_PARTS)
        return min(int(max(self.elapsed, 0.0) / share), len(MASSAGE_PARTS) - 1)

    def _current_result(self) -> StepResult:
        return self.results[-1]

    def _view(self, t: Tracked, flags, values) -> OverlayState:
        state = OverlayState(mirrored=self.mirrored, side_label="YOUR", keys_text=KEYS_TEXT, view=self.view)
        if t.face.face_found:
            state.mesh_xy = t.face.xy
        state.warnings = [WARNING_TEXT[k] for k, v in flags.items() if v and k in WARNING_TEXT][:2]
        state.paused = self.paused
        if self.phase == "calibrate":
            state.title = "Relax your face and look at the camera"
            state.subtitle = (
                f"{self.calib_message} - let's try again" if self.calib_message else "measuring your neutral face"
            )
            state.rep_text = f"{max(0.0, CALIBRATION_S - self.elapsed):.0f} s"
            return state
        if self.phase == "summary" or self.done:
            return self._summary_view(state)
        if self.phase == "massage":
            step, k = self._step(), self._massage_part()
            part, how = MASSAGE_PARTS[k]
            state.title = f"{self.step_index + 1}/{len(self.routine.steps)}  {MASSAGE_NAME}"
            state.subtitle = how
            state.rep_text = f"part {k + 1} of {len(MASSAGE_PARTS)}: {part}"
            state.big_text = f"{max(0.0, step.duration_s - self.elapsed):.0f} s"
            return state
        step, mv = self._step(), self._m.movement
        state.title = f"{self.step_index + 1}/{len(self.routine.steps)}  {step.name}"
        state.subtitle = step.fingers or mv.instruction
        state.rep_text = f"repetition {min(self.rep_index + (self.phase != 'instruct'), step.reps)} of {step.reps}"
        if self.phase == "instruct":
            state.big_text = f"get ready {max(0.0, INSTRUCT_S - self.elapsed):.0f}"
        elif self.phase == "move":
            left = self.move_s - self.elapsed
            state.big_text = "MOVE" if self.elapsed < MOVE_LEAD_S else "HOLD"
            state.hold_text = f"hold {max(left, 0):.1f} s"
        else:
            state.big_text = "relax"
        self._fill_bars(state)
        done = self._current_result().reps
        if done:
            state.symmetry_text = last_rep_text(done[-1], self._n.mm_per_unit)
        return state

    def _fill_bars(self, state: OverlayState) -> None:
        mv = self._m.movement
        if "eye" in mv.regions:  # closure as a share of the open eye
            target = {s: float(M.eye_aperture(self._n.xyz, s)) for s in L.SIDES}
        else:
            nominal = 4 * mv.min_amplitude_pct_iod / 100 * self._n.iod
            t = max(nominal, self._best.get(mv.id, 0.0))
            target = {s: t for s in L.SIDES}
        for s in L.SIDES:
            v = self.smoothed(s)
            if self._m.hands_on and not math.isfinite(v):  # the fingers' side (both: no face)
                state.bar_text[s] = "covered"
            if math.isfinite(v):
                state.bars[s] = max(v, 0.0) / target[s]
                state.bar_text[s] = (
                    f"{100 * max(v, 0) / target[s]:.0f}% shut"
                    if "eye" in mv.regions
                    else f"{v * self._n.mm_per_unit:+.1f} mm"
                )

    def _summary_view(self, state: OverlayState) -> OverlayState:
        state.title = "Session summary"
        state.subtitle = "symmetry: today / last time / first time" + (
            "  (any key to close)" if self.summary_until_key else ""
        )
        state.lines = closing_summary(self)[1:]  # what was left undone included
        return state


def last_rep_text(rep: RepResult, mm_per_unit: float) -> str:
    """The line under the bars about the repetition just done."""
    s = rep.symmetry
    if s.status == "no movement":
        return "last rep: no movement"
    if s.status == R.COVERED_BOTH:
        return "last rep: covered by a hand, counted, not measured"
    if s.status == R.COVERED_ONE:
        seen = [side for side in L.SIDES if math.isfinite(rep.amplitude[side])]
        side = seen[0] if seen else "left"
        hidden = "right" if side == "left" else "left"
        return f"last rep: {side} {rep.amplitude[side] * mm_per_unit:.1f} mm ({hidden} covered)"
    return f"last rep symmetry {s.symmetry_pct:.0f}%  (weaker: {s.weaker_side})"


def closing_summary(session: ExerciseSession) -> list[str]:
    """What the terminal shows when a session ends, however it ended: the summary screen's
    lines (today's median symmetry beside the last and first session's, per movement) and
    what the routine still had that was not done."""
    lines = [f"{'movement':<{LABEL_W}} today / last / first (median symmetry)"]
    lines += summary_lines(session.results, session.history)
    undone = []
    for k, step in enumerate(session.routine.steps):
        name = step.name
        res = session.results[k] if k < len(session.results) else None
        if res is None:
            undone.append(name)
        elif res.skipped:
            undone.append(f"{name} (skipped)")
        elif not step.measured:
            if not res.completed:
                undone.append(f"{name} (stopped early)")
        elif len(res.reps) < step.reps:
            undone.append(f"{name} ({len(res.reps)} of {step.reps} repetitions)")
    if undone:
        lines.append("not done: " + ", ".join(undone))
    return lines


def summary_lines(results: list[StepResult], history: dict) -> list[str]:
    """One line per movement: today's median symmetry beside the last and first session's."""
    lines = []
    for res in results:
        if res.movement == MASSAGE:
            done = "skipped" if res.skipped else ("done" if res.completed else "stopped early")
            lines.append(f"{MASSAGE_NAME:<{LABEL_W}} {done}")
            continue
        today = res.median_symmetry()
        prev, first = history.get(variant_key(res.movement, res.variant), (math.nan, math.nan))

        def fmt(v):
            return "  --" if math.isnan(v) else f"{v:3.0f}%"

        trend = ""
        if not math.isnan(today) and not math.isnan(prev):
            delta = today - prev
            trend = (
                "  = same"
                if abs(delta) < 3
                else (f"  + better ({delta:+.0f})" if delta > 0 else f"  - worse ({delta:+.0f})")
            )
        label = step_name(res.movement, res.variant)[:LABEL_W]
        status = " (skipped)" if res.skipped and not res.reps else ""
        lines.append(f"{label:<{LABEL_W}} {fmt(today)} / {fmt(prev)} / {fmt(first)}{trend}{status}")
    return lines[:14]
