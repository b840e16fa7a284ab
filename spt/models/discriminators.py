"""PatchGAN discriminators: D_S (parsing), D_A (image + parsing) and D_F (face crops)."""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .blocks import ConvBlock, check_input, norm_layer


class PatchDiscriminator(ModelMixin, ConfigMixin):
    """The pix2pix 70x70 PatchGAN (with ``num_layers=3``): a map of real/fake scores, one per patch.

    Instance norm and LeakyReLU(0.2); no norm on the first layer, no activation on the output (the
    LSGAN loss takes raw scores). ``in_channels`` picks the role: D_S sees a parsing (10, optionally
    + 18 pose channels), D_A an image with its parsing (3 + 10), D_F a face crop (3).
    """

    @register_to_config
    def __init__(self, in_channels: int = 3, base_channels: int = 64, num_layers: int = 3, norm: str = "instance"):
        super().__init__()
        chans = [min(base_channels * 2**i, base_channels * 8) for i in range(num_layers + 1)]
        layers: list[nn.Module] = [ConvBlock(in_channels, chans[0], kernel=4, stride=2, norm="none", act="lrelu")]
        for i in range(1, num_layers):
            layers.append(ConvBlock(chans[i - 1], chans[i], kernel=4, stride=2, norm=norm, act="lrelu"))
        layers.append(nn.Conv2d(chans[num_layers - 1], chans[num_layers], 4, 1, 1))
        layers.append(norm_layer(norm, chans[num_layers]))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        layers.append(nn.Conv2d(chans[num_layers], 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input("discriminator input", x, self.config.in_channels)
        return self.model(x)
