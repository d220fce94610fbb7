"""facetrack: per-side facial movement measurement for facial-paralysis rehabilitation."""

import os as _os

# Native libraries print to stderr on import and on every odd frame; a user must see
# one clear line from us instead.  These must be set before cv2 / mediapipe load.
_os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
_os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
_os.environ.setdefault("GLOG_minloglevel", "3")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# OpenCV's Qt window complains about fonts it does not need on every start.
_os.environ.setdefault("QT_LOGGING_RULES", "*.debug=false;qt.*.warning=false;default.warning=false")
for _fonts in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype", "/usr/share/fonts"):
    if _os.path.isdir(_fonts):
        _os.environ.setdefault("QT_QPA_FONTDIR", _fonts)
        break

__version__ = "0.1.0"
