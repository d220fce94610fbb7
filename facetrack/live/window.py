"""The session window: a sink of the live runner that shows what the session draws and
gives back the user's keys (the close button counts as "close")."""

from __future__ import annotations

import os
import sys

import cv2

from facetrack.errors import FacetrackError

WINDOW = "facetrack"
DISPLAY_HEIGHT = 720
KEYS = {ord(" "): "space", ord("n"): "n", ord("r"): "r", ord("m"): "m", ord("q"): "q", 27: "esc"}


def display_available() -> bool:
    """An X or Wayland display to open a window on (Linux); other systems always have one."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class Window:
    def __init__(self) -> None:
        # Without a display OpenCV's Qt backend aborts the whole process (a core dump, no
        # message): check first and say what to do instead.
        if not display_available():
            raise FacetrackError(
                "no display to open the session window on: use --no-window "
                "(with --overlay-out FILE.mp4 to see what it would show)"
            )
        try:
            cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        except cv2.error as exc:
            raise FacetrackError(
                f"cannot open a window ({str(exc).splitlines()[-1].strip()}); use --no-window with --overlay-out"
            ) from None
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

    # -- as a sink -----------------------------------------------------------------
    def on_frame(self, out) -> str | None:
        return self.show(out.image)

    def on_close(self, end) -> None:
        cv2.destroyWindow(WINDOW)
        cv2.waitKey(1)
