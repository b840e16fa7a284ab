"""COCO-18 keypoints and everything SPT derives from them.

Conventions (the README's "Conventions"):

* keypoints are float arrays ``(18, 2)`` of ``(x, y)`` pixels in OpenPose COCO-18 order; a missing
  joint is ``(-1, -1)``. Integer coordinates are pixel centres.
* sizes are ``(height, width)``.
* ``P`` — pose heatmaps ``(B, 18, H, W)``: a Gaussian per joint, zeros for a missing joint.
* ``M_P`` — the pose mask ``(B, 1, H, W)`` of PG2: limbs drawn thick, the torso filled, dilated.
* ``B^j`` — the 10 rigid parts of Deformable GAN (torso, head, four arm and four leg segments), each a
  quadrilateral, and ``f_j`` the least-squares affine that carries part ``j`` from a source pose to a
  target pose. The same ``f_j`` serve the pseudo-label search (warping parsing parts) and the
  deformable skip connections of H_A (warping features).

The torch functions are batched over a leading dimension and run on the device of their input; the
numpy conveniences wrap them. One module per job: ``keypoints`` (names, constants, validation, rescaling),
``maps`` (heatmaps, the pose mask), ``parts`` (B^j and f_j), ``warp`` (moving things by the f_j),
``formats`` (PATN CSV and JSON files), ``drawing`` (skeletons); everything is importable from ``spt.pose``.
"""

from .drawing import draw_skeleton
from .formats import (
    PATN_HEADER,
    format_patn_row,
    keypoints_from_json,
    keypoints_to_json,
    load_keypoints_json,
    parse_patn_row,
    read_patn_csv,
    save_keypoints_json,
    write_patn_csv,
)
from .keypoints import (
    FACE_JOINTS,
    FRAME_WEIGHT,
    HEAD_JOINTS,
    KEYPOINT_NAMES,
    LIMB_END_EXTENSION,
    LIMB_HALF_WIDTH,
    LIMB_JOINTS,
    MIRROR_KEYPOINTS,
    MIRROR_PARTS,
    MISSING,
    NUM_KEYPOINTS,
    NUM_PARTS,
    PART_NAMES,
    SKELETON,
    SKELETON_COLORS,
    TORSO_JOINTS,
    default_sigma,
    is_present,
    mirror_keypoints,
    rescale_keypoints,
    scale_positions,
    validate_keypoints,
)
from .maps import pose_condition, pose_heatmaps, pose_mask
from .parts import (
    PartGeometry,
    PartTransforms,
    apply_affine,
    fit_affine,
    invert_affine,
    part_geometry,
    part_masks,
    part_transforms,
    polygon_masks,
    torso_scale,
)
from .warp import scale_transforms, warp_parsing, warp_parts

__all__ = [
    "PATN_HEADER",
    "FACE_JOINTS",
    "FRAME_WEIGHT",
    "HEAD_JOINTS",
    "KEYPOINT_NAMES",
    "LIMB_END_EXTENSION",
    "LIMB_HALF_WIDTH",
    "LIMB_JOINTS",
    "MIRROR_KEYPOINTS",
    "MIRROR_PARTS",
    "MISSING",
    "NUM_KEYPOINTS",
    "NUM_PARTS",
    "PART_NAMES",
    "SKELETON",
    "SKELETON_COLORS",
    "TORSO_JOINTS",
    "PartGeometry",
    "PartTransforms",
    "apply_affine",
    "default_sigma",
    "draw_skeleton",
    "fit_affine",
    "format_patn_row",
    "invert_affine",
    "is_present",
    "keypoints_from_json",
    "keypoints_to_json",
    "load_keypoints_json",
    "mirror_keypoints",
    "parse_patn_row",
    "part_geometry",
    "part_masks",
    "part_transforms",
    "polygon_masks",
    "pose_condition",
    "pose_heatmaps",
    "pose_mask",
    "read_patn_csv",
    "rescale_keypoints",
    "scale_positions",
    "save_keypoints_json",
    "scale_transforms",
    "torso_scale",
    "validate_keypoints",
    "warp_parsing",
    "warp_parts",
    "write_patn_csv",
]
