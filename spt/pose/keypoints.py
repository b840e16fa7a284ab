"""COCO-18 keypoints: names, skeleton and part constants, validation, presence, rescaling and mirroring."""

from __future__ import annotations

import numpy as np
import torch

NUM_KEYPOINTS = 18
KEYPOINT_NAMES = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)
MISSING = -1.0
FACE_JOINTS = (0, 14, 15, 16, 17)
# Index permutation that swaps the person's left and right.
MIRROR_KEYPOINTS = (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16)

# OpenPose's drawing order and colours.
SKELETON = (
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (1, 8),
    (8, 9),
    (9, 10),
    (1, 11),
    (11, 12),
    (12, 13),
    (1, 0),
    (0, 14),
    (14, 16),
    (0, 15),
    (15, 17),
)
SKELETON_COLORS = (
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (85, 0, 255),
    (170, 0, 255),
    (255, 0, 255),
    (255, 0, 170),
    (255, 0, 85),
)

PART_NAMES = (
    "torso",
    "head",
    "right_upper_arm",
    "right_forearm",
    "left_upper_arm",
    "left_forearm",
    "right_thigh",
    "right_shin",
    "left_thigh",
    "left_shin",
)
NUM_PARTS = len(PART_NAMES)
MIRROR_PARTS = (0, 1, 4, 5, 2, 3, 8, 9, 6, 7)
# Limb parts: part index -> (proximal joint, distal joint).
LIMB_JOINTS = {
    2: (2, 3),
    3: (3, 4),
    4: (5, 6),
    5: (6, 7),
    6: (8, 9),
    7: (9, 10),
    8: (11, 12),
    9: (12, 13),
}
TORSO_JOINTS = (2, 5, 11, 8)  # a cycle: r-shoulder, l-shoulder, l-hip, r-hip
HEAD_JOINTS = (1, 2, 5) + FACE_JOINTS

LIMB_HALF_WIDTH = 0.2  # times the torso scale
LIMB_END_EXTENSION = 0.15  # times the bone length, at both ends
FRAME_WEIGHT = 0.1  # weight of the part-frame corners in the least-squares fit of f_j


def default_sigma(height: int) -> float:
    """Heatmap sigma: 6 px at 256 rows, scaled with the image height."""
    return 6.0 * height / 256.0


def validate_keypoints(keypoints, size: tuple[int, int] | None = None, *, name: str = "keypoints") -> np.ndarray:
    """Return ``keypoints`` as a float32 array ``(..., 18, 2)`` or raise a ValueError that says what is wrong.

    Accepts lists, numpy arrays and tensors. Rejects a wrong shape, NaN/inf, and (when ``size`` is given)
    joints outside the ``(height, width)`` frame; ``(-1, -1)`` marks a missing joint and is always allowed.
    """
    if isinstance(keypoints, torch.Tensor):
        if keypoints.is_meta:
            raise ValueError(f"{name} is a meta tensor (no data): pass real keypoints")
        keypoints = (
            keypoints.detach().cpu().float().numpy()
            if keypoints.dtype == torch.bfloat16
            else keypoints.detach().cpu().numpy()
        )
    kind = getattr(getattr(keypoints, "dtype", None), "kind", None)
    if kind in ("b", "c"):
        raise ValueError(f"{name} must be real pixel coordinates, got a {'bool' if kind == 'b' else 'complex'} array")
    try:
        arr = np.asarray(keypoints, dtype=np.float32)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{name} must be numbers of shape (18, 2), got {type(keypoints).__name__}: {err}") from None
    if arr.ndim < 2 or arr.shape[-2:] != (NUM_KEYPOINTS, 2):
        raise ValueError(f"{name} must have shape (18, 2) (COCO-18 (x, y) pixels), got {tuple(arr.shape)}")
    if not np.isfinite(arr).all():
        bad = sorted({int(i) for i in np.argwhere(~np.isfinite(arr))[:, -2]})
        raise ValueError(f"{name} contain NaN or inf at joints {[KEYPOINT_NAMES[i] for i in bad]}")
    missing = (arr == MISSING).all(-1)
    outside = ~missing & (arr < 0).any(-1)
    if size is not None:
        height, width = size
        outside |= ~missing & ((arr[..., 0] > width - 1) | (arr[..., 1] > height - 1))
    if outside.any():
        bad = sorted({int(i) for i in np.argwhere(outside)[:, -1]})
        frame = f" the {size[0]}x{size[1]} (HxW) frame" if size is not None else " the frame (negative)"
        raise ValueError(
            f"{name}: joints {[KEYPOINT_NAMES[i] for i in bad]} lie outside{frame}; mark a missing joint as (-1, -1)"
        )
    return arr


def is_present(keypoints: torch.Tensor | np.ndarray):
    """Boolean ``(..., 18)``: True where a joint is given (not ``(-1, -1)`` or negative)."""
    return (keypoints[..., 0] >= 0) & (keypoints[..., 1] >= 0)


def _as_batch(keypoints) -> tuple[torch.Tensor, bool]:
    """(B, 18, 2) float tensor and whether the input was numpy/unbatched (to convert back)."""
    if isinstance(keypoints, torch.Tensor):
        kp = keypoints.float()
        squeeze = False
        if kp.dim() == 2:
            kp, squeeze = kp[None], True
        return kp, squeeze
    kp = torch.from_numpy(validate_keypoints(keypoints))
    return (kp[None], True) if kp.dim() == 2 else (kp, False)


def _pixel_grid(size, device, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    height, width = size
    ys = torch.arange(height, device=device, dtype=dtype)
    xs = torch.arange(width, device=device, dtype=dtype)
    return xs.view(1, 1, width), ys.view(1, height, 1)


def _back_to_input(out: torch.Tensor, keypoints, squeeze: bool):
    if squeeze:
        out = out[0]
    return out if isinstance(keypoints, torch.Tensor) else out.numpy()


def mirror_keypoints(keypoints: np.ndarray, width: int) -> np.ndarray:
    """The pose flipped horizontally: x -> width - 1 - x, and left/right joints swapped."""
    kp = validate_keypoints(keypoints).copy()
    present = is_present(kp)
    kp[present, 0] = width - 1 - kp[present, 0]
    return kp[..., list(MIRROR_KEYPOINTS), :]


def scale_positions(points, scale):
    """Positions (..., 2) as (x, y) pixels of an image resized by ``scale`` = (sx, sy), numpy or torch: pixel
    centres stay aligned, x' = sx (x + 0.5) - 0.5. The one place this is written (keypoints, H_S's half-size
    poses, the parts' polygons)."""
    return (points + 0.5) * scale - 0.5


def rescale_keypoints(keypoints, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """Keypoints of an image resized from ``from_size`` to ``to_size`` (pixel centres kept aligned)."""
    kp = validate_keypoints(keypoints).copy()
    present = is_present(kp)
    scale = np.array([to_size[1] / from_size[1], to_size[0] / from_size[0]], np.float32)
    # Clipped: a joint on the last pixel row/column of a larger frame lands up to half a pixel past the
    # last one of a smaller frame.
    kp[present] = scale_positions(kp[present], scale).clip(0, np.array([to_size[1] - 1, to_size[0] - 1]))
    return kp
