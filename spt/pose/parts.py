"""The 10 rigid parts B^j (quadrilaterals from the keypoints) and the least-squares affines f_j between two poses."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .keypoints import (
    FACE_JOINTS,
    FRAME_WEIGHT,
    HEAD_JOINTS,
    LIMB_END_EXTENSION,
    LIMB_HALF_WIDTH,
    LIMB_JOINTS,
    MIRROR_PARTS,
    NUM_PARTS,
    TORSO_JOINTS,
    _as_batch,
    _back_to_input,
    _pixel_grid,
    is_present,
)
from .maps import _polygon_inside


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
    extent = torch.nan_to_num(big[..., 1], nan=-1e9).amax(1) - torch.nan_to_num(big[..., 1], nan=1e9).amin(1)
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
    # A part whose joints collapse to a point (or a line, in both poses) has no invertible affine; it is
    # dropped like a missing part rather than warped by a singular map (no scale beyond 100x either way).
    det = (affines[..., 0, 0] * affines[..., 1, 1] - affines[..., 0, 1] * affines[..., 1, 0]).abs()
    regular = torch.isfinite(affines).all(-1).all(-1) & (det > 1e-4) & (det < 1e4)
    valid = g_tgt.present & (g_src.present | use_mirror) & regular
    off_image = torch.zeros_like(affines)
    off_image[..., 0, 0] = off_image[..., 1, 1] = 1.0
    far = 1e5
    off_image[..., 0, 2] = off_image[..., 1, 2] = far
    affines = torch.where(valid[..., None, None], affines, off_image)
    return PartTransforms(affines, src_polys, valid)
