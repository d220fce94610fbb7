"""Every landmark group facetrack uses, defined once.

Indices are MediaPipe Face Mesh (478 points, with iris).  MediaPipe's ``LEFT_*`` sets are
the *patient's* left (the side that appears on the image right in an unmirrored camera
frame), so ``LEFT`` here always means the patient's left.
"""

from __future__ import annotations

from dataclasses import dataclass

N_LANDMARKS = 478
SIDES = ("left", "right")


@dataclass(frozen=True)
class SideGroups:
    """The landmark indices of one side of the face."""

    brow: tuple[int, ...]          # upper and lower brow contour
    brow_inner: tuple[int, ...]    # medial third (corrugator pulls these)
    eye_outer: int
    eye_inner: int
    lid_pairs: tuple[tuple[int, int], ...]  # (upper, lower) lid points across the fissure
    iris_h: tuple[int, int]        # horizontal iris edge points
    iris_center: int
    alar: tuple[int, ...]          # lateral nostril wing
    alar_base: tuple[int, ...]     # where the ala meets the cheek
    mouth_corner: tuple[int, ...]  # outer and inner commissure
    upper_lip: tuple[int, ...]     # upper lip, this side of the philtrum
    lower_lip: tuple[int, ...]     # lower lip, this side of the midline
    lip_inner_pairs: tuple[tuple[int, int], ...]  # (upper, lower) inner lip points


LEFT = SideGroups(
    brow=(300, 293, 334, 296, 336, 276, 283, 282, 295, 285),
    brow_inner=(336, 296, 285, 295),
    eye_outer=263,
    eye_inner=362,
    lid_pairs=((385, 380), (386, 374), (387, 373)),
    iris_h=(474, 476),
    iris_center=473,
    alar=(294, 327, 358, 278),
    alar_base=(358, 429, 279),
    mouth_corner=(291, 308),
    upper_lip=(267, 269, 270, 409),
    lower_lip=(314, 405, 321, 375),
    lip_inner_pairs=((312, 317), (311, 402), (310, 318)),
)

RIGHT = SideGroups(
    brow=(70, 63, 105, 66, 107, 46, 53, 52, 65, 55),
    brow_inner=(107, 66, 55, 65),
    eye_outer=33,
    eye_inner=133,
    lid_pairs=((158, 153), (159, 145), (160, 144)),
    iris_h=(469, 471),
    iris_center=468,
    alar=(64, 98, 129, 48),
    alar_base=(129, 209, 49),
    mouth_corner=(61, 78),
    upper_lip=(37, 39, 40, 185),
    lower_lip=(84, 181, 91, 146),
    lip_inner_pairs=((82, 87), (81, 178), (80, 88)),
)

BY_SIDE = {"left": LEFT, "right": RIGHT}

# Facial midline, top to bottom.
MIDLINE = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 2, 164, 0, 13, 14, 17, 152)
NOSE_BRIDGE = (168, 6, 197, 195)
UPPER_LIP_CENTER = 0
LOWER_LIP_CENTER = 17
CHIN = 152

# Points that expressions barely move: upper forehead, nose bridge, the face outline at the
# temples and cheekbones.  Head pose is removed by aligning on these, so a raised brow or a
# smile is never mistaken for head motion.  (The forehead rows right above the brows are
# left out on purpose: frontalis drags them.)
STABLE = (10, 338, 109, 297, 67, 151, 9, 8, 168, 6, 197, 195, 5,
          127, 356, 234, 454, 162, 389, 21, 251, 93, 323)

# Face outline, for the "partly out of frame" check and drawing.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
             400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
             54, 103, 67, 109)

REGIONS = ("brow", "eye", "nose", "mouth")
