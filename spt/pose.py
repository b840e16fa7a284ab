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
numpy conveniences wrap them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

NUM_KEYPOINTS = 18
KEYPOINT_NAMES = (
    "nose", "neck",
    "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)
MISSING = -1.0
FACE_JOINTS = (0, 14, 15, 16, 17)
# Index permutation that swaps the person's left and right.
MIRROR_KEYPOINTS = (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16)

# OpenPose's drawing order and colours.
SKELETON = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
    (1, 11), (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)
SKELETON_COLORS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)

PART_NAMES = (
    "torso", "head",
    "right_upper_arm", "right_forearm", "left_upper_arm", "left_forearm",
    "right_thigh", "right_shin", "left_thigh", "left_shin",
)
NUM_PARTS = len(PART_NAMES)
MIRROR_PARTS = (0, 1, 4, 5, 2, 3, 8, 9, 6, 7)
# Limb parts: part index -> (proximal joint, distal joint).
LIMB_JOINTS = {
    2: (2, 3), 3: (3, 4), 4: (5, 6), 5: (6, 7),
    6: (8, 9), 7: (9, 10), 8: (11, 12), 9: (12, 13),
}
TORSO_JOINTS = (2, 5, 11, 8)  # a cycle: r-shoulder, l-shoulder, l-hip, r-hip
HEAD_JOINTS = (1, 2, 5) + FACE_JOINTS

LIMB_HALF_WIDTH = 0.2  # times the torso scale
LIMB_END_EXTENSION = 0.15  # times the bone length, at both ends
FRAME_WEIGHT = 0.1  # weight of the part-frame corners in the least-squares fit of f_j


def default_sigma(height: int) -> float:
    """Heatmap sigma: 6 px at 256 rows, scaled with the image height."""
    return 6.0 * height / 256.0


# --------------------------------------------------------------------------------------------------
# Validation and presence
# --------------------------------------------------------------------------------------------------

def validate_keypoints(keypoints, size: tuple[int, int] | None = None, *, name: str = "keypoints") -> np.ndarray:
    """Return ``keypoints`` as a float32 array ``(..., 18, 2)`` or raise a ValueError that says what is wrong.

    Accepts lists, numpy arrays and tensors. Rejects a wrong shape, NaN/inf, and (when ``size`` is given)
    joints outside the ``(height, width)`` frame; ``(-1, -1)`` marks a missing joint and is always allowed.
    """
    if isinstance(keypoints, torch.Tensor):
        keypoints = keypoints.detach().cpu().numpy()
    try:
        arr = np.asarray(keypoints, dtype=np.float32)
    except (TypeError, ValueError) as err:
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
            f"{name}: joints {[KEYPOINT_NAMES[i] for i in bad]} lie outside{frame}; "
            "mark a missing joint as (-1, -1)"
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


# --------------------------------------------------------------------------------------------------
# Heatmaps and the pose mask
# --------------------------------------------------------------------------------------------------

def pose_heatmaps(keypoints, size: tuple[int, int], sigma: float | None = None):
    """P: one Gaussian per joint, ``exp(-d^2 / 2 sigma^2)``, peak 1 at the joint, zeros for a missing joint.

    ``keypoints`` (B, 18, 2) tensor -> (B, 18, H, W) on its device; (18, 2) array -> (18, H, W) array.
    """
    kp, squeeze = _as_batch(keypoints)
    sigma = default_sigma(size[0]) if sigma is None else sigma
    xs, ys = _pixel_grid(size, kp.device)
    x = kp[..., 0].reshape(*kp.shape[:2], 1, 1)
    y = kp[..., 1].reshape(*kp.shape[:2], 1, 1)
    d2 = (xs[None] - x) ** 2 + (ys[None] - y) ** 2
    maps = torch.exp(-d2 / (2 * sigma**2)) * is_present(kp)[..., None, None]
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

# --------------------------------------------------------------------------------------------------
# The 10 rigid parts B^j and their affines f_j
# --------------------------------------------------------------------------------------------------

def _norm(v: torch.Tensor) -> torch.Tensor:
    return v.norm(dim=-1, keepdim=True)


def _perp(v: torch.Tensor) -> torch.Tensor:
    return torch.stack([-v[..., 1], v[..., 0]], -1)


def torso_scale(keypoints: torch.Tensor) -> torch.Tensor:
    """A per-pose length unit (B,): mean shoulder-to-hip distance, with fallbacks for partial poses."""
    kp = keypoints.float()
    present = is_present(kp)
    sides = []
    for s, h in ((2, 8), (5, 11)):
        ok = present[:, s] & present[:, h]
        sides.append((torch.where(ok, (kp[:, s] - kp[:, h]).norm(dim=-1), torch.zeros_like(kp[:, 0, 0])), ok))
    total = sides[0][0] + sides[1][0]
    count = sides[0][1].float() + sides[1][1].float()
    scale = total / count.clamp_min(1)
    # Fallbacks: twice the shoulder span, else a quarter of the extent of the visible joints.
    shoulders = present[:, 2] & present[:, 5]
    span = 2.0 * (kp[:, 2] - kp[:, 5]).norm(dim=-1)
    big = torch.where(present[..., None], kp, torch.full_like(kp, float("nan")))
    extent = (torch.nan_to_num(big[..., 1], nan=-1e9).amax(1) - torch.nan_to_num(big[..., 1], nan=1e9).amin(1))
    extent = torch.where(present.sum(1) >= 2, extent, torch.full_like(extent, 40.0)).clamp_min(4.0) / 4
    scale = torch.where(count > 0, scale, torch.where(shoulders, span, extent))
    return scale.clamp_min(2.0)


def _up_direction(kp: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Unit vector from the hips to the neck (image 'up' of the body), from the shoulders if no hips."""
    hips_ok = present[:, 8] | present[:, 11]
    hip_w = torch.stack([present[:, 8], present[:, 11]], 1).float()
    mid_hip = (kp[:, [8, 11]] * hip_w[..., None]).sum(1) / hip_w.sum(1, keepdim=True).clamp_min(1)
    neck = kp[:, 1]
    up_from_hips = neck - mid_hip
    shoulder_perp = _perp(kp[:, 2] - kp[:, 5])  # r->l shoulder rotated: points up in a front view
    up = torch.where((hips_ok & present[:, 1])[:, None], up_from_hips, shoulder_perp)
    up = torch.where(_norm(up) < 1e-3, torch.tensor([0.0, -1.0], device=kp.device), up)
    return up / _norm(up)


@dataclass
class PartGeometry:
    """Per pose: the quadrilateral of each rigid part and the weighted anchor points that define f_j.

    polygons (B, 10, 4, 2); present (B, 10); anchors (B, 10, A, 2) with weights (B, 10, A) (0 = unused).
    """

    polygons: torch.Tensor
    present: torch.Tensor
    anchors: torch.Tensor
    weights: torch.Tensor


def _rectangle(p: torch.Tensor, q: torch.Tensor, half_width: torch.Tensor, extend: float) -> torch.Tensor:
    """Corners (B, 4, 2) of the rectangle around bone p->q, extended by ``extend`` * length at both ends."""
    d = q - p
    length = _norm(d).clamp_min(1e-3)
    axis = d / length
    n = _perp(axis) * half_width[:, None]
    a = p - axis * length * extend
    b = q + axis * length * extend
    return torch.stack([a - n, b - n, b + n, a + n], 1)


def part_geometry(keypoints: torch.Tensor) -> PartGeometry:
    """The 10 rigid parts of one batch of poses (B, 18, 2)."""
    kp = keypoints.float()
    bsz, device = kp.shape[0], kp.device
    present = is_present(kp)
    ts = torso_scale(kp)
    up = _up_direction(kp, present)
    polygons = torch.zeros(bsz, NUM_PARTS, 4, 2, device=device)
    part_ok = torch.zeros(bsz, NUM_PARTS, dtype=torch.bool, device=device)
    num_anchors = 4 + len(HEAD_JOINTS)
    anchors = torch.zeros(bsz, NUM_PARTS, num_anchors, 2, device=device)
    weights = torch.zeros(bsz, NUM_PARTS, num_anchors, device=device)

    # Torso: the shoulder-hip quadrilateral, kept at least 0.25 ts wide so side views stay a region.
    t = kp[:, list(TORSO_JOINTS)]
    min_half = 0.25 * ts[:, None]
    across = _perp(up)  # perpendicular to the body axis; its sign differs between front and back views
    halves = [(t[:, 1] - t[:, 0]) / 2, (t[:, 2] - t[:, 3]) / 2]  # shoulders r->l, hips r->l
    ref = sum((h * across).sum(-1) for h in halves)
    corners = []
    for (a, b), half in zip(((0, 1), (3, 2)), halves):
        mid = (t[:, a] + t[:, b]) / 2
        along = (half * across).sum(-1)
        sign = torch.where(along.abs() > 1e-3, along.sign(), torch.where(ref < 0, -1.0, 1.0))
        half = torch.where(_norm(half) < min_half, across * min_half * sign[:, None], half)
        corners += [mid - half, mid + half]
    quad = torch.stack([corners[0], corners[1], corners[3], corners[2]], 1)
    quad = quad.mean(1, keepdim=True) + 1.1 * (quad - quad.mean(1, keepdim=True))
    polygons[:, 0] = quad
    part_ok[:, 0] = present[:, list(TORSO_JOINTS)].all(1)
    anchors[:, 0, :4], weights[:, 0, :4] = t, 1.0
    anchors[:, 0, 4:8], weights[:, 0, 4:8] = quad, FRAME_WEIGHT

    # Head: a box from the neck up past the face joints; f_j from the neck, shoulders and face joints.
    face_w = present[:, list(FACE_JOINTS)].float()
    face_c = (kp[:, list(FACE_JOINTS)] * face_w[..., None]).sum(1) / face_w.sum(1, keepdim=True).clamp_min(1)
    has_face = face_w.sum(1) > 0
    neck = kp[:, 1]
    head_up = torch.where(has_face[:, None], face_c - neck, up * ts[:, None] * 0.45)
    head_up = torch.where(_norm(head_up) < 1e-3, up * ts[:, None] * 0.45, head_up)
    top = neck + head_up / _norm(head_up) * (_norm(head_up) + 0.45 * ts[:, None])
    polygons[:, 1] = _rectangle(neck - 0.1 * ts[:, None] * up, top, 0.35 * ts, 0.0)
    part_ok[:, 1] = present[:, 1] & (has_face | (present[:, 2] & present[:, 5]))
    anchors[:, 1, :4], weights[:, 1, :4] = polygons[:, 1], FRAME_WEIGHT
    anchors[:, 1, 4:] = kp[:, list(HEAD_JOINTS)]
    weights[:, 1, 4:] = present[:, list(HEAD_JOINTS)].float()

    # Limbs: rectangles around the bone; the rectangle corners define f_j.
    for j, (a, b) in LIMB_JOINTS.items():
        rect = _rectangle(kp[:, a], kp[:, b], LIMB_HALF_WIDTH * ts, LIMB_END_EXTENSION)
        polygons[:, j] = rect
        part_ok[:, j] = present[:, a] & present[:, b]
        anchors[:, j, :4], weights[:, j, :4] = rect, 1.0
    return PartGeometry(polygons, part_ok, anchors, weights)


def fit_affine(src: torch.Tensor, dst: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Weighted least-squares affine ``A`` (…, 2, 3) with ``dst ≈ A @ [src; 1]``; src, dst (…, P, 2).

    Solved in closed form around the weighted centroids, with a tiny ridge so that degenerate point
    sets (collinear joints) still give a finite, near-similarity answer.
    """
    w = torch.ones(src.shape[:-1], device=src.device) if weights is None else weights
    w = w[..., None]
    wsum = w.sum(-2, keepdim=True).clamp_min(1e-8)
    mu_s = (w * src).sum(-2, keepdim=True) / wsum
    mu_d = (w * dst).sum(-2, keepdim=True) / wsum
    s, d = src - mu_s, dst - mu_d
    cov_ss = (w * s).transpose(-1, -2) @ s  # (…, 2, 2)
    cov_ds = (w * d).transpose(-1, -2) @ s
    ridge = 1e-6 * cov_ss.diagonal(dim1=-2, dim2=-1).sum(-1).clamp_min(1e-6)
    cov_ss = cov_ss + ridge[..., None, None] * torch.eye(2, device=src.device)
    linear = cov_ds @ torch.linalg.inv(cov_ss)
    shift = mu_d.squeeze(-2) - (linear @ mu_s.transpose(-1, -2)).squeeze(-1)
    return torch.cat([linear, shift[..., None]], -1)


def invert_affine(affine: torch.Tensor) -> torch.Tensor:
    """Inverse of (…, 2, 3) affines."""
    linear_inv = torch.linalg.inv(affine[..., :2])
    shift = -(linear_inv @ affine[..., 2:])
    return torch.cat([linear_inv, shift], -1)


def apply_affine(affine: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Points (…, P, 2) mapped by (…, 2, 3)."""
    return points @ affine[..., :2].transpose(-1, -2) + affine[..., None, :, 2]


def polygon_masks(polygons: torch.Tensor, size: tuple[int, int], present: torch.Tensor | None = None) -> torch.Tensor:
    """Rasterise (B, K, N, 2) polygons to (B, K, H, W) float masks (pixel centres inside)."""
    bsz, k = polygons.shape[:2]
    xs, ys = _pixel_grid(size, polygons.device)
    masks = _polygon_inside(xs, ys, polygons.reshape(bsz * k, *polygons.shape[2:])).float()
    masks = masks.view(bsz, k, *size)
    if present is not None:
        masks = masks * present[..., None, None].float()
    return masks


def part_masks(keypoints, size: tuple[int, int]):
    """B^j masks: (B, 10, H, W) for a (B, 18, 2) tensor, (10, H, W) for an (18, 2) array; missing parts are zero."""
    kp, squeeze = _as_batch(keypoints)
    geo = part_geometry(kp)
    return _back_to_input(polygon_masks(geo.polygons, size, geo.present), keypoints, squeeze)


@dataclass
class PartTransforms:
    """The f_j between a batch of source and target poses.

    affines: (B, 10, 2, 3), source pixel -> target pixel. A part missing in the target, or missing in the
        source together with its mirror, is sent far off the image so it carries nothing.
    source_polygons: (B, 10, 4, 2), the source region each f_j carries (the mirror part's region where the
        source lacks the part). valid: (B, 10) where f_j carries something onto the target.
    """

    affines: torch.Tensor
    source_polygons: torch.Tensor
    valid: torch.Tensor

    def source_masks(self, size: tuple[int, int]) -> torch.Tensor:
        """The part polygons B^j in the source (B, 10, H, W): what each f_j carries of the person."""
        return polygon_masks(self.source_polygons, size, self.valid)

    def skip_masks(self, masks: torch.Tensor) -> torch.Tensor:
        """The masks of Deformable GAN's skips (``pose_masks`` of the official code), from the rasterised
        ``source_masks``: the torso's is the whole image, so the scene travels with the torso affine; the
        other parts are their polygons."""
        whole = torch.ones_like(masks[:, :1]) * self.valid[:, :1, None, None].to(masks.dtype)
        return torch.cat([whole, masks[:, 1:]], 1)


def part_transforms(source_keypoints: torch.Tensor, target_keypoints: torch.Tensor) -> PartTransforms:
    """f_j for every part: least squares between the part's anchor points in the source and target poses.

    Mirror rule: a part missing in the source borrows its mirror (e.g. the left forearm from the right one).
    """
    src, tgt = source_keypoints.float(), target_keypoints.float()
    if src.shape != tgt.shape:
        raise ValueError(f"source and target keypoints differ in shape: {tuple(src.shape)} vs {tuple(tgt.shape)}")
    with torch.autocast(src.device.type, enabled=False):  # least squares and inverses need fp32
        return _part_transforms(src, tgt)


def _part_transforms(src: torch.Tensor, tgt: torch.Tensor) -> PartTransforms:
    g_src, g_tgt = part_geometry(src), part_geometry(tgt)
    mirror = list(MIRROR_PARTS)
    use_mirror = ~g_src.present & g_src.present[:, mirror]
    pick = use_mirror[..., None, None]
    src_anchors = torch.where(pick, g_src.anchors[:, mirror], g_src.anchors)
    src_weights = torch.where(use_mirror[..., None], g_src.weights[:, mirror], g_src.weights)
    src_polys = torch.where(pick, g_src.polygons[:, mirror], g_src.polygons)
    # Mirrored limbs swap joint roles symmetrically, so anchor k of a part matches anchor k of its mirror.
    weights = torch.minimum(src_weights, g_tgt.weights)  # an anchor counts where both poses have it
    affines = fit_affine(src_anchors, g_tgt.anchors, weights)
    valid = g_tgt.present & (g_src.present | use_mirror)
    off_image = torch.zeros_like(affines)
    off_image[..., 0, 0] = off_image[..., 1, 1] = 1.0
    far = 1e5
    off_image[..., 0, 2] = off_image[..., 1, 2] = far
    affines = torch.where(valid[..., None, None], affines, off_image)
    return PartTransforms(affines, src_polys, valid)


def _pixel_to_normalized(size: tuple[int, int], device) -> torch.Tensor:
    """3x3 matrix from pixel (x, y) (centres at integers) to grid_sample's [-1, 1] (align_corners=False)."""
    height, width = size
    return torch.tensor(
        [[2.0 / width, 0, 1.0 / width - 1], [0, 2.0 / height, 1.0 / height - 1], [0, 0, 1]], device=device
    )


def warp_parts(
    x: torch.Tensor,
    transforms: PartTransforms,
    *,
    image_size: tuple[int, int] | None = None,
    masks: torch.Tensor | None = None,
    reduce: str | None = "max",
    mode: str = "bilinear",
) -> torch.Tensor:
    """Move each part of ``x`` (B, C, H, W) by its f_j: ``f_j(B^j_s * x)``.

    ``reduce="max"`` gives (B, C, H, W), the max over parts (the deformable skip of H_A);
    ``reduce=None`` gives the parts separately, (B, 10, C, H, W) (what the pseudo-label search compares).
    ``image_size`` is the (H, W) of the image the keypoints belong to, when ``x`` is a feature map of
    another resolution over the same field of view. ``masks`` (B, 10, h, w) are the source part masks
    (``transforms.source_masks(image_size)``), computed once and max-pooled to each feature size so that
    thin limbs survive at coarse levels; by default they are rasterised at ``x``'s size.
    """
    bsz, channels, height, width = x.shape
    if image_size is not None and tuple(image_size) != (height, width):
        transforms = scale_transforms(transforms, (height / image_size[0], width / image_size[1]))
    if masks is None:
        masks = transforms.source_masks((height, width))
    elif masks.shape[-2:] != (height, width):
        masks = F.adaptive_max_pool2d(masks, (height, width))
    masks = masks.to(x.dtype)
    affines = transforms.affines
    k = affines.shape[1]
    # Geometry in fp32 even under autocast (bf16 matrices cannot be inverted, and a bf16 grid is off by up
    # to a quarter pixel at 64 px).
    with torch.autocast(x.device.type, enabled=False):
        to_norm = _pixel_to_normalized((height, width), x.device)
        inv = _homogeneous(invert_affine(affines.float()))  # target pixel -> source pixel
        theta = (to_norm @ inv @ torch.linalg.inv(to_norm))[..., :2, :]  # normalized target -> normalized source
        grid = F.affine_grid(theta.reshape(bsz * k, 2, 3), [bsz * k, channels, height, width], align_corners=False)
    if reduce not in ("max", None):
        raise ValueError(f"reduce must be 'max' or None, got {reduce!r}")
    if reduce == "max" and not torch.is_grad_enabled():
        return _warp_max_cropped(x, masks, grid, affines, mode)
    parts = x[:, None] * masks[:, :, None]  # (B, K, C, H, W)
    warped = F.grid_sample(parts.reshape(bsz * k, channels, height, width).float(), grid, mode=mode,
                           padding_mode="zeros", align_corners=False)
    warped = warped.view(bsz, k, channels, height, width).to(x.dtype)
    return warped if reduce is None else warped.amax(1)


def _warp_max_cropped(x: torch.Tensor, masks: torch.Tensor, grid: torch.Tensor, affines: torch.Tensor,
                      mode: str) -> torch.Tensor:
    """``warp_parts(..., reduce="max")`` at inference, sampling each part only where it can land.

    A part is zero outside its mask's bounding box in the source, so its warp is zero outside the box's image
    under f_j (plus a pixel of interpolation): each part is cut from the source box and sampled over the
    target box only, instead of masking and sampling the whole frame once per part (10x the work at every
    level; most parts cover a few percent of it). The result is the batched path's: the max over parts,
    each zero outside its region.
    """
    bsz, channels, height, width = x.shape
    k = masks.shape[1]
    grid = grid.view(bsz, k, height, width, 2)
    out = torch.zeros(bsz, channels, height, width, dtype=torch.float32, device=x.device)
    rows, cols = masks.amax(-1) > 0, masks.amax(-2) > 0  # (B, K, H), (B, K, W): where each mask is
    boxes = _target_boxes(rows, cols, affines, (height, width))
    for b, j in zip(*torch.nonzero(boxes[..., 0] >= 0, as_tuple=True)):
        b, j = int(b), int(j)
        sy0, sy1, sx0, sx1, ty0, ty1, tx0, tx1 = boxes[b, j].tolist()
        part = (x[b, :, sy0:sy1, sx0:sx1].float() * masks[b, j, sy0:sy1, sx0:sx1].float())[None]
        # Grid coordinates from the frame's [-1, 1] to the source box's (align_corners=False).
        g = grid[b, j, ty0:ty1, tx0:tx1]
        px, py = ((g[..., 0] + 1) * width - 1) / 2 - sx0, ((g[..., 1] + 1) * height - 1) / 2 - sy0
        local = torch.stack([(2 * px + 1) / (sx1 - sx0) - 1, (2 * py + 1) / (sy1 - sy0) - 1], -1)
        sampled = F.grid_sample(part, local[None], mode=mode, padding_mode="zeros", align_corners=False)[0]
        region = out[b, :, ty0:ty1, tx0:tx1]
        torch.maximum(region, sampled, out=region)
    return out.to(x.dtype)


def _target_boxes(rows: torch.Tensor, cols: torch.Tensor, affines: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, K, 8) int boxes ``sy0 sy1 sx0 sx1 ty0 ty1 tx0 tx1`` (half-open): each part's mask box in the source
    and that box's image under f_j, grown by 2 pixels for interpolation and clipped; -1 where a part is empty
    or lands off the frame."""
    height, width = size
    present = rows.any(-1)
    ys = torch.arange(height, device=rows.device)
    xs = torch.arange(width, device=rows.device)
    big = max(height, width) + 1
    sy0 = torch.where(rows, ys, big).amin(-1)
    sy1 = torch.where(rows, ys, -1).amax(-1) + 1
    sx0 = torch.where(cols, xs, big).amin(-1)
    sx1 = torch.where(cols, xs, -1).amax(-1) + 1
    corners = torch.stack([torch.stack([sx0 - 0.5, sy0 - 0.5], -1), torch.stack([sx1 - 0.5, sy0 - 0.5], -1),
                           torch.stack([sx0 - 0.5, sy1 - 0.5], -1), torch.stack([sx1 - 0.5, sy1 - 0.5], -1)], -2)
    moved = apply_affine(affines.float(), corners.float())  # (B, K, 4, 2) target pixels
    tx0 = (moved[..., 0].amin(-1).floor() - 2).clamp(0, width).long()
    tx1 = (moved[..., 0].amax(-1).ceil() + 3).clamp(0, width).long()
    ty0 = (moved[..., 1].amin(-1).floor() - 2).clamp(0, height).long()
    ty1 = (moved[..., 1].amax(-1).ceil() + 3).clamp(0, height).long()
    boxes = torch.stack([sy0, sy1, sx0, sx1, ty0, ty1, tx0, tx1], -1)
    empty = ~present | (tx1 <= tx0) | (ty1 <= ty0) | ~torch.isfinite(moved).all(-1).all(-1)
    return torch.where(empty[..., None], torch.full_like(boxes, -1), boxes)


def scale_transforms(transforms: PartTransforms, factor: tuple[float, float]) -> PartTransforms:
    """The same f_j for an image resized by ``factor`` = (fy, fx), pixel centres kept aligned."""
    fy, fx = factor
    device = transforms.affines.device
    with torch.autocast(device.type, enabled=False):
        return _scale_transforms(transforms, fy, fx, device)


def _scale_transforms(transforms: PartTransforms, fy: float, fx: float, device) -> PartTransforms:
    # x' = fx * (x + 0.5) - 0.5, likewise y, applied on both sides of f_j.
    s = torch.tensor([[fx, 0, 0.5 * fx - 0.5], [0, fy, 0.5 * fy - 0.5], [0, 0, 1]], device=device)
    aff3 = _homogeneous(transforms.affines)
    affines = (s @ aff3 @ torch.linalg.inv(s))[..., :2, :]
    scale = torch.tensor([fx, fy], device=device)
    polygons = (transforms.source_polygons + 0.5) * scale - 0.5
    return PartTransforms(affines, polygons, transforms.valid)


def _homogeneous(affine: torch.Tensor) -> torch.Tensor:
    """(…, 2, 3) -> (…, 3, 3)."""
    last = torch.tensor([0, 0, 1.0], device=affine.device, dtype=affine.dtype).expand(*affine.shape[:-2], 1, 3)
    return torch.cat([affine, last], -2)


def warp_parsing(onehot: torch.Tensor, transforms: PartTransforms) -> torch.Tensor:
    """The source parsing (B, L, H, W one-hot) moved part by part; pixels no part reaches become background."""
    warped = warp_parts(onehot, transforms, reduce="max", mode="nearest")
    background = (warped.sum(1, keepdim=True) == 0).float()
    warped = warped.clone()
    warped[:, :1] = torch.maximum(warped[:, :1], background)
    return warped


# --------------------------------------------------------------------------------------------------
# File formats: PATN CSV and JSON
# --------------------------------------------------------------------------------------------------

PATN_HEADER = "name:keypoints_y:keypoints_x"
_PATN_ROW = re.compile(r"^(?P<name>[^:]+):\s*(?P<y>\[[^\]]*\])\s*:\s*(?P<x>\[[^\]]*\])\s*$")


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def format_patn_row(name: str, keypoints) -> str:
    """One PATN annotation row: ``name: [y0, …, y17]: [x0, …, x17]`` (-1 for a missing joint)."""
    kp = validate_keypoints(keypoints).astype(np.float64)
    if ":" in name:
        raise ValueError(f"image name {name!r} may not contain ':' in the PATN CSV format")
    ys = ", ".join(_format_number(v) for v in kp[:, 1])
    xs = ", ".join(_format_number(v) for v in kp[:, 0])
    return f"{name}: [{ys}]: [{xs}]"


def parse_patn_row(line: str, *, where: str = "row") -> tuple[str, np.ndarray]:
    """Parse one PATN row into ``(name, keypoints (18, 2) as (x, y))``."""
    match = _PATN_ROW.match(line.strip())
    if not match:
        raise ValueError(f"{where}: expected 'name: [18 y values]: [18 x values]', got {line.strip()[:80]!r}")
    try:
        ys = json.loads(match["y"])
        xs = json.loads(match["x"])
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: keypoint lists are not numbers: {err}") from None
    for axis, values in (("y", ys), ("x", xs)):
        # bool is an int to Python: `true` would silently read as 1.
        if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                    for v in values):
            raise ValueError(f"{where}: the {axis} list must hold plain numbers, got {json.dumps(values)[:60]}")
    if len(ys) != NUM_KEYPOINTS or len(xs) != NUM_KEYPOINTS:
        raise ValueError(f"{where}: expected 18 y and 18 x values, got {len(ys)} and {len(xs)}")
    kp = np.stack([np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)], -1)
    kp[(kp[:, 0] < 0) | (kp[:, 1] < 0)] = MISSING  # PATN marks a missing joint by -1 in either list
    return match["name"].strip(), validate_keypoints(kp, name=where)


def read_patn_csv(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a PATN ``*-annotation-*.csv`` into ``{name: keypoints (18, 2)}``; errors name the file and line."""
    out: dict[str, np.ndarray] = {}
    lines_of: dict[str, int] = {}
    if not os.path.isfile(path):
        raise FileNotFoundError(f"annotation file not found: {path}")
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text (byte {raw[err.start]:#x}); save the CSV as UTF-8") from None
    if not lines or lines[0].strip() != PATN_HEADER:
        raise ValueError(f"{path}: line 1 must be the header {PATN_HEADER!r}")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        name, kp = parse_patn_row(line, where=f"{path}:{number}")
        if name in out:
            raise ValueError(f"{path}:{number}: {name!r} is annotated twice (first on line {lines_of[name]}); "
                             "keep one row per image")
        out[name], lines_of[name] = kp, number
    return out


def write_patn_csv(path: str | os.PathLike, annotations: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]]) -> None:
    """Write ``{name: keypoints}`` in the PATN annotation format (integers stay integers: lossless)."""
    items = annotations.items() if isinstance(annotations, Mapping) else annotations
    rows = [PATN_HEADER] + [format_patn_row(name, kp) for name, kp in items]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(rows) + "\n")


def keypoints_to_json(keypoints, size: tuple[int, int] | None = None) -> str:
    """JSON form: ``{"format": "coco18", "keypoints": [[x, y], …], "names": […], "size": [H, W]}``."""
    kp = validate_keypoints(keypoints, size)
    obj = {"format": "coco18", "keypoints": [[float(x), float(y)] for x, y in kp], "names": list(KEYPOINT_NAMES)}
    if size is not None:
        obj["size"] = [int(size[0]), int(size[1])]
    return json.dumps(obj)


def keypoints_from_json(data) -> np.ndarray:
    """Keypoints from our JSON form, a bare 18x2 list, or OpenPose output (``people[0].pose_keypoints_2d``).

    ``data`` is a JSON string or the parsed object. OpenPose joints with confidence 0 become missing.
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as err:
            raise ValueError(f"keypoints JSON does not parse: {err}") from None
    if isinstance(data, dict) and "people" in data:
        people = data["people"]
        if not isinstance(people, list) or not people:
            raise ValueError("OpenPose JSON has no person in 'people' (a list of {\"pose_keypoints_2d\": [...]})")
        if not isinstance(people[0], dict):
            raise ValueError(f"OpenPose JSON: each person in 'people' must be an object with pose_keypoints_2d, "
                             f"got {json.dumps(people[0])[:40]}")
        try:
            flat = np.asarray(people[0].get("pose_keypoints_2d", []), dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError("OpenPose pose_keypoints_2d must be a flat list of numbers") from None
        if flat.size != NUM_KEYPOINTS * 3:
            raise ValueError(f"OpenPose pose_keypoints_2d must hold 18x3 values (COCO-18), got {flat.size}")
        flat = flat.reshape(NUM_KEYPOINTS, 3)
        kp = flat[:, :2].copy()
        kp[flat[:, 2] <= 0] = MISSING
        return validate_keypoints(kp)
    if isinstance(data, dict):
        if "keypoints" not in data:
            raise ValueError("keypoints JSON needs a 'keypoints' field (18 [x, y] pairs)")
        size = data.get("size")
        if size is not None:
            if (not isinstance(size, list) or len(size) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
                raise ValueError(f"keypoints JSON: 'size' must be [height, width] in whole pixels, got {size!r}")
            size = tuple(size)
        return validate_keypoints(data["keypoints"], size)
    return validate_keypoints(data)


def save_keypoints_json(path: str | os.PathLike, keypoints, size: tuple[int, int] | None = None) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(keypoints_to_json(keypoints, size))


def load_keypoints_json(path: str | os.PathLike) -> np.ndarray:
    if not os.path.exists(path):
        raise FileNotFoundError(f"keypoints file not found: {path}")
    with open(path, encoding="utf-8") as handle:
        try:
            return keypoints_from_json(handle.read())
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None


# --------------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------------

def draw_skeleton(
    image: Image.Image | np.ndarray | None,
    keypoints,
    size: tuple[int, int] | None = None,
    *,
    line_width: int | None = None,
    radius: int | None = None,
) -> Image.Image:
    """The OpenPose-coloured skeleton over ``image`` (or over black of ``size`` when image is None)."""
    if image is None:
        if size is None:
            raise ValueError("draw_skeleton needs an image or a size")
        canvas = Image.new("RGB", (size[1], size[0]))
    elif isinstance(image, np.ndarray):
        canvas = Image.fromarray(image).convert("RGB")
    else:
        canvas = image.convert("RGB").copy()
    kp = validate_keypoints(keypoints)
    height = canvas.height
    line_width = max(1, round(height / 64)) if line_width is None else line_width
    radius = max(1, round(height / 80)) if radius is None else radius
    draw = ImageDraw.Draw(canvas)
    present = is_present(kp)
    for (a, b), color in zip(SKELETON, SKELETON_COLORS):
        if present[a] and present[b]:
            draw.line([tuple(kp[a]), tuple(kp[b])], fill=color, width=line_width)
    for i, (x, y) in enumerate(kp):
        if present[i]:
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=SKELETON_COLORS[i])
    return canvas


def mirror_keypoints(keypoints: np.ndarray, width: int) -> np.ndarray:
    """The pose flipped horizontally: x -> width - 1 - x, and left/right joints swapped."""
    kp = validate_keypoints(keypoints).copy()
    present = is_present(kp)
    kp[present, 0] = width - 1 - kp[present, 0]
    return kp[..., list(MIRROR_KEYPOINTS), :]


def rescale_keypoints(keypoints, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """Keypoints of an image resized from ``from_size`` to ``to_size`` (pixel centres kept aligned)."""
    kp = validate_keypoints(keypoints).copy()
    present = is_present(kp)
    sy, sx = to_size[0] / from_size[0], to_size[1] / from_size[1]
    # Clipped: a joint on the last pixel row/column of a larger frame lands up to half a pixel past the
    # last one of a smaller frame.
    kp[present, 0] = ((kp[present, 0] + 0.5) * sx - 0.5).clip(0, to_size[1] - 1)
    kp[present, 1] = ((kp[present, 1] + 0.5) * sy - 0.5).clip(0, to_size[0] - 1)
    return kp
