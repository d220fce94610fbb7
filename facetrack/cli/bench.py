"""``facetrack bench``: what users run, timed as they run it, beside the bare landmarker.

Every figure comes from one run on one machine, so they are compared as ratios: the bare
MediaPipe landmarker (decode + detect, no start-up) is timed first, then ``track`` and
``analyze`` as whole commands in fresh processes (start-up, decode, landmarks, measures,
CSV), then the live loop (``run_session``) fed by a camera replayed in real time, which drops
the frames the loop is too slow for, as a webcam does.  The machine's load is printed before
and after: on a shared machine the same code runs slower.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from facetrack.capture.landmarker import Landmarker
from facetrack.capture.sample_data import sample_path
from facetrack.capture.source import Frame, FrameSource
from facetrack.errors import FacetrackError

DEFAULT_CLIP = "week1_lip_spread_i.mp4"


def _cpu_s() -> float:
    """CPU seconds this process has used so far, all its threads (MediaPipe's and OpenCV's too)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _bare_fps(frames: list[Frame], model) -> tuple[float, float]:
    """(frames/s, CPU ms a frame) of the bare landmarker."""
    with Landmarker(model) as lm:
        lm.detect_raw(frames[0])  # graph start-up is not per-frame cost
        t0, c0 = time.perf_counter(), _cpu_s()
        for f in frames[1:]:
            lm.detect_raw(f)
        n = len(frames) - 1
        return n / (time.perf_counter() - t0), 1000 * (_cpu_s() - c0) / n


def _command(args: list[str]) -> tuple[float, float, int, float]:
    """Run ``facetrack ARGS`` in a fresh process: (wall seconds, peak RSS MB, exit code, CPU
    seconds of all its threads)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "facetrack", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if proc.stderr is not None:
        proc.stderr.close()
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime


def _paced(frames: list[Frame], fps: float, seconds: float, stats: dict):
    """``frames`` looped as a camera delivering ``fps`` in real time for ``seconds``."""
    t0 = time.monotonic()
    last = -1
    while (now := time.monotonic() - t0) < seconds:
        index = int(now * fps)
        if index == last:
            time.sleep(max(0.0, (index + 1) / fps - now))
            continue
        stats["dropped"] += max(0, index - last - 1)
        stats["delivered"] += 1
        last = index
        yield Frame(frames[index % len(frames)].image_bgr, index / fps, index)


def _live(frames: list[Frame], fps: float, seconds: float, model, movement: str) -> dict:
    from facetrack.face.pipeline import Tracker
    from facetrack.live.routine import Routine, Step
    from facetrack.live.runner import run_session
    from facetrack.live.session import ExerciseSession
    from facetrack.storage.recorder import Recorder
    from facetrack.storage.store import Store

    stats = {"dropped": 0, "delivered": 0}
    routine = Routine("bench", (Step(movement, 1000, 2.0, 2.0),))  # longer than the run

    class Drawn:  # the window's image is made, as the window would make it
        def on_frame(self, out) -> None:
            _ = out.image

    with tempfile.TemporaryDirectory(prefix="facetrack-bench-") as tmp, Store(tmp) as store, Tracker(model) as tracker:
        c0 = _cpu_s()
        recorder = Recorder(store, store.patient_id("bench"), routine.name, tracker.model_sha256, {}, "bench")
        session = ExerciseSession(routine, max_calibration_tries=3)
        end = run_session(_paced(frames, fps, seconds, stats), tracker, session, [recorder, Drawn()], source_fps=fps)
        cpu_ms = 1000 * (_cpu_s() - c0) / max(end.frames, 1)
    lat = np.array(end.latencies_s) * 1000 if end.latencies_s else np.zeros(1)
    return {
        "fps": end.frames / max(end.elapsed_s, 1e-9),
        "dropped": stats["dropped"],
        "offered": stats["dropped"] + stats["delivered"],
        "p50": float(np.percentile(lat, 50)),
        "p95": float(np.percentile(lat, 95)),
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_ms": cpu_ms,
    }


def run(args) -> int:
    clip = Path(args.source) if args.source else sample_path(DEFAULT_CLIP)
    frames = list(FrameSource(str(clip), mirrored=args.mirrored))[: args.frames]
    if len(frames) < 10:
        raise FacetrackError(f"{clip} has only {len(frames)} frames; need at least 10 to time")
    load0 = os.getloadavg()
    w, h = frames[0].resolution_wh
    print(
        f"clip: {clip.name}, {len(frames)} frames {w}x{h}; {os.cpu_count()} CPUs, "
        f"load average {load0[0]:.2f} at the start"
    )
    bare, bare_cpu = _bare_fps(frames, args.model)
    print(f"{'what':<34} {'frames/s':>9} {'x bare':>7} {'peak MB':>8} {'CPU ms/frame':>13}")
    print(f"{'bare landmarker (no start-up)':<34} {bare:9.1f} {1.0:7.2f} {'':>8} {bare_cpu:13.1f}")
    model = ["--model", args.model] if args.model else []
    mirrored = ["--mirrored"] if args.mirrored else []
    n = len(frames)
    with tempfile.TemporaryDirectory(prefix="facetrack-bench-") as tmp:
        commands = {
            "track (whole command)": ["track", str(clip), "--out", f"{tmp}/t.csv", "--max-frames", str(n)],
            "analyze (whole command)": ["analyze", str(clip), "--movement", args.movement, "--csv", f"{tmp}/a.csv"],
        }
        for label, cmd in commands.items():
            wall, rss, code, cpu = _command(cmd + model + mirrored)
            frames_done = n if label.startswith("track") else FrameSource(str(clip)).frame_count or n
            fps = frames_done / wall
            note = "" if code in (0, 1) else f"  (exit {code})"
            print(f"{label:<34} {fps:9.1f} {bare / fps:7.2f} {rss:8.0f} {1000 * cpu / frames_done:13.1f}{note}")
    live = _live(frames, args.camera_fps, args.live_s, args.model, args.movement)
    print(
        f"{f'live loop, camera at {args.camera_fps:.0f} fps':<34} {live['fps']:9.1f} {bare / live['fps']:7.2f} "
        f"{live['rss']:8.0f} {live['cpu_ms']:13.1f}"
    )
    print(
        f"  live: {live['dropped']} of {live['offered']} camera frames dropped "
        f"({100 * live['dropped'] / max(live['offered'], 1):.0f}%), latency frame -> overlay "
        f"p50 {live['p50']:.0f} ms, p95 {live['p95']:.0f} ms"
    )
    cpus = os.cpu_count() or 1
    # what the machine could do at best: every core busy with nothing but this loop
    print(
        f"  live: {live['cpu_ms']:.0f} ms of CPU a frame; {cpus} CPUs can process at most "
        f"{1000 * cpus / max(live['cpu_ms'], 1e-9):.1f} frames/s of it"
    )
    load1 = os.getloadavg()
    print(
        f"load average {load1[0]:.2f} at the end (x bare: how many times the bare landmarker's time "
        "the same frames cost; CPU ms/frame: all threads, start-up included for whole commands)"
    )
    return 0
