"""Model-free answers that a trained model must beat: copying the source, and warping it part by part."""

from __future__ import annotations

import numpy as np
import torch

from ..parsing import to_onehot
from ..pose import part_transforms, warp_parsing, warp_parts


def part_warp_baseline(source: dict, target_keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The source (``image`` (H, W, 3) uint8, ``keypoints``, ``parsing``) moved to ``target_keypoints`` by the
    10 rigid-part affines f_j: the parts' pixels where they land, the source image elsewhere (so the source
    person's ghost stays where no part covers it). Returns the image and the warped parsing (H, W)."""
    size = source["image"].shape[:2]
    tr = part_transforms(
        torch.tensor(source["keypoints"])[None].float(),
        torch.from_numpy(np.asarray(target_keypoints, dtype=np.float32))[None],
    )
    # One warp moves the image and a coverage channel together (the part masks are rasterised once).
    # 0-255 on purpose: pixels partly covered by a part blend with black, as the published figures were measured
    image = torch.tensor(source["image"]).permute(2, 0, 1)[None].float()
    moved = warp_parts(torch.cat([image, torch.ones(1, 1, *size)], 1), tr)[0].permute(1, 2, 0).numpy()
    covered = moved[..., 3:] > 0.5
    warped = np.where(covered, moved[..., :3], source["image"]).round().clip(0, 255).astype(np.uint8)
    parsing = warp_parsing(to_onehot(torch.tensor(source["parsing"]).long())[None], tr)[0].argmax(0).numpy()
    return warped, parsing.astype(np.uint8)
