"""``facetrack exercise``: the live guided session (camera or video), window optional."""

from __future__ import annotations

import time
from pathlib import Path

import cv2

from facetrack.errors import FacetrackError
from facetrack.storage.history import previous_and_first
from facetrack.live.overlay import annotate
from facetrack.face.pipeline import Tracker
from facetrack.storage.recorder import Recorder
from facetrack.live.routine import load_routine
from facetrack.live.session import ExerciseSession
from facetrack.capture.source import FrameSource
from facetrack.storage.store import Store, clean_name

WINDOW = "facetrack"
DISPLAY_HEIGHT = 720
KEYS = {ord(" "): "space", ord("n"): "n", ord("r"): "r", ord("q"): "q", 27: "esc"}


class Display:
    """A thin OpenCV window: shows images, returns keys, notices the close button."""

    def __init__(self):
        try:
            cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        except cv2.error as exc:
            raise FacetrackError(f"cannot open a window ({str(exc).splitlines()[-1].strip()}); "
                                 "use --no-window with --overlay-out") from None
        self.shown = False

    def show(self, image) -> str | None:
        if not self.shown:  # big enough to read from an exercise distance
            h, w = image.shape[:2]
            scale = min(2.0, max(1.0, DISPLAY_HEIGHT / h))
            cv2.resizeWindow(WINDOW, int(w * scale), int(h * scale))
        cv2.imshow(WINDOW, image)
        code = cv2.waitKey(1) & 0xFF
        if self.shown and cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
            return "close"
        self.shown = True
        return KEYS.get(code)

    def close(self) -> None:
        cv2.destroyWindow(WINDOW)
        cv2.waitKey(1)


class VideoOut:
    def __init__(self, path: Path | None):
        self.path, self.writer = path, None

    def write(self, image) -> None:
        if self.path is None:
            return
        if self.writer is None:
            h, w = image.shape[:2]
            self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
            if not self.writer.isOpened():
                raise FacetrackError(f"cannot write video {self.path}")
        self.writer.write(image)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


def exercise(args) -> int:
    routine = load_routine(args.routine)
    patient = clean_name(args.patient)
    for p in (args.overlay_out, args.record_video):
        if p is not None and not Path(p).parent.exists():
            raise FacetrackError(f"output directory does not exist: {Path(p).parent}")
    if args.source is not None:
        source = FrameSource(args.source, mirrored=args.mirrored, realtime=args.realtime)
    else:
        source = FrameSource(args.camera, mirrored=args.mirrored)
    store = Store(args.data_dir)
    display = None if args.no_window else Display()
    overlay, raw_video = VideoOut(args.overlay_out), VideoOut(args.record_video)
    stats = LoopStats()
    with Tracker(args.model) as tracker:
        pid = store.patient_id(patient, affected=args.affected)
        settings = {"affected": args.affected, "mirror_display": not args.no_mirror, "source":
                    "camera" if args.source is None else "file", "record_video": bool(args.record_video)}
        recorder = Recorder(store, pid, routine.name, tracker.model_sha256, settings, source.name)
        session = ExerciseSession(routine, recorder, args.affected, mirrored=not args.no_mirror,
                                  history=previous_and_first(store, pid, recorder.session_id),
                                  max_calibration_tries=None if args.source is None and display else 6)
        try:
            for frame in source:
                captured = time.monotonic()
                t = tracker.process(frame)
                image = annotate(frame.image_bgr, session.step(t))
                raw_video.write(frame.image_bgr)
                overlay.write(image)
                if display is not None:
                    key = display.show(image)
                    if key:
                        session.key(key)
                stats.add(time.monotonic() - captured)
                if session.done:
                    break
            if not session.done:  # the source ended first
                session.key("q")
        finally:
            try:
                recorder.finish(complete=session.done and not session.ended_by_user and not session.failure
                                and session.step_index >= len(routine.steps), video_path=
                                str(args.record_video) if args.record_video else None)
            except FacetrackError:
                pass  # the disk refused the last write: the session stays "incomplete", earlier reps are saved
            overlay.close()
            raw_video.close()
            if display is not None:
                display.close()
            store.close()
    done = sum(len(r.reps) for r in session.results)
    print(f"session {recorder.session_id} for {patient}: {done} repetitions of "
          f"{sum(1 for r in session.results if r.reps)} movements recorded in {store.path}")
    print(f"frames {stats.n}, processed at {stats.fps():.1f} fps, median latency {stats.median_ms():.0f} ms"
          + (f", {source.dropped} dropped" if source.dropped else ""))
    if session.failure:
        raise FacetrackError(session.failure)
    if source.problem:
        raise FacetrackError(source.problem)
    return 0


class LoopStats:
    def __init__(self):
        self.latencies: list[float] = []
        self.t0 = time.monotonic()

    @property
    def n(self) -> int:
        return len(self.latencies)

    def add(self, latency_s: float) -> None:
        if len(self.latencies) < 100_000:  # bounded: a long session must not grow memory
            self.latencies.append(latency_s)

    def fps(self) -> float:
        return self.n / max(time.monotonic() - self.t0, 1e-9)

    def median_ms(self) -> float:
        import numpy as np
        return 1000 * float(np.median(self.latencies)) if self.latencies else 0.0


def sessions_cmd(args) -> int:
    with Store(args.data_dir, readonly=True) as store:
        rows = store.sessions(args.patient)
        if not rows:
            print("no sessions" + (f" for {args.patient}" if args.patient else ""))
            return 0
        print(f"{'id':>4}  {'patient':<20} {'started':<25} {'status':<10} {'kind':<8} {'movements':>9} {'reps':>5}")
        for r in rows:
            name = r["patient"] if len(r["patient"]) <= 20 else r["patient"][:19] + "~"
            print(f"{r['id']:>4}  {name:<20} {r['started_at']:<25} {r['status']:<10} {r['kind']:<8} "
                  f"{r['n_movements']:>9} {r['n_reps']:>5}")
    return 0
