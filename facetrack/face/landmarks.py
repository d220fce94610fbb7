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

    brow: tuple[int, ...]  # upper and lower brow contour
    brow_inner: tuple[int, ...]  # medial third (corrugator pulls these)
    eye_outer: int
    eye_inner: int
    lid_pairs: tuple[tuple[int, int], ...]  # (upper, lower) lid points across the fissure
    iris_h: tuple[int, int]  # horizontal iris edge points
    iris_center: int
    alar: tuple[int, ...]  # lateral nostril wing
    alar_base: tuple[int, ...]  # where the ala meets the cheek
    mouth_corner: tuple[int, ...]  # outer and inner commissure
    upper_lip: tuple[int, ...]  # upper lip, this side of the philtrum
    lower_lip: tuple[int, ...]  # lower lip, this side of the midline
    lip_inner_pairs: tuple[tuple[int, int], ...]  # (upper, lower) inner lip points
    # contours, lateral to medial (for the Emotrics-grade measures, face/emotrics.py)
    upper_lid: tuple[int, ...] = ()  # upper lid margin, outer to inner canthus
    lower_lid: tuple[int, ...] = ()  # lower lid margin, outer to inner canthus
    brow_upper: tuple[int, ...] = ()  # upper edge of the brow, lateral to medial


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
    upper_lid=(263, 466, 388, 387, 386, 385, 384, 398, 362),
    lower_lid=(263, 249, 390, 373, 374, 380, 381, 382, 362),
    brow_upper=(300, 293, 334, 296, 336),
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
    upper_lid=(33, 246, 161, 160, 159, 158, 157, 173, 133),
    lower_lid=(33, 7, 163, 144, 145, 153, 154, 155, 133),
    brow_upper=(70, 63, 105, 66, 107),
)

BY_SIDE = {"left": LEFT, "right": RIGHT}

# Facial midline, top to bottom.
MIDLINE = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 2, 164, 0, 13, 14, 17, 152)
NOSE_BRIDGE = (168, 6, 197, 195)
UPPER_LIP_CENTER = 0
# Lip contours across the mouth, patient's right commissure (61) to left (291).
LOWER_LIP_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIP_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIP_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
LOWER_LIP_CENTER = 17
CHIN = 152

# Points that expressions barely move: upper forehead, nose bridge, the face outline at the
# temples and cheekbones.  Head pose is removed by aligning on these, so a raised brow or a
# smile is never mistaken for head motion.  (The forehead rows right above the brows are
# left out on purpose: frontalis drags them.)
STABLE = (10, 338, 109, 297, 67, 151, 9, 8, 168, 6, 197, 195, 5, 127, 356, 234, 454, 162, 389, 21, 251, 93, 323)

# The head turn of each frame is refitted on the STABLE points away from what a movement moves
# (face.geometry.turned_onto, face.movements.Movement.frontal).  MediaPipe's own head rotation
# is a fit of the whole mesh, which the movement itself tilts: on ground truth a symmetric "i"
# spread read 87% (a fit on every STABLE point: 94.5%).  But a fit on them all made a real
# frozen half of an "oh" read 36-39% moving, and one on the forehead alone a frozen brow 17%
# (calibration/VALIDATION.md): each movement drags some of them.  So each region's set leaves
# out what that movement may move: the lower cheek outline (234/454, 93/323, drawn in by an
# "oh") and the nose tip (195, 5, pulled by the upper lip) for the mouth; the forehead rows and
# the glabella (10-67, 151, 9, 8, 168: frontalis, corrugator, procerus) for the brow and eyes;
# the nose itself for the nose.  Measured: VALIDATION.md, estimator 8.
_FOREHEAD = (10, 338, 109, 297, 67, 151, 9)
_UPPER_OUTLINE = (127, 356, 162, 389, 21, 251)
_LOWER_OUTLINE = (127, 356, 234, 454, 93, 323)
TURN_POINTS = {
    "mouth": _FOREHEAD + (8, 168, 6) + _UPPER_OUTLINE,
    "nose": _FOREHEAD + _UPPER_OUTLINE + (234, 454),
    "brow": (6, 197, 195, 5) + _LOWER_OUTLINE,
    "eye": (6, 197, 195, 5) + _LOWER_OUTLINE,
}

# Face outline, for the "partly out of frame" check and drawing.
FACE_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)

REGIONS = ("brow", "eye", "nose", "mouth")


def region_landmarks(side: str, region: str) -> tuple[int, ...]:
    """The landmarks of one side that a region's measures read (face.measures): what a
    finger over that region hides (analysis.meter, hands-on variants)."""
    g = BY_SIDE[side]
    return {
        "brow": g.brow,
        "eye": g.upper_lid + g.lower_lid,
        "nose": g.alar + g.alar_base,
        "mouth": g.mouth_corner + g.upper_lip + g.lower_lip,
    }[region]


# The landmark each one becomes in the mirror image (a face flipped left-right): its
# counterpart on the other side, itself on the midline.  Mesh points 0-467 are the exact
# mirror pairs of the canonical face in the bundled model (geometry metadata, symmetric to
# float precision; tests/test_layout.py checks it); iris centres 468 <-> 473 and the rings
# 469-472 <-> 476, 475, 474, 477 were paired on a real frontal face and its flip.
# fmt: off
MIRROR = (
    0, 1, 2, 248, 4, 5, 6, 249, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    250, 251, 252, 253, 254, 255, 256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269,
    270, 271, 272, 273, 274, 275, 276, 277, 278, 279, 280, 281, 282, 283, 284, 285, 286, 287, 288, 289,
    290, 291, 292, 293, 294, 295, 296, 297, 298, 299, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309,
    310, 311, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321, 322, 323, 94, 324, 325, 326, 327, 328,
    329, 330, 331, 332, 333, 334, 335, 336, 337, 338, 339, 340, 341, 342, 343, 344, 345, 346, 347, 348,
    349, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 360, 361, 362, 363, 364, 365, 366, 367, 368,
    369, 370, 371, 372, 373, 374, 375, 376, 377, 378, 379, 151, 152, 380, 381, 382, 383, 384, 385, 386,
    387, 388, 389, 390, 164, 391, 392, 393, 168, 394, 395, 396, 397, 398, 399, 175, 400, 401, 402, 403,
    404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 195, 419, 197, 420, 199,
    200, 421, 422, 423, 424, 425, 426, 427, 428, 429, 430, 431, 432, 433, 434, 435, 436, 437, 438, 439,
    440, 441, 442, 443, 444, 445, 446, 447, 448, 449, 450, 451, 452, 453, 454, 455, 456, 457, 458, 459,
    460, 461, 462, 463, 464, 465, 466, 467, 3, 7, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
    30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49,
    50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69,
    70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89,
    90, 91, 92, 93, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110,
    111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130,
    131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150,
    153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 165, 166, 167, 169, 170, 171, 172, 173, 174,
    176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 196,
    198, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219,
    220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239,
    240, 241, 242, 243, 244, 245, 246, 247, 473, 476, 475, 474, 477, 468, 471, 470, 469, 472,
)
# fmt: on
