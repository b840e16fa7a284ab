"""Person-generation metrics, named by their variant because papers disagree.

``ssim`` is PATN's (skimage, Gaussian weights, sigma 1.5, population covariance, on uint8 RGB);
``mask_ssim`` zeroes everything outside a person mask in both images first. Parsing scores compare SPT-10
label maps: pixel accuracy, and mean IoU over the labels present in either map.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from ..parsing import NUM_LABELS


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two (H, W, 3) uint8 images, as PATN computes it."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    return float(structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                       channel_axis=-1, data_range=255))


def mask_ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """SSIM with both images set to 0 outside ``mask`` (H, W) (the true target person)."""
    m = np.asarray(mask, dtype=bool)[..., None]
    return ssim(a * m, b * m)


def pixel_accuracy(pred: np.ndarray, true: np.ndarray) -> float:
    return float((np.asarray(pred) == np.asarray(true)).mean())


def mean_iou(pred: np.ndarray, true: np.ndarray, num_labels: int = NUM_LABELS) -> float:
    """Mean over the labels present in either map of |pred ∩ true| / |pred ∪ true|."""
    pred, true = np.asarray(pred), np.asarray(true)
    if pred.shape != true.shape:
        raise ValueError(f"label maps differ in shape: {pred.shape} vs {true.shape}")
    ious = []
    for label in range(num_labels):
        p, t = pred == label, true == label
        union = (p | t).sum()
        if union:
            ious.append((p & t).sum() / union)
    return float(np.mean(ious))
