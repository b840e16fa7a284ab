"""Convolution blocks shared by the SPT networks (pix2pix / CycleGAN style)."""

from __future__ import annotations

import torch
from torch import nn


def norm_layer(kind: str, channels: int) -> nn.Module:
    """'instance' (affine, as in CycleGAN's generators), 'batch', or 'none'."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'instance', 'batch' or 'none', got {kind!r}")


class ConvBlock(nn.Sequential):
    """conv -> norm -> activation; ``stride=2`` halves the size (kernel 4, as pix2pix's encoder)."""

    def __init__(
        self, cin: int, cout: int, *, kernel: int = 3, stride: int = 1, norm: str = "instance", act: str = "relu"
    ):
        padding = (kernel - stride + 1) // 2 if stride == 2 else kernel // 2
        acts = {"relu": nn.ReLU(inplace=True), "lrelu": nn.LeakyReLU(0.2, inplace=True), "none": nn.Identity()}
        if act not in acts:
            raise ValueError(f"act must be one of {sorted(acts)}, got {act!r}")
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, padding, bias=norm != "batch"),
            norm_layer(norm, cout),
            acts[act],
        )


class UpBlock(nn.Sequential):
    """Nearest x2 upsampling then conv (no transposed-conv checkerboards)."""

    def __init__(self, cin: int, cout: int, *, norm: str = "instance"):
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), ConvBlock(cin, cout, norm=norm))


class ResBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x)."""

    def __init__(self, channels: int, *, norm: str = "instance"):
        super().__init__()
        self.body = nn.Sequential(
            ConvBlock(channels, channels, norm=norm), ConvBlock(channels, channels, norm=norm, act="none")
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Encoder(nn.Module):
    """A stem conv then ``num_downsamples`` stride-2 blocks; returns the features of every level.

    Channels: ``base``, 2 base, 4 base, … capped at ``max_channels``. ``channels`` lists them per level.
    """

    def __init__(self, cin: int, base: int, num_downsamples: int, max_channels: int, *, norm: str = "instance"):
        super().__init__()
        self.channels = [min(base * 2**i, max_channels) for i in range(num_downsamples + 1)]
        self.stem = ConvBlock(cin, self.channels[0], kernel=7, norm=norm)
        self.downs = nn.ModuleList(
            ConvBlock(self.channels[i], self.channels[i + 1], kernel=4, stride=2, norm=norm, act="lrelu")
            for i in range(num_downsamples)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = [self.stem(x)]
        for down in self.downs:
            feats.append(down(feats[-1]))
        return feats


class SkipDecoder(nn.Module):
    """The U-Net decoder half: from the bottleneck up to level 0, joining per-level skip features.

    ``channels`` are the encoder's per-level channels; ``num_streams`` how many skip tensors join each
    level (H_S: the target-pose stream; H_A: the warped source and the target streams). The bottleneck
    itself takes no skip (the caller has fused it already). Returns level-0 features concatenated with
    the level-0 skips: ``(1 + num_streams) * channels[0]`` channels, ready for an output head.
    """

    def __init__(self, channels: list[int], num_streams: int, *, norm: str = "instance"):
        super().__init__()
        top = len(channels) - 1
        self.ups = nn.ModuleList(
            UpBlock(channels[i + 1] * (1 if i == top - 1 else 1 + num_streams), channels[i], norm=norm)
            for i in reversed(range(top))
        )

    def forward(self, x: torch.Tensor, skips: list[list[torch.Tensor]]) -> torch.Tensor:
        top = len(self.ups)
        for level, up in zip(reversed(range(top)), self.ups):
            if level != top - 1:
                x = torch.cat([x, *(stream[level + 1] for stream in skips)], 1)
            x = up(x)
        return torch.cat([x, *(stream[0] for stream in skips)], 1)


def check_input(name: str, x: torch.Tensor, channels: int, size: tuple[int, int] | None = None, multiple: int = 1):
    """Raise a ValueError naming ``name`` unless x is (B, channels, H, W) with H, W multiples of ``multiple``."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != channels:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a (B, {channels}, H, W) tensor, got {shape}")
    if size is not None and tuple(x.shape[-2:]) != tuple(size):
        raise ValueError(f"{name} is {tuple(x.shape[-2:])} but the other inputs are {tuple(size)}")
    if x.shape[-1] % multiple or x.shape[-2] % multiple:
        raise ValueError(f"{name}: height and width must be multiples of {multiple}, got {tuple(x.shape[-2:])}")
