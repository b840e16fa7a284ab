"""What the networks see of a pose: heatmaps P, the pose mask M_P, and the polygon tests they use."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .keypoints import SKELETON, TORSO_JOINTS, _as_batch, _back_to_input, _pixel_grid, default_sigma, is_present


def pose_heatmaps(keypoints, size: tuple[int, int], sigma: float | None = None):
    """P: one Gaussian per joint, ``exp(-d^2 / 2 sigma^2)``, peak 1 at the joint, zeros for a missing joint.

    ``keypoints`` (B, 18, 2) tensor -> (B, 18, H, W) on its device; (18, 2) array -> (18, H, W) array.
    """
    kp, squeeze = _as_batch(keypoints)
    sigma = default_sigma(size[0]) if sigma is None else sigma
    xs, ys = _pixel_grid(size, kp.device)
    x = kp[..., 0].reshape(*kp.shape[:2], 1, 1)
    y = kp[..., 1].reshape(*kp.shape[:2], 1, 1)
    # The Gaussian is separable: a row and a column profile per joint, one product per pixel, no exp.
    across = torch.exp(-((xs[None] - x) ** 2) / (2 * sigma**2)) * is_present(kp)[..., None, None]
    maps = torch.exp(-((ys[None] - y) ** 2) / (2 * sigma**2)) * across
    return _back_to_input(maps, keypoints, squeeze)


def _segment_distance(xs, ys, p, q):
    """Distance of every pixel to segments p->q; p, q (B, 2) -> (B, H, W)."""
    px, py = p[:, 0, None, None], p[:, 1, None, None]
    dx, dy = (q - p)[:, 0, None, None], (q - p)[:, 1, None, None]
    t = ((xs - px) * dx + (ys - py) * dy) / (dx * dx + dy * dy).clamp_min(1e-6)
    t = t.clamp(0, 1)
    return torch.sqrt((xs - px - t * dx) ** 2 + (ys - py - t * dy) ** 2)


def _polygon_inside(xs, ys, polygon):
    """Even-odd rule: polygon (B, N, 2) -> (B, H, W) bool."""
    inside = torch.zeros(polygon.shape[0], ys.shape[-2], xs.shape[-1], dtype=torch.bool, device=polygon.device)
    n = polygon.shape[1]
    for i in range(n):  # over the polygon's edges, never over samples or pixels
        a, b = polygon[:, i], polygon[:, (i + 1) % n]
        ax, ay = a[:, 0, None, None], a[:, 1, None, None]
        bx, by = b[:, 0, None, None], b[:, 1, None, None]
        crosses = (ay > ys) != (by > ys)
        x_cross = ax + (ys - ay) * (bx - ax) / torch.where(by == ay, torch.full_like(by, 1e-6), by - ay)
        inside ^= crosses & (xs < x_cross)
    return inside


def pose_mask(keypoints, size: tuple[int, int], limb_radius: float | None = None, dilation: int | None = None):
    """M_P of PG2: the skeleton's limbs drawn thick, the torso quadrilateral filled, then dilated.

    Returns (B, 1, H, W) in {0, 1} for a (B, 18, 2) tensor, (1, H, W) for an (18, 2) array.
    """
    kp, squeeze = _as_batch(keypoints)
    height = size[0]
    limb_radius = 0.035 * height if limb_radius is None else limb_radius
    dilation = max(1, int(round(0.02 * height))) if dilation is None else dilation
    xs, ys = _pixel_grid(size, kp.device)
    present = is_present(kp)
    mask = torch.zeros(kp.shape[0], *size, dtype=torch.bool, device=kp.device)
    for a, b in SKELETON + ((2, 8), (5, 11), (8, 11), (2, 5)):
        both = (present[:, a] & present[:, b])[:, None, None]
        mask |= both & (_segment_distance(xs, ys, kp[:, a], kp[:, b]) <= limb_radius)
    torso_ok = present[:, list(TORSO_JOINTS)].all(1)[:, None, None]
    mask |= torso_ok & _polygon_inside(xs, ys, kp[:, list(TORSO_JOINTS)])
    mask = mask[:, None].float()
    if dilation > 0:
        mask = F.max_pool2d(mask, 2 * dilation + 1, stride=1, padding=dilation)
    return _back_to_input(mask, keypoints, squeeze)


def pose_condition(keypoints: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """What the networks see of a pose: heatmaps P (B, 18, H, W) and mask M_P (B, 1, H, W), on its device."""
    return pose_heatmaps(keypoints, size), pose_mask(keypoints, size)
