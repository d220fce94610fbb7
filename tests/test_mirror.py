"""A clip and its mirror image read the same face, sides swapped (issue 10)."""

import numpy as np

from facetrack.capture.landmarker import BLENDSHAPE_NAMES, FaceFrame
from facetrack.capture.mirror import average, unflip
from facetrack.capture.model import canonical_face_xyz
from facetrack.face import geometry
from facetrack.face import landmarks as L
from facetrack.face import measures as M


def test_mirror_pairs_are_those_of_the_canonical_face():
    xyz = canonical_face_xyz()
    assert xyz.shape == (468, 3)
    mirror = np.array(L.MIRROR)
    assert (mirror[mirror] == np.arange(L.N_LANDMARKS)).all()
    flipped = xyz[mirror[:468]] * [-1, 1, 1]
    assert np.abs(flipped - xyz).max() < 1e-4
    # every side group is the mirror of the other side's
    for name in L.LEFT.__dataclass_fields__:
        a = np.array(getattr(L.LEFT, name)).ravel()
        b = np.array(getattr(L.RIGHT, name)).ravel()
        assert sorted(mirror[a]) == sorted(b), name


def _canonical_px(shift_x=320.0) -> np.ndarray:
    """478 points: the canonical face at ~12 px per cm, irises a ring in each eye."""
    canon = canonical_face_xyz()
    iris = []
    for side in (L.RIGHT, L.LEFT):  # 468-472 are the right eye's, 473-477 the left's
        c = canon[[side.eye_outer, side.eye_inner]].mean(axis=0)
        iris += [c, c + [0.5, 0, 0], c + [0, 0.5, 0], c - [0.5, 0, 0], c - [0, 0.5, 0]]
    return np.vstack([canon, iris]) * [12, -12, 12] + [shift_x, 240, 0]


def _face(xyz_px, width=640, yaw=0.0):
    from scipy.spatial.transform import Rotation

    transform = np.eye(4, dtype=np.float32)
    transform[:3, :3] = Rotation.from_euler("y", yaw, degrees=True).as_matrix()
    transform[:3, 3] = [1.0, -2.0, -50.0]
    blend = np.linspace(0, 1, len(BLENDSHAPE_NAMES), dtype=np.float32)
    return FaceFrame(0, 0.0, (width, 480), True, 1, xyz_px.astype(np.float32), blend, transform)


def test_averaged_reading_of_a_clip_and_its_flip_are_mirror_images():
    rng = np.random.default_rng(3)
    px = _canonical_px() + rng.normal(0, 1.5, (478, 3))
    # a landmarker that reads the image and its flip differently: a bias that does not flip
    own = _face(px)
    biased = px + [2.0, 0.5, 0.0]
    flip_read = unflip(_face(biased))  # its reading of the flipped image (unflip is its own inverse)
    a = average(own, unflip(flip_read))
    # the mirrored clip: its own reading is the flip of ours, and its flip reading is ours
    b = average(flip_read, unflip(own))
    back = unflip(b)
    assert np.abs(back.xyz_px - a.xyz_px).max() < 1e-3
    assert abs(back.yaw_deg - a.yaw_deg) < 1e-6 and abs(back.roll_deg - a.roll_deg) < 1e-6
    assert np.allclose(back.blendshapes, a.blendshapes)
    # and the sides swap: the patient's left eye aperture of one is the right of the other
    na, nb = geometry.normalise(a), geometry.normalise(b)
    assert na is not None and nb is not None
    assert abs(M.eye_aperture(na.xyz, "left") - M.eye_aperture(nb.xyz, "right")) < 1e-4


def test_a_flipped_reading_of_another_face_is_not_averaged_in():
    px = _canonical_px(200.0)
    own = _face(px)
    other = _face(px + [300, 0, 0])
    assert average(own, other) is own
    missing = FaceFrame(0, 0.0, (640, 480), False)
    assert average(own, missing) is own and average(missing, own) is missing
