"""Moving images, features and parsings part by part with the f_j (the deformable skips, the part-warp, the search)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .parts import PartTransforms, apply_affine, invert_affine


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
