"""The SPT training objectives. Each is a small function; the weights live in ``LossWeights``.

Notation (paper): I_s source image, S_s its parsing, P_t target pose with mask M_t, S*_t the pseudo label
from the search, S~_t = H_S(...) the predicted target parsing, Î_t = H_A(I_s, ..., S~_t) the generated
target image and Î_s = H_A(Î_t, ..., S_s) its cycle back to the source pose. φ is VGG (relu2_1), Φ the pose
detector, D_S / D_A / D_F the parsing, appearance and face discriminators.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .parsing import FACE, HAIR, LEFT_ARM, LEFT_LEG, NUM_LABELS, RIGHT_ARM, RIGHT_LEG
from .pose import FACE_JOINTS, is_present, torso_scale


@dataclass
class LossWeights:
    """Loss weights of the official code where the paper is silent (docs/design-notes.md). ``cycle`` weighs the L1
    cycle consistency ``|Î_s - I_s|`` (CycleGAN's 10); ``content`` the VGG form of the same cycle."""

    adversarial: float = 1.0
    cycle: float = 10.0
    pose: float = 700.0
    content: float = 0.03
    # Our Grams sum C x C squared differences of torchvision-scale features: ~1000 at the start of H_A
    # training on SyntheticPeople and ~300 after 1,500 steps, 100x the other terms, which then drowned H_A
    # in texture noise (design notes).
    style: float = 0.01
    face: float = 1.0
    # H_S's own cycle (our addition, design notes): S~_t moved back to P_s by H_S must give S_s again.
    semantic_cycle: float = 0.0
    # H_S's CE (and its cycle's) weight on the labels it leaves as background most often, the thin ones: hair,
    # arms and legs at this value, the face half-way, every other label at 1 (1 is the paper's uniform CE).
    thin_parts: float = 1.0


# --------------------------------------------------------------------------------------------------
# Adversarial (LSGAN) and the semantic network's cross-entropy
# --------------------------------------------------------------------------------------------------


def lsgan_loss(scores: torch.Tensor, real: bool) -> torch.Tensor:
    """LSGAN: ``mean((D(x) - c)^2)`` with c = 1 for real, 0 for fake."""
    return ((scores.float() - (1.0 if real else 0.0)) ** 2).mean()


def discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """D side: ``0.5 * (mean((D(real) - 1)^2) + mean(D(fake)^2))``; pass fakes detached."""
    return 0.5 * (lsgan_loss(real_scores, True) + lsgan_loss(fake_scores, False))


def generator_adversarial_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """G side: ``mean((D(G(x)) - 1)^2)``."""
    return lsgan_loss(fake_scores, True)


def weighted_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, target_mask: torch.Tensor, class_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """H_S's parsing loss: ``mean_pixels((1 + M_t) * w[S*_t] * CE(softmax(logits), S*_t))``.

    logits (B, L, H, W); labels (B, H, W) integer S*_t; target_mask (B, 1, H, W) the pose mask M_t, which
    doubles the weight of pixels on the body; class_weights (L,) w, each pixel's weight by its true label
    (from ``label_weights``; None is 1 everywhere, the paper's).
    """
    if labels.shape != logits.shape[:1] + logits.shape[2:]:
        raise ValueError(f"labels {tuple(labels.shape)} do not match logits {tuple(logits.shape)}")
    if class_weights is not None:
        class_weights = class_weights.to(device=logits.device, dtype=torch.float32)
    ce = F.cross_entropy(logits.float(), labels.long(), weight=class_weights, reduction="none")
    return ((1.0 + target_mask[:, 0].float()) * ce).mean()


def label_weights(thin_parts: float) -> torch.Tensor | None:
    """The (L,) SPT-10 label weights of ``LossWeights.thin_parts``, or None at 1 (uniform)."""
    if thin_parts == 1:
        return None
    weights = torch.ones(NUM_LABELS)
    weights[[HAIR, LEFT_ARM, RIGHT_ARM, LEFT_LEG, RIGHT_LEG]] = thin_parts
    weights[FACE] = (1 + thin_parts) / 2
    return weights


# --------------------------------------------------------------------------------------------------
# Pose and content
# --------------------------------------------------------------------------------------------------


def heatmap_loss(predicted: torch.Tensor, target: torch.Tensor, foreground: float = 0.0) -> torch.Tensor:
    """The pose detector Φ's training loss: ``mean((1 + foreground * P) (Φ(I) - P)^2)``. Plain MSE
    (``foreground=0``) has all-zero heatmaps as an attractor: a joint's Gaussian covers ~0.3% of a 128x64 map,
    so predicting nothing costs only mean(P^2) ~ 0.003, and a run that falls there keeps a near-zero gradient
    and never leaves (docs/design-notes.md). Weighting the pixels near joints removes it."""
    target = target.float()
    return ((predicted.float() - target) ** 2 * (1 + foreground * target)).mean()


def pose_loss(detected_heatmaps: torch.Tensor, target_heatmaps: torch.Tensor) -> torch.Tensor:
    """``mean((Φ(Î_t) - P_t)^2)``: the detector's heatmaps on the output against the target pose's."""
    return F.mse_loss(detected_heatmaps.float(), target_heatmaps.float())


def cycle_loss(cycled: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """``mean(|Î_s - I_s|)``: mapping the generated target back to the source pose must give the source."""
    return F.l1_loss(cycled.float(), source.float())


def content_loss(features: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``mean((φ(Î_s) - φ(I_s))^2)``: VGG relu2_1 features of the cycle output against the source."""
    return F.mse_loss(features.float(), reference.float())


# --------------------------------------------------------------------------------------------------
# Style: Gram matrices of VGG features inside regions
# --------------------------------------------------------------------------------------------------


def masked_gram(features: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per-region Gram matrices ``G_r = Σ_p m_r(p) φ_p φ_p^T / (C · Σ_p m_r(p))``: (B, C, h, w), (B, R, h, w) ->
    (B, R, C, C), in fp32.

    Normalising by the region's area (not the image's) makes regions of any size comparable. A parsing's
    regions are nearly disjoint, so each region's sum runs over its own pixels only (``_sparse_gram``: about
    R times less work than over the whole frame per region); regions that cover most of the frame (the
    probabilities of a predicted parsing) are summed densely. The product runs in the features' precision:
    under bf16 autocast it would be cast to bf16 anyway, and masking in fp32 first only adds copies.
    """
    m = masks.to(features.dtype)
    longest = int((m != 0).sum((-2, -1)).max()) if m.numel() else 0
    if 2 * longest <= features.shape[-2] * features.shape[-1]:
        gram = _sparse_gram(features, m, longest)
    else:
        gram = torch.einsum("bchw,brhw,bdhw->brcd", features, m, features)
    area = masks.float().sum((-2, -1)).clamp_min(1.0)
    return gram.float() / (features.shape[1] * area[..., None, None])


def _sparse_gram(features: torch.Tensor, masks: torch.Tensor, longest: int) -> torch.Tensor:
    """``Σ_p m_r(p) φ_p φ_p^T`` over the pixels where ``m_r > 0``, every region padded to ``longest`` pixels
    of weight 0: one batched product of (B·R, C, longest) by (B·R, longest, C)."""
    bsz, channels, height, width = features.shape
    regions = masks.shape[1]
    m = masks.reshape(bsz * regions, height * width)
    order = torch.argsort((m == 0).to(torch.uint8), dim=1, stable=True)[:, :longest]  # each region's pixels first
    weight = m.gather(1, order)  # (B·R, longest), 0 past the region's pixels
    sample = torch.arange(bsz, device=features.device).repeat_interleave(regions)
    rows = (sample[:, None] * (height * width) + order).reshape(-1)
    table = features.flatten(2).transpose(1, 2).reshape(bsz * height * width, channels)
    x = table.index_select(0, rows).view(bsz * regions, longest, channels)
    return torch.bmm((x * weight[..., None]).transpose(1, 2), x).view(bsz, regions, channels, channels)


def _to_feature_size(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return masks if tuple(masks.shape[-2:]) == tuple(size) else F.interpolate(masks.float(), size=size, mode="area")


def region_grams(features: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-region Gram matrices of ``features`` (B, R, C, C) and each region's area in feature pixels
    (B, R), the masks (B, R, H, W) area-downsampled to the features' size first."""
    masks = _to_feature_size(masks, features.shape[-2:])
    return masked_gram(features, masks), masks.float().sum((-2, -1))


def gram_distance(
    grams_a: tuple[torch.Tensor, torch.Tensor], grams_b: tuple[torch.Tensor, torch.Tensor], min_area: float = 4.0
) -> torch.Tensor:
    """``region_style_loss`` from two ``region_grams`` results (so that one image's can serve twice)."""
    (gram_a, area_a), (gram_b, area_b) = grams_a, grams_b
    shared = (area_a >= min_area) & (area_b >= min_area)
    diff = ((gram_a - gram_b) ** 2).sum((-2, -1))
    return (diff * shared).sum() / shared.sum().clamp_min(1)


def region_style_loss(
    features_a: torch.Tensor,
    masks_a: torch.Tensor,
    features_b: torch.Tensor,
    masks_b: torch.Tensor,
    *,
    min_area: float = 4.0,
) -> torch.Tensor:
    """``Σ_r ||G(φ_a, m^r_a) - G(φ_b, m^r_b)||^2`` averaged over the regions present in both images.

    Masks (B, R, H, W) are soft or hard, at any resolution (area-downsampled to the features'). A region
    counts where both masks cover at least ``min_area`` feature pixels. Zero when no region is shared.
    """
    return gram_distance(region_grams(features_a, masks_a), region_grams(features_b, masks_b), min_area)


def semantic_regions(parsing: torch.Tensor, include_background: bool = False) -> torch.Tensor:
    """The semantic-aware style loss's regions: one mask per label of a one-hot/probability parsing (B, L, H, W)."""
    return parsing if include_background else parsing[:, 1:]


def foreground_region(parsing: torch.Tensor) -> torch.Tensor:
    """The mask-style ablation's single region: the whole person, ``1 - background`` (B, 1, H, W)."""
    return 1.0 - parsing[:, :1]


def joint_patches(keypoints: torch.Tensor, size: tuple[int, int], half_size: float = 0.25) -> torch.Tensor:
    """The patch-style ablation's regions: a square around each joint, half-side ``half_size`` x torso scale.

    (B, 18, 2) -> (B, 18, H, W); zeros for a missing joint. Joint k of two poses is the same body region,
    so patch k of the source is compared with patch k of the target.
    """
    kp = keypoints.float()
    half = (half_size * torso_scale(kp))[:, None, None, None]
    height, width = size
    ys = torch.arange(height, device=kp.device, dtype=kp.dtype).view(1, 1, height, 1)
    xs = torch.arange(width, device=kp.device, dtype=kp.dtype).view(1, 1, 1, width)
    inside = ((xs - kp[..., 0, None, None]).abs() <= half) & ((ys - kp[..., 1, None, None]).abs() <= half)
    return (inside & is_present(kp)[..., None, None]).float()


STYLE_KINDS = ("semantic", "mask", "patch")


def style_regions(kind: str, parsing: torch.Tensor, keypoints: torch.Tensor) -> torch.Tensor:
    """The regions a style loss compares: ``"semantic"`` (the method: one per body label), ``"mask"`` (the
    whole person) or ``"patch"`` (squares around the joints), for the paper's ablation."""
    if kind == "semantic":
        return semantic_regions(parsing)
    if kind == "mask":
        return foreground_region(parsing)
    if kind == "patch":
        return joint_patches(keypoints, tuple(parsing.shape[-2:]))
    raise ValueError(f"style kind must be one of {STYLE_KINDS}, got {kind!r}")


def appearance_style_loss(
    source_features: torch.Tensor,
    source_regions: torch.Tensor,
    generated_features: torch.Tensor,
    generated_regions: torch.Tensor,
    cycle_features: torch.Tensor | None = None,
) -> torch.Tensor:
    """The semantic-aware style loss of H_A, both directions of the cycle:

    ``L_sty = Σ_j ||G(φ(Î_t), S~^j_t) - G(φ(I_s), S^j_s)||^2 + Σ_j ||G(φ(Î_s), S^j_s) - G(φ(I_s), S^j_s)||^2``

    The first term asks every region of the generated target to carry the texture of the same region of
    the source although the two are not aligned (why Gram matrices, not pixels); the second asks the same
    of the cycle output Î_s, whose layout is the source's. Both anchor on the real image I_s.
    """
    source = region_grams(source_features, source_regions)  # computed once, for both terms
    loss = gram_distance(source, region_grams(generated_features, generated_regions))
    if cycle_features is not None:
        loss = loss + gram_distance(source, region_grams(cycle_features, source_regions))
    return loss


# --------------------------------------------------------------------------------------------------
# Face crops for D_F
# --------------------------------------------------------------------------------------------------


def face_boxes(keypoints: torch.Tensor, half_size: float = 0.4) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Face squares from keypoints: centre = mean of the visible nose/eyes/ears, half-side ``half_size`` x
    torso scale. Returns centres (B, 2), half-sides (B,) and ``valid`` (B,) where a face joint is visible."""
    kp = keypoints.float()
    face = kp[:, list(FACE_JOINTS)]
    present = is_present(face).float()
    centres = (face * present[..., None]).sum(1) / present.sum(1, keepdim=True).clamp_min(1)
    return centres, half_size * torso_scale(kp), present.sum(1) > 0


def face_crops(images: torch.Tensor, keypoints: torch.Tensor, out_size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut the face square of each image by an affine grid (bilinear; zeros outside the frame).

    Returns crops (B, C, out_size, out_size) and ``valid`` (B,) (no visible face joint: crop is meaningless).
    """
    b, _, height, width = images.shape
    centres, half, valid = face_boxes(keypoints)
    # Pixel centres at integers: normalised = (2 p + 1) / size - 1, as grid_sample(align_corners=False).
    theta = torch.zeros(b, 2, 3, device=images.device, dtype=images.dtype)
    theta[:, 0, 0] = 2 * half / width
    theta[:, 1, 1] = 2 * half / height
    theta[:, 0, 2] = (2 * centres[:, 0] + 1) / width - 1
    theta[:, 1, 2] = (2 * centres[:, 1] + 1) / height - 1
    grid = F.affine_grid(theta, [b, images.shape[1], out_size, out_size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False), valid
