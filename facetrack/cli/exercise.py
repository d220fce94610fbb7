"""``facetrack exercise``: the live guided session (camera or video), window optional."""

from __future__ import annotations

import contextlib
from pathlib import Path

from facetrack.capture.source import FrameSource
from facetrack.capture.video import VideoSink
from facetrack.errors import EXIT_FAILURE, FacetrackError
from facetrack.face.pipeline import Tracker
from facetrack.live.routine import load_routine
from facetrack.live.runner import run_session
from facetrack.live.session import ExerciseSession, closing_summary
from facetrack.live.window import Window
from facetrack.storage.history import previous_and_first
from facetrack.storage.recorder import Recorder
from facetrack.storage.store import Store, clean_name


def run(args) -> int:
    routine = load_routine(args.routine)
    patient = clean_name(args.patient)
    for p in (args.overlay_out, args.record_video, args.audio_out):
        if p is not None and not Path(p).parent.exists():
            raise FacetrackError(f"output directory does not exist: {Path(p).parent}")
    if args.source is not None:
        source = FrameSource(args.source, mirrored=args.mirrored, realtime=args.realtime)
    else:
        source = FrameSource(args.camera, mirrored=args.mirrored)
    window = None if args.no_window else Window()  # no display: say so before anything is recorded
    store = Store(args.data_dir)
    audio = None
    try:
        if not args.quiet or args.audio_out is not None:  # "no audio" is said before the session starts
            from facetrack.live.audio import AudioGuide

            audio = AudioGuide(play=not args.quiet, wav=args.audio_out)
        with Tracker(args.model) as tracker:
            pid = store.patient_id(patient, affected=args.affected)
            settings = {
                "affected": args.affected,
                "mirror_display": not args.no_mirror,
                "source": "camera" if args.source is None else "file",
                "record_video": bool(args.record_video),
            }
            recorder = Recorder(
                store, pid, routine.name, tracker.model_sha256, settings, source.name, video_path=args.record_video
            )
            session = ExerciseSession(
                routine,
                args.affected,
                mirrored=not args.no_mirror,
                history=previous_and_first(store, pid, recorder.session_id),
                max_calibration_tries=None if args.source is None and window else 6,
                view=args.view,
                summary_until_key=window is not None,
            )
            # the videos close before the recorder, which stores the raw video's path once it exists
            sinks: list = [
                VideoSink(p, overlay=o)
                for p, o in ((args.record_video, False), (args.overlay_out, True))
                if p is not None
            ]
            sinks += [recorder] + ([window] if window is not None else []) + ([audio] if audio is not None else [])
            end = run_session(source, tracker, session, sinks)
            if session.ended_early and args.source is not None and not session.failure and not source.problem:
                recorder.discard()
                raise FacetrackError(
                    f"{source.name} ended after {session.now:.1f} s, before calibration and one movement "
                    "were done: nothing saved (a session needs the face still for the calibration, then "
                    "each movement's repetitions)",
                    EXIT_FAILURE,
                )
    finally:
        store.close()
        if audio is not None:  # closed by the runner if the session ran; else here
            with contextlib.suppress(FacetrackError):
                audio.on_close(None)
    done = sum(len(r.reps) for r in session.results)
    if session.results:
        print("\n".join(closing_summary(session)))
    print(
        f"session {recorder.session_id} for {patient}: {done} repetitions of "
        f"{sum(1 for r in session.results if r.reps)} movements recorded in {store.path}"
    )
    # a paced file counts what it skipped; a camera's skipped frames show in its capture times
    missed = source.dropped or end.missed_frames
    print(
        f"frames {end.frames}, processed at {end.fps:.1f} fps, median latency {end.latency_ms():.0f} ms"
        + (
            f", {missed} of the source's {end.frames + missed} frames not processed "
            f"(it delivers {end.source_fps:.0f} frames/s)"
            if missed and end.source_fps
            else (f", {missed} dropped" if missed else "")
        )
    )
    if args.record_video and recorder.video_path:
        print(f"raw video kept (owner-only; deleted by `facetrack forget`): {recorder.video_path}")
    if end.sink_error:
        raise end.sink_error
    if session.failure:
        raise FacetrackError(session.failure)
    if source.problem:
        raise FacetrackError(source.problem)
    return 0
