"""Person-generation metrics, named by their variant because papers disagree.

``ssim`` is PATN's (skimage, Gaussian weights, sigma 1.5, population covariance, on uint8 RGB);
``mask_ssim`` zeroes everything outside a person mask in both images first. Parsing scores compare SPT-10
label maps: pixel accuracy, mean IoU over the labels present in either map, and the person's silhouette alone.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.metrics import structural_similarity

from ..parsing import NUM_LABELS
from ..pose import is_present, torso_scale


def ssim(a: np.ndarray, b: np.ndarray, win_size: int | None = None) -> float:
    """SSIM of two (H, W, 3) uint8 images, as PATN computes it (Gaussian weights, sigma 1.5); with
    ``win_size=51``, the GFLA/PIDM variant (uniform 51x51 window)."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if win_size is not None:
        return float(structural_similarity(a, b, win_size=win_size, channel_axis=-1, data_range=255))
    return float(
        structural_similarity(
            a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=-1, data_range=255
        )
    )


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio (dB) of two uint8 images; inf when identical."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def mask_ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float | None:
    """SSIM with both images set to 0 outside ``mask`` (H, W) (the true target person); None for an empty mask
    (two black images would score a perfect 1.0 on nothing)."""
    m = np.asarray(mask, dtype=bool)[..., None]
    if not m.any():
        return None
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


def person_overlap(pred: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    """The person (every label but the background) of a predicted label map against the true one: their IoU, and
    the share of the true person's pixels predicted as background (what a composite by the predicted person
    leaves out of the person)."""
    p, t = np.asarray(pred) > 0, np.asarray(true) > 0
    if p.shape != t.shape:
        raise ValueError(f"label maps differ in shape: {p.shape} vs {t.shape}")
    union, person = (p | t).sum(), t.sum()
    iou = float((p & t).sum() / union) if union else 1.0
    return iou, float((t & ~p).sum() / person) if person else 0.0


def pckh_joints(detected: np.ndarray, truth: np.ndarray, alpha: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Per joint (18,), whether the detection is correct and whether the joint counts, for PCKh@alpha: a detected
    joint is correct within alpha x head size of the truth. COCO-18 has no head-top joint, so the head size is
    twice the neck-to-nose distance when both are visible, else 0.6 x the torso scale. Only joints visible in
    the truth count."""
    truth = np.asarray(truth, np.float32)
    detected = np.asarray(detected, np.float32)
    t = torch.from_numpy(truth)[None]
    present = is_present(t)[0].numpy()
    if present[0] and present[1]:
        head = 2 * float(np.linalg.norm(truth[0] - truth[1]))
    else:
        head = 0.6 * float(torso_scale(t)[0])
    ok = is_present(torch.from_numpy(detected)[None])[0].numpy()
    dist = np.linalg.norm(detected - truth, axis=-1)
    return present & ok & (dist <= alpha * head), present


def pckh(detected: np.ndarray, truth: np.ndarray, alpha: float = 0.5) -> tuple[int, int]:
    """Correct and total joints for PCKh@alpha (``pckh_joints``)."""
    correct, present = pckh_joints(detected, truth, alpha)
    return int(correct.sum()), int(present.sum())
