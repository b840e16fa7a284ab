"""H_S, the semantic generative network: predicts the target parsing from the source parsing and two poses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from ..parsing import to_onehot
from ..pose import part_transforms, pose_condition, scale_positions, warp_parsing
from .blocks import ConvBlock, Encoder, ResBlock, SkipDecoder, check_input


class SemanticGenerator(ModelMixin, ConfigMixin):
    """H_S = G_S(E_S(S_s, P_s, M_s), E_P(P_t, M_t)).

    * E_S encodes the source parsing S_s (one-hot), its pose heatmaps P_s and pose mask M_s;
    * E_P encodes the target pose P_t and its mask M_t;
    * G_S fuses both bottlenecks, refines them with residual blocks and decodes, with skip connections
      from E_P (the only stream already aligned with the target), to per-pixel label logits.
      ``softmax(logits, dim=1)`` is the predicted target parsing S~_t.

    ``warped_source=True`` (our departure, docs/design-notes.md) also gives E_P the source parsing moved to the
    target pose part by part, f_j(S_s) (``spt.pose.warp_parsing``, the affines the pseudo-label search
    matches with). In the paper the source reaches G_S only through the bottleneck (1/8 of the size), so the
    person's own widths, hair and garment lengths are lost and G_S draws an average body; f_j(S_s) is aligned
    with the target and reaches the decoder through E_P's skips at every level. False (the paper's inputs)
    keeps checkpoints trained without it loading unchanged.

    The paper runs it at 128x128 for DeepFashion (upsampled to 256) and 128x64 for Market-1501; any size
    divisible by ``2 ** num_downsamples`` works.
    """

    @register_to_config
    def __init__(
        self,
        num_labels: int = 10,
        num_keypoints: int = 18,
        base_channels: int = 64,
        num_downsamples: int = 3,
        max_channels: int = 256,
        num_res_blocks: int = 6,
        norm: str = "instance",
        warped_source: bool = False,
    ):
        super().__init__()
        self.source_encoder = Encoder(
            num_labels + num_keypoints + 1, base_channels, num_downsamples, max_channels, norm=norm
        )
        warped = num_labels if warped_source else 0
        self.pose_encoder = Encoder(num_keypoints + 1 + warped, base_channels, num_downsamples, max_channels, norm=norm)
        chans = self.pose_encoder.channels
        bottleneck = chans[-1]
        self.fuse = ConvBlock(2 * bottleneck, bottleneck, kernel=1, norm=norm)
        self.res_blocks = nn.Sequential(*(ResBlock(bottleneck, norm=norm) for _ in range(num_res_blocks)))
        self.decoder = SkipDecoder(chans, num_streams=1, norm=norm)
        self.head = nn.Conv2d(2 * chans[0], num_labels, 7, padding=3)

    def forward(
        self,
        source_parsing: torch.Tensor,
        source_pose: torch.Tensor,
        source_mask: torch.Tensor,
        target_pose: torch.Tensor,
        target_mask: torch.Tensor,
        warped_parsing: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Label logits (B, num_labels, H, W); inputs are (B, C, H, W) maps of the same size.
        ``warped_parsing`` f_j(S_s) is required when the model was built with ``warped_source``, else ignored."""
        cfg = self.config
        multiple = 2**cfg.num_downsamples
        check_input("source_parsing", source_parsing, cfg.num_labels, multiple=multiple)
        size = source_parsing.shape[-2:]
        check_input("source_pose", source_pose, cfg.num_keypoints, size)
        check_input("source_mask", source_mask, 1, size)
        check_input("target_pose", target_pose, cfg.num_keypoints, size)
        check_input("target_mask", target_mask, 1, size)
        target_maps = [target_pose, target_mask]
        if cfg.warped_source:
            if warped_parsing is None:
                raise ValueError("this H_S was built with warped_source=True: pass warped_parsing, f_j(S_s)")
            check_input("warped_parsing", warped_parsing, cfg.num_labels, size)
            target_maps.append(warped_parsing)
        source = self.source_encoder(torch.cat([source_parsing, source_pose, source_mask], 1))[-1]
        target = self.pose_encoder(torch.cat(target_maps, 1))
        x = self.res_blocks(self.fuse(torch.cat([source, target[-1]], 1)))
        return self.head(self.decoder(x, [target]))


def predict_parsing_logits(
    semantic_generator: SemanticGenerator,
    source_parsing: torch.Tensor,
    source_keypoints: torch.Tensor,
    target_keypoints: torch.Tensor,
    semantic_size: tuple[int, int] | None = None,
) -> torch.Tensor:
    """H_S at ``semantic_size`` (default: the parsing's size), logits upsampled back to the parsing's size.

    source_parsing (B, L, H, W) one-hot; keypoints (B, 18, 2) pixels of (H, W).
    """
    size = tuple(source_parsing.shape[-2:])
    small = tuple(semantic_size or size)
    kp_s, kp_t = source_keypoints.float(), target_keypoints.float()
    if small != size:
        source_parsing = F.interpolate(source_parsing, size=small, mode="nearest")
        scale = torch.tensor([small[1] / size[1], small[0] / size[0]], device=kp_s.device)
        kp_s = torch.where(kp_s >= 0, scale_positions(kp_s, scale), kp_s)
        kp_t = torch.where(kp_t >= 0, scale_positions(kp_t, scale), kp_t)
    dtype = source_parsing.dtype
    p_s, m_s = pose_condition(kp_s, small)
    p_t, m_t = pose_condition(kp_t, small)
    warped = None
    # Under DDP (training on several processes) the module is wrapped, and its config is the inner one's.
    if getattr(semantic_generator, "module", semantic_generator).config.warped_source:
        with torch.no_grad():  # a cue, not a path for gradients (and its backward is slow under CPU autocast)
            warped = warp_parsing(source_parsing.float(), part_transforms(kp_s, kp_t), method="frame").to(dtype)
    logits = semantic_generator(
        source_parsing, p_s.to(dtype), m_s.to(dtype), p_t.to(dtype), m_t.to(dtype), warped_parsing=warped
    )
    return logits if small == size else F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


def feathered_layout(logits: torch.Tensor) -> torch.Tensor:
    """The target parsing H_A renders at inference (B, L, H, W), from H_S's logits (label 0 the background):
    the one-hot of the argmax where that is a person label, and H_S's probabilities where it is the background.

    The returned layout is drawn in full, and just outside it, where H_S gave the person some probability but
    not the most, H_A's output is mixed with the scene by that probability (its composite is 1 minus channel
    0): an outer edge feathered by H_S's confidence instead of a staircase at half its resolution. Probabilities
    everywhere (as the end-to-end stage trains) also feather the layout's own thin limbs, which fade
    (docs/design-notes.md)."""
    probs = logits.float().softmax(1)
    hard = to_onehot(logits.argmax(1), logits.shape[1])
    outside = hard[:, :1]
    return hard * (1.0 - outside) + probs * outside
