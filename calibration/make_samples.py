"""Make the bundled sample clips in sample_videos/ (shipped as facetrack.samples).

    python -m calibration.make_samples

Each clip: the astronaut face (NASA, public domain) at rest for 1.5 s, then two repetitions
of one movement with a known weaker side, slow head sway and webcam noise.  The demo
patient's "weeks" are the same movements with the weak side recovering; sample_videos/
samples.json records each clip's true per-side amplitude and symmetry.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from calibration.synth import Case, load_base_face, make_video

OUT = Path(__file__).resolve().parent.parent / "sample_videos"
DEMO_MOVEMENTS = ("brow_raise", "eye_close_tight", "lip_spread_i")
DEMO_WEEKS = (0.35, 0.55, 0.7, 0.85)  # the patient's left recovering over four weeks


def main() -> int:
    base = load_base_face()
    index = {}
    for week, ratio in enumerate(DEMO_WEEKS, start=1):
        for k, movement in enumerate(DEMO_MOVEMENTS):
            case = Case(movement, ratio, "left", n_reps=2, seed=100 * week + k)
            name = f"week{week}_{movement}.mp4"
            truth = make_video(case, OUT / name, base)
            truth.pop("rep_spans_s")
            index[name] = dict(truth, week=week)
            print(name, f"true symmetry {truth['true_symmetry_pct']:.0f}%")
    (OUT / "samples.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
