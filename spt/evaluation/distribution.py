"""FID, IS, mask-IS and LPIPS through ``torchmetrics``, never code of ours.

By default torchmetrics builds torch-fidelity's Inception-v3 and downloads its weights on first use; where
that cannot happen (no torch-fidelity, no network) ``DistributionScores()`` raises ``MetricsUnavailable``
with the reason, and the evaluation table says "not computed". Any other networks can be passed in:
``feature`` maps images to (B, D) features for FID, ``logits`` to (B, K) class logits for IS; torchmetrics
hands them (B, 3, H, W) uint8 images, as torch-fidelity's Inception expects
(the tests use small random ones, so the code path is exercised offline). mask-IS (PG2) is IS on the
generated images with everything outside the target person set to zero.

LPIPS (``PerceptualDistance``) is torchmetrics' AlexNet LPIPS of each generated image against its true
target: its linear layers ship with torchmetrics, its AlexNet comes from torchvision (ImageNet weights from
the torch hub cache, downloaded on first use). Without either it raises ``MetricsUnavailable`` too.
"""

from __future__ import annotations

import torch
from torch import nn


class MetricsUnavailable(RuntimeError):
    """The networks behind FID/IS/LPIPS cannot be built here; the message says why."""


class DistributionScores:
    """Accumulates generated and real images batch by batch, then ``compute()`` -> fid, is, mask_is."""

    def __init__(self, feature: nn.Module | None = None, logits: nn.Module | None = None, splits: int = 10):
        try:
            from torchmetrics.image.fid import FrechetInceptionDistance
            from torchmetrics.image.inception import InceptionScore
        except ImportError:
            raise MetricsUnavailable("FID/IS need torchmetrics (pip install torchmetrics)") from None
        try:
            self.fid = FrechetInceptionDistance(feature=feature if feature is not None else 2048, normalize=True)
            self.inception = InceptionScore(feature=logits if logits is not None else "logits_unbiased",
                                            normalize=True, splits=splits)
            self.mask_inception = InceptionScore(feature=logits if logits is not None else "logits_unbiased",
                                                 normalize=True, splits=splits)
        except ModuleNotFoundError:
            raise MetricsUnavailable("Inception needs torch-fidelity (pip install torch-fidelity) and a download "
                                     "of its weights") from None
        except (OSError, RuntimeError, ValueError) as err:
            raise MetricsUnavailable(f"Inception weights could not be loaded ({str(err).splitlines()[0][:200]})") from None
        self.splits = splits
        self.count = 0

    @torch.no_grad()
    def update(self, generated: torch.Tensor, real: torch.Tensor, person: torch.Tensor) -> None:
        """``generated``/``real``: (B, 3, H, W) in [0, 1]; ``person``: (B, 1, H, W) mask of the true target."""
        generated, real = generated.float().cpu(), real.float().cpu()
        self.fid.update(real, real=True)
        self.fid.update(generated, real=False)
        self.inception.update(generated)
        self.mask_inception.update(generated * person.float().cpu())
        self.count += len(generated)

    def compute(self) -> dict[str, float]:
        if self.count < max(2, self.splits):
            raise ValueError(f"FID/IS need at least {max(2, self.splits)} images, got {self.count}")
        return {"fid": float(self.fid.compute()), "is": float(self.inception.compute()[0]),
                "mask_is": float(self.mask_inception.compute()[0])}


class PerceptualDistance:
    """LPIPS (AlexNet, torchmetrics) of generated images against their true targets, averaged over pairs."""

    def __init__(self):
        try:
            from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

            self.metric = LearnedPerceptualImagePatchSimilarity(net_type="alex", normalize=True)
        except ImportError:
            raise MetricsUnavailable("LPIPS needs torchvision (pip install torchvision) and a download of AlexNet's "
                                     "weights") from None
        except RuntimeError as err:
            # A torchvision built for another torch (a CUDA wheel beside a CPU torch) fails inside its import.
            raise MetricsUnavailable(f"LPIPS needs torchvision, which does not load here "
                                     f"({str(err).splitlines()[0][:160]})") from None
        except (OSError, ValueError) as err:
            raise MetricsUnavailable(f"LPIPS's AlexNet weights could not be loaded "
                                     f"({str(err).splitlines()[0][:200]})") from None
        self.count = 0

    @torch.no_grad()
    def update(self, generated: torch.Tensor, real: torch.Tensor) -> None:
        """(B, 3, H, W) in [0, 1], pair by pair."""
        self.metric.update(generated.float().cpu(), real.float().cpu())
        self.count += len(generated)

    def compute(self) -> float:
        if not self.count:
            raise ValueError("LPIPS needs at least one pair")
        return float(self.metric.compute())
