"""The pose detector Φ used by the pose loss and to estimate keypoints: image -> 18 heatmaps.

The paper used a pre-trained detector that is not public; the official code's is a CycleGAN-style ResNet
generator. Ours is the same shape, trained on a dataset's keypoints (Gaussian heatmap targets, MSE) and
frozen during SPT training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from ..pose import MISSING, NUM_KEYPOINTS
from .blocks import ConvBlock, ResBlock, UpBlock, check_input


class PoseDetector(ModelMixin, ConfigMixin):
    """Φ: a ResNet generator (stem, ``num_downsamples`` stride-2 convs, residual blocks, upsampling) that
    maps an image in [-1, 1] to 18 joint heatmaps at full resolution, trained to match
    ``spt.pose.pose_heatmaps`` (peak 1 at the joint, 0 for a missing one)."""

    @register_to_config
    def __init__(
        self,
        num_keypoints: int = NUM_KEYPOINTS,
        base_channels: int = 32,
        num_downsamples: int = 2,
        num_res_blocks: int = 6,
        norm: str = "instance",
    ):
        super().__init__()
        chans = [base_channels * 2**i for i in range(num_downsamples + 1)]
        layers: list[nn.Module] = [ConvBlock(3, chans[0], kernel=7, norm=norm)]
        layers += [ConvBlock(chans[i], chans[i + 1], kernel=4, stride=2, norm=norm) for i in range(num_downsamples)]
        layers += [ResBlock(chans[-1], norm=norm) for _ in range(num_res_blocks)]
        layers += [UpBlock(chans[i + 1], chans[i], norm=norm) for i in reversed(range(num_downsamples))]
        layers.append(nn.Conv2d(chans[0], num_keypoints, 7, padding=3))
        self.model = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Heatmaps (B, num_keypoints, H, W) for images (B, 3, H, W) in [-1, 1]."""
        check_input("images", images, 3, multiple=2**self.config.num_downsamples)
        return self.model(images)

    @torch.no_grad()
    def detect(self, images: torch.Tensor, threshold: float = 0.3) -> torch.Tensor:
        """Keypoints (B, 18, 2) in pixels of ``images``; (-1, -1) where the peak is below ``threshold``."""
        return keypoints_from_heatmaps(self(images), threshold)


def keypoints_from_heatmaps(heatmaps: torch.Tensor, threshold: float = 0.3) -> torch.Tensor:
    """(B, K, H, W) heatmaps -> (B, K, 2) (x, y) pixels: the argmax refined to sub-pixel precision.

    Refinement fits a parabola through the peak and its two neighbours along each axis (offset
    ``(l - r) / (2 (l - 2c + r))``, clamped to half a pixel). A joint whose peak is below ``threshold``
    is missing, ``(-1, -1)``, as in the dataset conventions.
    """
    if heatmaps.dim() != 4:
        raise ValueError(f"heatmaps must be (B, K, H, W), got {tuple(heatmaps.shape)}")
    b, k, h, w = heatmaps.shape
    flat = heatmaps.float().reshape(b, k, -1)
    peak, index = flat.max(-1)
    y, x = index // w, index % w
    padded = F.pad(heatmaps.float(), (1, 1, 1, 1), mode="replicate")

    def at(dy: int, dx: int) -> torch.Tensor:
        return padded.reshape(b, k, -1).gather(-1, ((y + 1 + dy) * (w + 2) + x + 1 + dx)[..., None])[..., 0]

    def offset(minus: torch.Tensor, centre: torch.Tensor, plus: torch.Tensor) -> torch.Tensor:
        curvature = minus - 2 * centre + plus
        safe = torch.where(curvature < -1e-6, curvature, torch.full_like(curvature, -1.0))
        return torch.where(curvature < -1e-6, (minus - plus) / (2 * safe), torch.zeros_like(curvature)).clamp(-0.5, 0.5)

    centre = at(0, 0)
    xs = (x.float() + offset(at(0, -1), centre, at(0, 1))).clamp(0, w - 1)
    ys = (y.float() + offset(at(-1, 0), centre, at(1, 0))).clamp(0, h - 1)
    points = torch.stack([xs, ys], -1)
    return torch.where((peak >= threshold)[..., None], points, torch.full_like(points, MISSING))
