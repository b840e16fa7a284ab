"""H_A, the appearance generative network: renders the source's appearance onto the target parsing."""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from ..pose import PartTransforms, part_transforms, warp_parts
from .blocks import ConvBlock, Encoder, ResBlock, SkipDecoder, check_input


class AppearanceGenerator(ModelMixin, ConfigMixin):
    """H_A = G_A(E_A(I_s, P_s, S_s), E'_S(P_t, S~_t)): the Deformable-GAN two-stream U-Net.

    * E_A encodes the source image I_s with its pose heatmaps P_s and parsing S_s;
    * E'_S encodes the target pose P_t and the target parsing S~_t (predicted by H_S, or edited);
    * at every level, E_A's features are moved to the target by the 10 rigid-part affines f_j
      (``spt.pose.warp_parts``: each part masked, warped with grid_sample, max over parts) and joined
      with E'_S's features: the deformable skip connections;
    * G_A decodes the fused bottleneck through residual blocks and these skips to RGB in [-1, 1] (tanh).

    Widths and depth are config fields: the tiny test model and the paper-size one (``base_channels=64,
    num_downsamples=6, max_channels=512`` at 256x256) are the same class.

    ``use_parsing=False`` is the paper's *Baseline* ablation: G_A(E_A(I_s, P_s), E'(P_t)), the same network
    without the semantic parsing inputs (so without H_S); the parsing arguments are then ignored.
    """

    @register_to_config
    def __init__(
        self,
        num_labels: int = 10,
        num_keypoints: int = 18,
        base_channels: int = 64,
        num_downsamples: int = 5,
        max_channels: int = 512,
        num_res_blocks: int = 2,
        norm: str = "instance",
        use_parsing: bool = True,
    ):
        super().__init__()
        labels = num_labels if use_parsing else 0
        self.source_encoder = Encoder(3 + num_keypoints + labels, base_channels, num_downsamples, max_channels, norm=norm)
        self.target_encoder = Encoder(num_keypoints + labels, base_channels, num_downsamples, max_channels, norm=norm)
        chans = self.source_encoder.channels
        self.fuse = ConvBlock(2 * chans[-1], chans[-1], kernel=1, norm=norm)
        self.res_blocks = nn.Sequential(*(ResBlock(chans[-1], norm=norm) for _ in range(num_res_blocks)))
        # Each level joins two skips: E_A's features warped to the target, and E'_S's.
        self.decoder = SkipDecoder(chans, num_streams=2, norm=norm)
        self.head = nn.Sequential(nn.Conv2d(3 * chans[0], 3, 7, padding=3), nn.Tanh())

    def deformable_skips(
        self, source_features: list[torch.Tensor], transforms: PartTransforms, image_size: tuple[int, int]
    ) -> list[torch.Tensor]:
        """E_A's features at every level moved to the target pose by the f_j."""
        masks = transforms.source_masks(image_size)
        return [warp_parts(f, transforms, image_size=image_size, masks=masks) for f in source_features]

    def forward(
        self,
        source_image: torch.Tensor,
        source_pose: torch.Tensor,
        source_parsing: torch.Tensor | None,
        target_pose: torch.Tensor,
        target_parsing: torch.Tensor | None,
        source_keypoints: torch.Tensor,
        target_keypoints: torch.Tensor,
    ) -> torch.Tensor:
        """The generated image (B, 3, H, W) in [-1, 1].

        Maps are (B, C, H, W) of one size (image 3, pose heatmaps num_keypoints, parsing num_labels
        one-hot or probabilities; ignored, may be None, when ``use_parsing`` is False); keypoints are (B, 18, 2)
        pixels of that size, (-1, -1) missing.
        """
        cfg = self.config
        check_input("source_image", source_image, 3, multiple=2**cfg.num_downsamples)
        size = tuple(source_image.shape[-2:])
        check_input("source_pose", source_pose, cfg.num_keypoints, size)
        check_input("target_pose", target_pose, cfg.num_keypoints, size)
        source_maps, target_maps = [source_image, source_pose], [target_pose]
        if cfg.use_parsing:
            check_input("source_parsing", source_parsing, cfg.num_labels, size)
            check_input("target_parsing", target_parsing, cfg.num_labels, size)
            source_maps.append(source_parsing)
            target_maps.append(target_parsing)
        for name, kp in (("source_keypoints", source_keypoints), ("target_keypoints", target_keypoints)):
            if kp.dim() != 3 or kp.shape[1:] != (18, 2) or kp.shape[0] != source_image.shape[0]:
                raise ValueError(f"{name} must be ({source_image.shape[0]}, 18, 2), got {tuple(kp.shape)}")
        transforms = part_transforms(source_keypoints.float(), target_keypoints.float())
        source = self.source_encoder(torch.cat(source_maps, 1))
        target = self.target_encoder(torch.cat(target_maps, 1))
        skips = self.deformable_skips(source, transforms, size)
        x = self.res_blocks(self.fuse(torch.cat([skips[-1], target[-1]], 1)))
        return self.head(self.decoder(x, [skips, target]))
