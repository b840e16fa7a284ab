"""Moving images, features and parsings part by part with the f_j (the deformable skips, the part-warp, the search)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .keypoints import scale_positions
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
    method: str = "cropped",
) -> torch.Tensor:
    """Move each part of ``x`` (B, C, H, W) by its f_j: ``f_j(B^j_s * x)``.

    ``reduce="max"`` gives (B, C, H, W), the max over parts (the deformable skip of H_A); ``reduce="sum"``
    their sum (the pixel-level part warp of H_A's blend); ``reduce=None`` gives the parts separately,
    (B, 10, C, H, W) (what the pseudo-label search compares).
    ``image_size`` is the (H, W) of the image the keypoints belong to, when ``x`` is a feature map of
    another resolution over the same field of view. ``masks`` (B, 10, h, w) are the source part masks
    (``transforms.source_masks(image_size)``), computed once and max-pooled to each feature size so that
    thin limbs survive at coarse levels; by default they are rasterised at ``x``'s size.

    ``method`` (``reduce="max"`` or ``"sum"``): ``"cropped"`` samples each part only where it can land
    (``_warp_cropped``), ``"frame"`` masks and samples the whole frame once per part, the reference it is
    tested against. Both are differentiable and give the same values.
    """
    bsz, channels, height, width = x.shape
    if reduce not in ("max", "sum", None):
        raise ValueError(f"reduce must be 'max', 'sum' or None, got {reduce!r}")
    if method not in WARP_METHODS:
        raise ValueError(f"method must be one of {WARP_METHODS}, got {method!r}")
    if image_size is not None and tuple(image_size) != (height, width):
        transforms = scale_transforms(transforms, (height / image_size[0], width / image_size[1]))
    if masks is None:
        masks = transforms.source_masks((height, width))
    elif masks.shape[-2:] != (height, width):
        masks = F.adaptive_max_pool2d(masks, (height, width))
    masks = masks.to(x.dtype)
    affines = transforms.affines
    if reduce is not None and method == "cropped":
        return _warp_cropped(x, masks, affines, mode, reduce)
    k = affines.shape[1]
    # Geometry in fp32 even under autocast (bf16 matrices cannot be inverted, and a bf16 grid is off by up
    # to a quarter pixel at 64 px).
    with torch.autocast(x.device.type, enabled=False):
        to_norm = _pixel_to_normalized((height, width), x.device)
        inv = _homogeneous(invert_affine(affines.float()))  # target pixel -> source pixel
        theta = (to_norm @ inv @ torch.linalg.inv(to_norm))[..., :2, :]  # normalized target -> normalized source
        grid = F.affine_grid(theta.reshape(bsz * k, 2, 3), [bsz * k, channels, height, width], align_corners=False)
    parts = x[:, None] * masks[:, :, None]  # (B, K, C, H, W)
    warped = F.grid_sample(
        parts.reshape(bsz * k, channels, height, width).float(),
        grid,
        mode=mode,
        padding_mode="zeros",
        align_corners=False,
    )
    warped = warped.view(bsz, k, channels, height, width).to(x.dtype)
    if reduce is None:
        return warped
    return warped.amax(1) if reduce == "max" else warped.sum(1)


WARP_METHODS = ("cropped", "frame")


def _warp_cropped(x: torch.Tensor, masks: torch.Tensor, affines: torch.Tensor, mode: str, reduce: str) -> torch.Tensor:
    """``warp_parts(..., reduce="max" or "sum")``, sampling each part only where it can land; differentiable.

    A part is zero outside its mask's bounding box in the source, so its warp is zero outside the box's image
    under f_j (plus a pixel of interpolation). Each (sample, part) pair is therefore cut from its source box
    and sampled over its target box only, and the max (sum) over parts is taken by a scatter into the frame,
    instead of masking and sampling the whole frame once per part (10x the work at every level; most parts
    cover a few percent of it). Pairs are batched per part, and frame-sized boxes (the skips' torso, whose
    mask is the whole image) in a group of their own, each group at its largest box, moved inside the frame
    (a box is only a bound: the crop around it holds zeros of the mask). The result is the frame path's: the max (sum)
    over parts, each zero outside its region (so the max is never below 0 where a part is absent).
    """
    bsz, channels, height, width = x.shape
    area = height * width
    rows, cols = masks.amax(-1) > 0, masks.amax(-2) > 0  # (B, K, H), (B, K, W): where each mask is
    boxes = _target_boxes(rows, cols, affines, (height, width))
    pairs = torch.nonzero(boxes[..., 0] >= 0)  # (N, 2): (sample, part) pairs that land on the frame
    with torch.autocast(x.device.type, enabled=False):
        inverse = invert_affine(affines.float())  # target pixel -> source pixel
    table = x.permute(0, 2, 3, 1).reshape(bsz * area, channels)  # one row per pixel, so crops are row gathers
    mask_table = masks.reshape(-1)
    out = torch.zeros(bsz * area, channels, dtype=torch.float32, device=x.device)
    if len(pairs):
        box = boxes[pairs[:, 0], pairs[:, 1]]
        extent = box[:, 1::2] - box[:, 0::2]  # (N, 4): source h, w, target h, w
        large = (extent[:, 0] * extent[:, 1] > area // 2) | (extent[:, 2] * extent[:, 3] > area // 2)
        key = torch.where(large, -1, pairs[:, 1])
        landed = [
            _sample_group(
                table,
                mask_table,
                masks.shape[1],
                pairs[group],
                box[group],
                extent[group],
                inverse,
                (height, width),
                mode,
            )
            for group in (key == value for value in key.unique().tolist())
        ]
        targets, values = (torch.cat(column) for column in zip(*landed))
        # One scatter for all groups: a max's backward (ties found against the result) is then frame-sized once.
        if reduce == "sum":
            out = out.index_add(0, targets, values)
        else:
            out = out.scatter_reduce(0, targets[:, None].expand_as(values), values, reduce="amax", include_self=True)
    return out.view(bsz, height, width, channels).permute(0, 3, 1, 2).to(x.dtype)


def _sample_group(table, mask_table, num_parts, pairs, box, extent, inverse, size, mode):
    """One batch of (sample, part) pairs for ``_warp_cropped``, cut and sampled at a common crop size:
    the rows of the frame (B*H*W) each sampled pixel lands on, and its values (one row per pixel, C)."""
    height, width = size
    area = height * width
    device = table.device
    sh, sw, th, tw = (int(v) for v in extent.amax(0).tolist())
    # Crop origins, moved back so that every crop of the common size lies inside the frame.
    sy0 = box[:, 0].clamp(max=height - sh)
    sx0 = box[:, 2].clamp(max=width - sw)
    ty0 = box[:, 4].clamp(max=height - th)
    tx0 = box[:, 6].clamp(max=width - tw)
    sample, part = pairs[:, 0], pairs[:, 1]
    ys, xs = torch.arange(sh, device=device), torch.arange(sw, device=device)
    pixels = (sy0[:, None, None] + ys[:, None]) * width + sx0[:, None, None] + xs  # (N, sh, sw)
    rows = (sample[:, None, None] * area + pixels).reshape(-1)
    crop = table.index_select(0, rows).view(len(pairs), sh, sw, -1)
    crop_mask = mask_table.index_select(0, ((sample * num_parts + part)[:, None, None] * area + pixels).reshape(-1))
    part_crop = (crop.float() * crop_mask.view(len(pairs), sh, sw, 1).float()).permute(0, 3, 1, 2)
    # The sampling grid, from target pixel centres through f_j^-1 to the crop's [-1, 1] (align_corners=False).
    target_ys = ty0[:, None] + torch.arange(th, device=device)  # (N, th)
    target_xs = tx0[:, None] + torch.arange(tw, device=device)  # (N, tw)
    ty, tx = target_ys.float(), target_xs.float()
    a = inverse[sample, part]  # (N, 2, 3)
    px = a[:, 0, 0, None, None] * tx[:, None, :] + a[:, 0, 1, None, None] * ty[:, :, None] + a[:, 0, 2, None, None]
    py = a[:, 1, 0, None, None] * tx[:, None, :] + a[:, 1, 1, None, None] * ty[:, :, None] + a[:, 1, 2, None, None]
    grid = torch.stack([(2 * (px - sx0[:, None, None]) + 1) / sw - 1, (2 * (py - sy0[:, None, None]) + 1) / sh - 1], -1)
    sampled = F.grid_sample(part_crop, grid, mode=mode, padding_mode="zeros", align_corners=False)  # (N, C, th, tw)
    targets = (sample[:, None, None] * area + target_ys[:, :, None] * width + target_xs[:, None, :]).reshape(-1)
    return targets, sampled.permute(0, 2, 3, 1).reshape(-1, sampled.shape[1])


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
    corners = torch.stack(
        [
            torch.stack([sx0 - 0.5, sy0 - 0.5], -1),
            torch.stack([sx1 - 0.5, sy0 - 0.5], -1),
            torch.stack([sx0 - 0.5, sy1 - 0.5], -1),
            torch.stack([sx1 - 0.5, sy1 - 0.5], -1),
        ],
        -2,
    )
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
    polygons = scale_positions(transforms.source_polygons, scale)
    return PartTransforms(affines, polygons, transforms.valid)


def _homogeneous(affine: torch.Tensor) -> torch.Tensor:
    """(…, 2, 3) -> (…, 3, 3)."""
    last = torch.tensor([0, 0, 1.0], device=affine.device, dtype=affine.dtype).expand(*affine.shape[:-2], 1, 3)
    return torch.cat([affine, last], -2)


def warp_parsing(onehot: torch.Tensor, transforms: PartTransforms, method: str = "cropped") -> torch.Tensor:
    """The source parsing (B, L, H, W one-hot) moved part by part; pixels no part reaches become background.
    ``method`` as in ``warp_parts``: ``"frame"`` gives each sample the same labels whatever else is in the batch
    (the cropped path's crop origins depend on the batch, and nearest sampling may flip a label on a boundary)."""
    warped = warp_parts(onehot, transforms, reduce="max", mode="nearest", method=method)
    background = (warped.sum(1, keepdim=True) == 0).to(warped.dtype)
    return torch.cat([torch.maximum(warped[:, :1], background), warped[:, 1:]], 1)
