"""Image-based quality checks that need the picture, not only the landmarks."""

from __future__ import annotations

import cv2
import numpy as np

from facetrack.face import landmarks as L
from facetrack.capture.landmarker import FaceFrame

DARK_GREY = 45.0          # mean face brightness below this: too dark to measure
BRIGHT_SATURATED = 0.25   # more than this share of the face clipped white: overexposed
OCCLUDED_FRACTION = 0.15  # more of the face than this unexplained by skin motion: covered
STILL_IOD = 0.03          # the face must move less than this (SD, share of IOD) to calibrate


def lighting(image_bgr: np.ndarray, face: FaceFrame) -> dict[str, bool]:
    """Too dark / overexposed, judged inside the face outline's bounding box."""
    if not face.face_found:
        return {"too_dark": False, "overexposed": False}
    xy = face.xy[list(L.FACE_OVAL)]
    h, w = image_bgr.shape[:2]
    x0, y0 = np.clip(xy.min(axis=0).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(xy.max(axis=0).astype(int), 1, [w, h])
    roi = cv2.cvtColor(image_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY) if x1 > x0 and y1 > y0 else None
    if roi is None or roi.size == 0:
        return {"too_dark": False, "overexposed": False}
    return {"too_dark": float(roi.mean()) < DARK_GREY,
            "overexposed": float((roi >= 250).mean()) > BRIGHT_SATURATED}
