"""spt: Unsupervised Person Image Generation with Semantic Parsing Transformation (Song et al., CVPR 2019).

The public API. Networks and the pipeline arrive with their own modules; this package root stays light
(no diffusers import) so that data tools start fast.
"""

from .parsing import (
    ATR18_LABELS,
    LIP20_LABELS,
    NUM_LABELS,
    PALETTE,
    SPT10_LABELS,
    colorize,
    from_onehot,
    legend,
    load_parsing,
    merge_to_spt10,
    overlay,
    save_parsing,
    to_onehot,
)
from .pose import (
    KEYPOINT_NAMES,
    NUM_KEYPOINTS,
    NUM_PARTS,
    PART_NAMES,
    draw_skeleton,
    keypoints_from_json,
    keypoints_to_json,
    load_keypoints_json,
    part_masks,
    part_transforms,
    pose_heatmaps,
    pose_mask,
    read_patn_csv,
    save_keypoints_json,
    validate_keypoints,
    warp_parsing,
    warp_parts,
    write_patn_csv,
)

__all__ = [
    "ATR18_LABELS",
    "LIP20_LABELS",
    "NUM_LABELS",
    "PALETTE",
    "SPT10_LABELS",
    "colorize",
    "from_onehot",
    "legend",
    "load_parsing",
    "merge_to_spt10",
    "overlay",
    "save_parsing",
    "to_onehot",
    "KEYPOINT_NAMES",
    "NUM_KEYPOINTS",
    "NUM_PARTS",
    "PART_NAMES",
    "draw_skeleton",
    "keypoints_from_json",
    "keypoints_to_json",
    "load_keypoints_json",
    "part_masks",
    "part_transforms",
    "pose_heatmaps",
    "pose_mask",
    "read_patn_csv",
    "save_keypoints_json",
    "validate_keypoints",
    "warp_parsing",
    "warp_parts",
    "write_patn_csv",
    "SyntheticPeople",
    "make_dataset",
    "make_pairs",
    "SPTPipeline",
]

__version__ = "0.1.0"

_LAZY = {
    "SyntheticPeople": "spt.data.synthetic",
    "make_dataset": "spt.data.synthetic",
    "make_pairs": "spt.data.synthetic",
    "SPTPipeline": "spt.pipeline",
}


def __getattr__(name):
    # Imported on first use: the root stays light (no diffusers), and `python -m spt.data.synthetic` does
    # not import itself twice.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spt' has no attribute {name!r}")
