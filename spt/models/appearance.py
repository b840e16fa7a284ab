"""H_A, the appearance generative network: renders the source's appearance onto the target parsing."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from ..pose import PartTransforms, part_transforms, pose_heatmaps, pose_mask, warp_parts
from ..processor import tensor_to_uint8, uint8_to_tensor
from .blocks import ConvBlock, Encoder, ResBlock, SkipDecoder, check_input

OUTPUTS = ("blend", "render")
SCENES = ("filled", "hole")


class AppearanceGenerator(ModelMixin, ConfigMixin):
    """H_A = G_A(E_A(I_s, P_s, S_s), E'_S(P_t, S~_t)): the Deformable-GAN two-stream U-Net.

    * E_A encodes the source image I_s with its pose heatmaps P_s and parsing S_s;
    * E'_S encodes the target pose P_t and the target parsing S~_t (predicted by H_S, or edited);
    * at every level, E_A's features are moved to the target by the 10 rigid-part affines f_j
      (``spt.pose.warp_parts``, max over parts) and joined with E'_S's features: the deformable skip
      connections. As in the official code, the torso's mask is the whole image, so the scene reaches the
      decoder through the torso affine (``PartTransforms.skip_masks``);
    * G_A decodes the fused bottleneck through residual blocks and these skips.

    ``output="render"`` is the paper's head: RGB in [-1, 1] through tanh. ``output="blend"`` (the default,
    our departure, docs/design-notes.md) takes the deformable skip down to the pixels: the head also predicts
    a per-pixel softmax over three sources, its own rendering, the source *person* moved part by part by the
    f_j (``part_warp``), and the source *scene* with the person cut out (``scene_plate``), and returns their
    mixture. The plate also enters E'_S, which is aligned with the target, so the decoder sees the scene
    around the hole the source person leaves and can fill it. The mixture starts as the model-free answer
    (warped person over the plate, the rendering where neither covers), so copying is the easy path and
    the unsupervised losses only have to learn what rigid motion cannot give; without it the cycle term is
    met by images that only encode the source (design notes).

    ``scene="filled"`` (the default) fills the plate's hole from the rest of the scene (``fill_holes``: copied by
    offset where the scene repeats, else OpenCV's Navier-Stokes inpainting) and composites the blend over that
    filled plate by the target person mask (1 minus S~_t's background): where the target person is not, the output
    *is* the scene, so nothing of the source person (no ghost) can remain where it stood. ``scene="hole"`` is the
    earlier design (the plate with its hole, no composite), kept so checkpoints trained with it load unchanged.

    ``warp_method`` picks how the skips are warped (``spt.pose.warp_parts``'s ``method``): ``"cropped"``, the
    default, or ``"frame"``, the reference that samples the whole frame per part (the same values, several
    times the work; ``benchmarks/train_speed.py`` times both). It is not a config field: it changes no result.

    Widths and depth are config fields: the tiny test model and the paper-size one (``base_channels=64,
    num_downsamples=6, max_channels=512`` at 256x256) are the same class.

    ``use_parsing=False`` is the paper's *Baseline* ablation: G_A(E_A(I_s, P_s), E'(P_t)), the same network
    without the semantic parsing inputs (so without H_S); the parsing arguments are then ignored and the
    person's region comes from the pose masks M_P.
    """

    warp_method = "cropped"

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
        output: str = "blend",
        scene: str = "filled",
    ):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        if scene not in SCENES:
            raise ValueError(f"scene must be one of {SCENES}, got {scene!r}")
        labels = num_labels if use_parsing else 0
        plate = 4 if output == "blend" else 0  # the scene plate (RGB) and where it is valid
        self.source_encoder = Encoder(
            3 + num_keypoints + labels, base_channels, num_downsamples, max_channels, norm=norm
        )
        self.target_encoder = Encoder(
            num_keypoints + labels + plate, base_channels, num_downsamples, max_channels, norm=norm
        )
        chans = self.source_encoder.channels
        self.fuse = ConvBlock(2 * chans[-1], chans[-1], kernel=1, norm=norm)
        self.res_blocks = nn.Sequential(*(ResBlock(chans[-1], norm=norm) for _ in range(num_res_blocks)))
        # Each level joins two skips: E_A's features warped to the target, and E'_S's.
        self.decoder = SkipDecoder(chans, num_streams=2, norm=norm)
        if output == "render":
            self.head = nn.Sequential(nn.Conv2d(3 * chans[0], 3, 7, padding=3), nn.Tanh())
        else:
            # RGB of the rendering, then the logits of (rendering, warped person, plate); the candidates
            # themselves (8 channels) are seen at full resolution.
            self.head = nn.Conv2d(3 * chans[0] + 8, 6, 7, padding=3)
            nn.init.zeros_(self.head.weight[3:])
            nn.init.zeros_(self.head.bias[3:])

    def deformable_skips(
        self,
        source_features: list[torch.Tensor],
        transforms: PartTransforms,
        image_size: tuple[int, int],
        source_masks: torch.Tensor | None = None,
    ) -> list[torch.Tensor]:
        """E_A's features at every level moved to the target pose by the f_j (the torso's carries the scene).
        ``source_masks``: ``transforms.source_masks(image_size)`` when the caller has rasterised them already."""
        if source_masks is None:
            source_masks = transforms.source_masks(image_size)
        masks = transforms.skip_masks(source_masks)
        return [
            warp_parts(f, transforms, image_size=image_size, masks=masks, method=self.warp_method)
            for f in source_features
        ]

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
        transforms = part_transforms(source_keypoints, target_keypoints)
        part_masks = transforms.source_masks(size)  # rasterised once, for the skips and the pixel warp
        if cfg.output == "blend":
            person_s = self._person(source_parsing, source_keypoints, size).to(source_image.dtype)
            person_t = self._person(target_parsing, target_keypoints, size).to(source_image.dtype)
            moved, coverage = part_warp(source_image, person_s, transforms, part_masks, method=self.warp_method)
            plate, plate_valid = scene_plate(source_image, person_s)
            if cfg.scene == "filled":
                plate = fill_holes(plate, plate_valid)
            target_maps += [plate, plate_valid]
        source = self.source_encoder(torch.cat(source_maps, 1))
        target = self.target_encoder(torch.cat(target_maps, 1))
        skips = self.deformable_skips(source, transforms, size, part_masks)
        x = self.res_blocks(self.fuse(torch.cat([skips[-1], target[-1]], 1)))
        features = self.decoder(x, [skips, target])
        if cfg.output == "render":
            return self.head(features)
        out = self.head(torch.cat([features, moved, coverage, plate, plate_valid], 1))
        filled = cfg.scene == "filled"
        prior = blend_prior(coverage, torch.ones_like(plate_valid) if filled else plate_valid, person_t)
        weights = (out[:, 3:].float() + prior.float()).softmax(1).to(out.dtype)
        rendered = torch.tanh(out[:, :3])
        mixture = weights[:, :1] * rendered + weights[:, 1:2] * moved + weights[:, 2:] * plate
        if not filled:
            return mixture
        return person_t * mixture + (1.0 - person_t) * plate

    def _person(self, parsing: torch.Tensor | None, keypoints: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Where the person is (B, 1, H, W): 1 - background of the parsing, or the pose mask M_P without one."""
        if self.config.use_parsing:
            return 1.0 - parsing[:, :1]
        return pose_mask(keypoints, size)


def part_warp(
    image: torch.Tensor,
    person: torch.Tensor,
    transforms: PartTransforms,
    part_masks: torch.Tensor | None = None,
    method: str = "cropped",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The source person moved to the target part by part: ``Σ_j f_j(B^j·M·I) / Σ_j f_j(B^j·M)``.

    image (B, 3, H, W) in [-1, 1]; person (B, 1, H, W) the soft person mask M; part_masks the B^j
    (``transforms.source_masks``, rasterised here when not given). Returns the moved image (zero where
    nothing lands) and its coverage in [0, 1]. Overlapping parts are averaged (a max over parts, as for
    features, would mix channels of different parts). ``method`` as in ``warp_parts``.
    """
    if part_masks is None:
        part_masks = transforms.source_masks(tuple(image.shape[-2:]))
    parts = warp_parts(
        torch.cat([image * person, person], 1), transforms, masks=part_masks, reduce="sum", method=method
    )  # (B, 4, H, W): Σ_j f_j(B^j·M·I), Σ_j f_j(B^j·M)
    weight = parts[:, 3:]
    moved = parts[:, :3] / weight.clamp_min(1e-3)
    coverage = weight.clamp(0, 1)
    return moved * (weight > 1e-3).to(moved.dtype), coverage


def scene_plate(image: torch.Tensor, person: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The scene without the person: the image with the person's region (dilated by ~2% of the height, so
    its anti-aliased edge goes too) set to 0, and where that plate is valid (B, 1, H, W)."""
    radius = max(1, round(0.016 * image.shape[-2]))
    hole = F.max_pool2d(person, 2 * radius + 1, stride=1, padding=radius)
    valid = 1.0 - hole
    return image * valid, valid


def fill_holes(image: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """The scene behind the person: pixels where ``valid`` (B, 1, H, W) is below 0.5 filled from the valid
    ones; valid pixels are kept as they are. ``image`` (B, C=3, H, W) in [-1, 1].

    First the hole is copied from elsewhere in the scene by whole offsets (``copy_by_offset``: texture
    and stripes come back as they were, where a smooth fill blurs them), then what no offset matches well
    is filled by OpenCV's Navier-Stokes inpainting (Bertalmio et al. 2001) from the pixels around it.

    Not differentiable, and on the CPU: the scene is data (the source with its person cut out), never a
    function of weights being trained. Measured against the true background where a person left it
    (``spt.evaluation``'s region, true masks, test pairs at 128x64, ``benchmarks/scene_fill.py``): this fill
    0.035 (2D world, 80 pairs) / 0.060 (3D world, 40 pairs) mean L1; Navier-Stokes alone 0.048 / 0.061,
    Telea's 0.051 / 0.061."""
    import cv2

    if image.shape[1] != 3:
        raise ValueError(f"fill_holes takes RGB images (B, 3, H, W), got {tuple(image.shape)}")
    pixels = np.ascontiguousarray(tensor_to_uint8(image))
    holes = (valid.detach().float() < 0.5)[:, 0].cpu().numpy()
    radius = max(1, round(0.025 * image.shape[-2]))
    filled = []
    for p, h in zip(pixels, holes):
        if h.any():
            p, h = copy_by_offset(p, h, band=radius)
            p = cv2.inpaint(p, h.astype(np.uint8), radius, cv2.INPAINT_NS) if h.any() else p
        filled.append(p)
    filled = uint8_to_tensor(np.stack(filled)).to(image.device)
    keep = (valid.float() >= 0.5).float()
    return (image.float() * keep + filled * (1 - keep)).to(image.dtype)


def copy_by_offset(
    pixels: np.ndarray,
    hole: np.ndarray,
    band: int = 3,
    rounds: int = 3,
    tolerance: float = 0.03,
    coverage_cost: float = 0.03,
    shortlist: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """Fill a hole by copying the scene from one offset (dy, dx), up to ``rounds`` times: the offset whose
    pixels best match the valid ring of width ``band`` around the hole (mean L1 in [0, 1], plus
    ``coverage_cost`` times the share of the hole it cannot fill), accepted only while that mismatch is at
    most ``tolerance``. A shift-map fill in its simplest form: a striped wall is continued by one period.

    ``pixels`` (H, W, 3) uint8 and ``hole`` (H, W) bool; returns the pixels and what is still a hole. The ring's
    squared error at every offset is a handful of FFT correlations; the ``shortlist`` best are scored in L1."""
    from scipy import ndimage
    from scipy.signal import correlate

    def over_offsets(a, b):  # Σ_r a(r) b(r + d) for every offset d, d = 0 at (H - 1, W - 1)
        return correlate(b, a, mode="full", method="fft")

    height, width = hole.shape
    image = pixels.astype(np.float64) / 255.0
    hole = hole.copy()
    for _ in range(rounds):
        if not hole.any():
            break
        valid = (~hole).astype(np.float64)
        ring_mask = ndimage.binary_dilation(hole, iterations=band) & ~hole
        ring = ring_mask.astype(np.float64)
        seen = over_offsets(ring, valid)
        coverage = over_offsets(hole.astype(np.float64), valid) / hole.sum()
        squares = (image**2).sum(-1)
        sse = over_offsets(ring * squares, valid) + over_offsets(ring, valid * squares)
        for c in range(3):
            sse -= 2 * over_offsets(ring * image[..., c], valid * image[..., c])
        usable = (seen >= 0.5 * ring.sum()) & (coverage >= 0.3)
        usable[height - 2 : height + 1, width - 2 : width + 1] = False  # no copying from next door
        if not usable.any():
            break
        rms = np.where(usable, np.sqrt(np.maximum(sse, 0) / np.maximum(seen, 1e-6) / 3), np.inf)
        ring_y, ring_x = np.nonzero(ring_mask)
        best = None
        for flat in np.argsort(rms, axis=None)[:shortlist]:
            if not np.isfinite(rms.flat[flat]):
                break
            dy, dx = np.subtract(np.unravel_index(flat, rms.shape), (height - 1, width - 1))
            y, x = ring_y + dy, ring_x + dx
            inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
            inside[inside] = valid[y[inside], x[inside]] > 0
            mismatch = np.abs(image[ring_y[inside], ring_x[inside]] - image[y[inside], x[inside]]).mean()
            cost = mismatch + coverage_cost * (1 - coverage.flat[flat])
            if best is None or cost < best[0]:
                best = (cost, mismatch, dy, dx)
        if best is None or best[1] > tolerance:
            break
        _, _, dy, dx = best
        hole_y, hole_x = np.nonzero(hole)
        y, x = hole_y + dy, hole_x + dx
        take = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        take[take] = valid[y[take], x[take]] > 0
        image[hole_y[take], hole_x[take]] = image[y[take], x[take]]
        hole[hole_y[take], hole_x[take]] = False
    return np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8), hole


def blend_prior(coverage: torch.Tensor, plate_valid: torch.Tensor, target_person: torch.Tensor) -> torch.Tensor:
    """The logits the blend starts from, over (rendering, warped person, plate): the warped person where it
    lands, else the plate where it is valid and the target has no person, else the rendering."""
    rest = 1.0 - coverage
    render = rest * torch.maximum(target_person, 1.0 - plate_valid)
    plate = rest * plate_valid * (1.0 - target_person)
    probs = torch.cat([render, coverage, plate], 1)
    probs = probs / probs.sum(1, keepdim=True).clamp_min(1e-6)
    return torch.log(0.9 * probs + 0.1 / 3)


def render_appearance(
    appearance_generator: AppearanceGenerator,
    source_image: torch.Tensor,
    source_keypoints: torch.Tensor,
    source_parsing: torch.Tensor | None,
    target_keypoints: torch.Tensor,
    target_parsing: torch.Tensor | None,
    heatmaps: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """H_A: the source's appearance on the target pose and parsing (both (B, L, H, W) one-hot/probabilities, or
    None for the parsing-free Baseline). ``heatmaps`` (P_s, P_t) when the caller has them already (training
    uses each pose's several times a step)."""
    size = tuple(source_image.shape[-2:])
    dtype = source_image.dtype
    if heatmaps is None:
        heatmaps = (pose_heatmaps(source_keypoints, size), pose_heatmaps(target_keypoints, size))
    p_s, p_t = heatmaps
    return appearance_generator(
        source_image, p_s.to(dtype), source_parsing, p_t.to(dtype), target_parsing, source_keypoints, target_keypoints
    )
