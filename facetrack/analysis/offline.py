"""Offline analysis of one movement video, the twin of the live session's measures."""

from __future__ import annotations

from facetrack.analysis.meter import Analysis, analyze_tracked, frame_flags
from facetrack.analysis.rows import frame_record, landmark_row
from facetrack.capture.source import FrameSource
from facetrack.errors import FacetrackError
from facetrack.face import landmarks as L
from facetrack.face.movements import FREE, HANDS_ON, get_movement
from facetrack.face.pipeline import Tracker


def measured_points(movement) -> list[int]:
    """The landmarks a movement's measure looks at (drawn small on the overlay)."""
    return sorted({i for side in L.SIDES for i in movement.landmarks(side)})


def run_analysis(
    video: str,
    movement_id: str,
    affected: str | None = None,
    mirrored: bool = False,
    model=None,
    rest_s: float = 1.0,
    keep_points: bool = False,
    recorded: list | None = None,
    step: int = 0,
    landmarker=None,
    variant: str = FREE,
) -> tuple[Analysis, list, FrameSource]:
    """Analyse one movement video (what ``facetrack analyze`` and ``import`` run).

    Returns the analysis, the measured points per frame (with ``keep_points``, for the
    overlay) and the source.  ``recorded``, if given, receives the (FrameRecord, LandmarkRow)
    of every frame as the store keeps them under routine step ``step``.  ``landmarker``: another
    than MediaPipe's (the validations replay stored faces, calibration/faces.py)."""
    movement = get_movement(movement_id)
    if variant != FREE and variant not in HANDS_ON.get(movement.id, {}):
        given = ", ".join(HANDS_ON.get(movement.id, {})) or "none"
        raise FacetrackError(f"{movement.id} has no variant {variant!r} (the programme gives: {given})")
    source = FrameSource(video, mirrored=mirrored)
    points: list = []
    idx = measured_points(movement)

    def on_frame(t, v, meter):
        if keep_points:
            points.append(t.face.xy[idx].copy() if t.face.face_found else None)
        if recorded is not None:
            recorded.append(
                (
                    frame_record(step, movement.id, "import", t, v, frame_flags(t, v), meter.neutral.mm_per_unit),
                    landmark_row(step, t),
                )
            )

    with Tracker(model, landmarker) as tracker:
        analysis = analyze_tracked(
            tracker.run(source, progress=True), movement, affected, rest_s, on_frame, hands_on=variant != FREE
        )
    if source.problem:
        raise FacetrackError(source.problem)
    return analysis, points, source
