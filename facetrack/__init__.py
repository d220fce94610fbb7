"""facetrack: per-side facial movement measurement for facial-paralysis rehabilitation."""

import os as _os

# Native libraries print to stderr on import and on every odd frame; a user must see
# one clear line from us instead.  These must be set before cv2 / mediapipe load.
_os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
_os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
_os.environ.setdefault("GLOG_minloglevel", "3")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
