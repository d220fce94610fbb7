"""Screenshots of the real session window, under a virtual display (Xvfb), keys by xdotool.

    python docs/screenshots/take.py            # writes docs/screenshots/window_*.png (~1 min)

A generated session (calibration/synth.py: the astronaut face, its left side at half
strength) plays as the camera in real time (`facetrack exercise --source V --realtime`)
through a routine of the massage, a brow raise and a tight eye closure.  The screen is
grabbed (xwd, converted by ImageMagick) at moments of the routine: calibration, the massage,
a movement's hold with its timer, PAUSED (space), the mesh view (m) and the summary.  Then a
hands-on step on real footage: tests/data/hand_brow_session.mp4 (a real brow raise with a real
hand over the patient's right brow, tests/data/make_hands_on.py) for its resisted brow raise,
grabbed in the second repetition's hold (window_hands_on.png).
Needs Xvfb, xdotool, xwd and ImageMagick's convert (apt-get install xvfb xdotool x11-apps
imagemagick).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).resolve().parent
DISPLAY = ":93"
MASSAGE_S = 10.0
STEPS = [("brow_raise", 2, 2.0, 2.0), ("eye_close_tight", 1, 2.0, 2.0)]
# (seconds of the session's own clock, what to do): a shot, or a key
PLAN = [
    (1.8, "shot calibration"),
    (3.0 + 4.0, "shot massage"),
    (13.0 + 4.0 + 1.0 + 1.2, "shot hold"),  # the first brow raise's hold, its timer running
    (13.0 + 4.0 + 5.0 + 0.5, "key m"),
    (13.0 + 4.0 + 5.0 + 2.0, "shot mesh_view"),  # the second one's hold, in the mesh view
    (13.0 + 4.0 + 5.0 + 2.5, "key m"),
    (13.0 + 14.0 + 4.0 + 3.0 + 0.5, "key space"),  # in the eye closure's rest
    (13.0 + 14.0 + 4.0 + 3.0 + 1.5, "shot paused"),
    (13.0 + 14.0 + 4.0 + 3.0 + 2.5, "key space"),
    (13.0 + 14.0 + 9.0 + 2.0 + 3.0, "shot summary"),  # the routine's end, 2 s later for the pause
]


def grab(name: str, env: dict) -> Path:
    target = OUT / f"window_{name}.png"
    xwd = subprocess.run(["xwd", "-root", "-silent"], env=env, capture_output=True, check=True).stdout
    subprocess.run(["convert", "xwd:-", "-trim", str(target)], input=xwd, check=True)
    return target


# the hands-on clip's own clock: 3 s calibration, 4 s instructions, then 1 s lead + 1 s hold and
# 2 s rest a repetition; the second repetition's hold
# (the window shows its first picture about 1 s into the clip: found by trying)
HANDS_ON_PLAN = [(3.0 + 4.0 + 4.0 + 1.0 + 0.6 - 1.0 + 2.0, "shot hands_on"), (17.5, "key q")]  # q closes the summary


def run_window(args: list[str], plan, env: dict) -> None:
    """``facetrack exercise ARGS`` in a window, following ``plan`` from its first picture."""
    proc = subprocess.Popen([sys.executable, "-m", "facetrack", "exercise", *args], env=env, cwd=ROOT)
    window = ""
    while not window and proc.poll() is None:
        time.sleep(0.1)
        found = subprocess.run(["xdotool", "search", "--name", "facetrack"], env=env, capture_output=True, text=True)
        window = found.stdout.split()[0] if found.stdout.split() else ""
    t0 = time.monotonic()
    for at, action in plan:
        time.sleep(max(0.0, at - (time.monotonic() - t0)))
        kind, what = action.split()
        if kind == "shot":
            print(grab(what, env))
        else:
            subprocess.run(["xdotool", "key", "--window", window, what], env=env, check=False)  # may have closed
    proc.wait(timeout=120)


def main() -> int:
    for tool in ("Xvfb", "xdotool", "xwd", "convert"):
        if shutil.which(tool) is None:
            print(f"needs {tool} (apt-get install xvfb xdotool x11-apps imagemagick)")
            return 1
    from calibration.synth import load_base_face, session_video

    work = Path(tempfile.mkdtemp(prefix="facetrack-shots-"))
    video = work / "session.mp4"
    # the face rests through the calibration and the massage, then moves on the schedule
    session_video(
        STEPS, video, load_base_face(), ratio=0.5, weak_side="left", calibration_s=3.0 + MASSAGE_S, tail_s=14.0
    )
    routine = work / "shots.toml"
    routine.write_text(
        f'name = "screenshots"\n[[movement]]\nid = "massage"\nduration_s = {MASSAGE_S}\n'
        + "".join(f'[[movement]]\nid = "{m}"\nreps = {n}\nhold_s = {h}\nrest_s = {r}\n' for m, n, h, r in STEPS)
    )
    xvfb = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", "1400x900x24"], stderr=subprocess.DEVNULL)
    env = dict(os.environ, DISPLAY=DISPLAY)
    try:
        time.sleep(1.0)
        common = ["--realtime", "--quiet", "--patient", "Screenshot", "--data-dir", str(work)]
        run_window(["--source", str(video), "--routine", str(routine), "--affected", "left", *common], PLAN, env)
        data = ROOT / "tests" / "data"
        hands_on = ["--source", str(data / "hand_brow_session.mp4"), "--routine", str(data / "hand_brow_session.toml")]
        run_window([*hands_on, *common], HANDS_ON_PLAN, env)
    finally:
        xvfb.terminate()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
