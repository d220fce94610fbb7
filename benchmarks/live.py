"""Live-loop benchmark: does the exercise loop keep up with a 30 fps 640x480 camera, and does
its memory stay flat over a long session?

    python benchmarks/live.py                 # 60 s of camera time: fps, drops, latency
    python benchmarks/live.py --minutes 30    # a 30-minute session: RSS over time as well
    python benchmarks/live.py --minutes 5 --step-s 20   # many short steps, as a real routine has

A generated session video (calibration/synth.py) plays as the camera: paced in real time,
frames the loop is too slow for are dropped as a camera's would be, never queued.  It runs
the very loop `facetrack exercise` runs (``run_session``: Tracker -> ExerciseSession -> sinks,
the Recorder writing a real database); only the window is left out (the displayed image is
made by a sink that draws it).
Latency is from the moment a frame is handed over to the moment its overlay image is ready.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calibration.synth import load_base_face, session_video
from facetrack.capture.source import Frame, FrameSource
from facetrack.face.pipeline import Tracker
from facetrack.live.routine import Routine, Step
from facetrack.live.runner import run_session
from facetrack.live.session import ExerciseSession
from facetrack.storage.recorder import Recorder
from facetrack.storage.store import Store

MOVES = ("brow_raise", "lip_spread_i", "nostril_flare")


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def camera(video: Path, seconds: float):
    """Replays ``video`` as a 30 fps camera for ``seconds``: real-time pacing, drops counted."""
    frames = [f.image_bgr for f in FrameSource(str(video))]
    fps = 30.0
    t0 = time.monotonic()
    stats = {"dropped": 0, "delivered": 0}
    last = -1
    while True:
        now = time.monotonic() - t0
        if now >= seconds:
            return stats
        index = int(now * fps)
        if index == last:
            time.sleep(max(0.0, (index + 1) / fps - now))
            continue
        stats["dropped"] += max(0, index - last - 1)
        last = index
        stats["delivered"] += 1
        yield Frame(frames[index % len(frames)], index / fps, index), stats


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=1.0)
    p.add_argument(
        "--step-s",
        type=float,
        default=None,
        help="length of each routine step (the movements in turn); default: the run split in three",
    )
    args = p.parse_args()
    seconds = args.minutes * 60
    work = Path(tempfile.mkdtemp(prefix="facetrack-bench-"))
    video = work / "camera.mp4"
    steps = [(m, 2, 2.0, 2.0) for m in MOVES]
    session_video(steps, video, load_base_face())
    if args.step_s is None:
        reps = max(2, int(seconds / (len(MOVES) * 5)) + 2)  # enough repetitions to last the whole run
        routine = Routine("bench", tuple(Step(m, reps, 2.0, 2.0) for m in MOVES))
    else:
        # a repetition is about 5 s (2 s hold, 2 s rest, the lead in); each step begins with
        # its instructions and rest, so a step lasts a little more than its repetitions
        n_steps = int(seconds / args.step_s) + 2
        reps = max(1, int(args.step_s / 5))
        routine = Routine("bench", tuple(Step(MOVES[k % len(MOVES)], reps, 2.0, 2.0) for k in range(n_steps)))
    store = Store(work / "data")
    samples: list[tuple[float, float]] = []
    at_step: list[tuple[float, int, float]] = []  # (s, routine step, RSS MB) as each step begins
    stats: dict = {}
    start = time.monotonic()

    class Drawn:
        """Makes the window's image without a window, and samples memory now and then."""

        next_sample = 0.0
        step = None

        def on_frame(self, out):
            out.image  # noqa: B018 - the overlay is drawn as the window would draw it
            now = time.monotonic() - start
            if out.record is not None and out.record.step != self.step:
                self.step = out.record.step
                at_step.append((now, self.step, rss_mb()))
            if now >= self.next_sample:
                samples.append((now, rss_mb()))
                self.next_sample += max(10.0, seconds / 30)

    def frames():
        for frame, st in camera(video, seconds):
            stats.update(st)
            yield frame

    with Tracker() as tracker:
        rec = Recorder(store, store.patient_id("bench"), routine.name, tracker.model_sha256, {}, "bench")
        session = ExerciseSession(routine, max_calibration_tries=3)
        end = run_session(frames(), tracker, session, [rec, Drawn()], source_fps=30.0)
    latencies = end.latencies_s
    elapsed = time.monotonic() - start
    lat = np.array(latencies) * 1000
    print(
        f"camera: 640x480 at 30 fps for {elapsed:.0f} s ({stats.get('delivered', 0) + stats.get('dropped', 0)} frames)"
    )
    print(
        f"processed: {len(lat)} frames = {len(lat) / elapsed:.1f} fps; "
        f"dropped (never queued): {stats.get('dropped', 0)}"
    )
    print(
        f"latency frame -> overlay: median {np.median(lat):.0f} ms, 95th percentile {np.percentile(lat, 95):.0f} ms, "
        f"max {lat.max():.0f} ms (goal < 100 ms)"
    )
    reps = len(store.reps(rec.session_id))
    print(f"repetitions recorded: {reps}; database {(work / 'data' / 'facetrack.sqlite').stat().st_size / 1e6:.1f} MB")
    t = np.array([s[0] for s in samples])
    m = np.array([s[1] for s in samples])
    print("memory (RSS MB) over the session: " + ", ".join(f"{a / 60:.1f} min {b:.0f}" for a, b in samples))
    print("RSS as each step began: " + ", ".join(f"step {k} at {a / 60:.1f} min {b:.0f}" for a, k, b in at_step))
    if len(t) > 3:
        half = len(t) // 2
        slope = np.polyfit(t[half:], m[half:], 1)[0] * 60
        print(
            f"RSS first {m[0]:.0f} MB, last {m[-1]:.0f} MB, max {m.max():.0f} MB; "
            f"slope over the second half {slope:+.2f} MB/min"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
