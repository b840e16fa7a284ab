"""Fitting the model to one photo: SPT's unpaired objective minimised on the source alone, before generating.

The networks learned their bodies from SyntheticPeople; a visitor's photo is the one real body they get. SPT needs
no pairs, so the terms that need no target image are computed on the source alone, and copies of H_S and H_A are
trained on them for a few steps (``fit_to_source``); the loaded weights are never touched:

* **H_S, its own cycle and identity.** S~_t = H_S(S_s, P_s -> P_t) moved back by H_S to P_s must give S_s again
  (one-hot with a straight-through gradient, as H_A sees it at test time), for the asked target poses and, up to
  ``AdaptConfig.poses``, the source and target poses mirrored; and S_s asked in its own pose P_s must give S_s.
  Both have the true answer, this person's own parsing, so H_S keeps their widths, hair and garment lengths
  instead of the synthetic body it learned. CE weighted by (1 + M_s), thin parts weighted as in training.
  H_S is fitted only when that loss, before any step, is above ``AdaptConfig.semantic_gate``: a person like the
  ones it learned (its own world's) it already parses; fitted there, it drifts from its training and loses.
* **The mirror pair, for both.** The photo flipped left to right is the same person seen in a mirror: asked back
  in the photo's own pose P_s, a left-right symmetric person gives the photo again. So (mirrored photo -> P_s)
  is a pair with a known answer and a real change of pose (legs and arms swapped, a side view turned round), the
  one such pair a single photo holds: H_S's CE against S_s and H_A's L1 and content against I_s, over the
  person. An asymmetric garment or hair parting makes the answer approximate, hence its weight ``mirror`` (off by
  default: measured, docs/adapt.md).
* **H_A, a masked self-reconstruction.** The photo with its person narrowed by a few pixels (the margin replaced
  by the scene behind the person, the parsing eroded with it) rendered in its own pose on the *full* parsing must
  give the photo: L1 over the person and the VGG relu2_1 content term. Where a predicted layout is wider than the
  source person moved part by part, H_A's own rendering fills the margin; this is the one unpaired task with an
  exact answer there, so H_A learns to fill it with this person's clothes. The paper's cycle, content and style
  terms never ask that of it (fitted on real photos in an earlier trial, they added almost nothing).

A loss that turns NaN or inf stops the fitting; the caller falls back to the unfitted networks with a warning.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import numbers
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from . import losses as L
from .models.appearance import fill_holes, render_appearance, scene_plate
from .models.semantic import predict_parsing_logits
from .parsing import mirror_parsing, straight_through_onehot, to_onehot
from .pose import mirror_keypoints, pose_condition

MAX_ADAPT_STEPS = 1000
DEFAULT_ADAPT_STEPS = 30  # SPTPipeline.adapt's and the Space's (docs/adapt.md: seconds and gain against steps)


def check_adapt_steps(steps, name: str = "adapt_steps") -> int:
    """``steps`` as an int in 0..MAX_ADAPT_STEPS, or a ValueError that names the problem."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        if isinstance(steps, float) and steps.is_integer():
            steps = int(steps)
        else:
            raise ValueError(f"{name} must be a whole number of fitting steps (0 = no fitting), got {steps!r}")
    steps = int(steps)
    if not 0 <= steps <= MAX_ADAPT_STEPS:
        raise ValueError(f"{name} must be between 0 (no fitting) and {MAX_ADAPT_STEPS}, got {steps}")
    return steps


@dataclass(frozen=True)
class AdaptConfig:
    """How a photo is fitted (module docstring). Learning rates and steps measured in docs/adapt.md."""

    semantic_lr: float = 2e-4
    appearance_lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    # Target poses of H_S's cycle: the asked ones first, then the source's and the targets' mirror images.
    poses: int = 4
    cycle: float = 1.0  # H_S's cycle CE
    identity: float = 1.0  # H_S's identity CE (S_s in P_s)
    # The mirror pair's terms of both networks (H_A's self-reconstruction is at 1). Off by default: no gain measured
    # in the 3D world for 40% more time (docs/adapt.md).
    mirror: float = 0.0
    thin_parts: float = 2.0  # H_S's CE weight on hair, arms and legs (losses.label_weights), as the default trained
    max_erosion: float = 0.04  # H_A's narrowed person: up to this share of the image height, drawn per step
    content: float = 0.03  # VGG relu2_1 content term of H_A's self-reconstruction, beside its L1 at 1
    fit_semantic: bool = True
    fit_appearance: bool = True
    # H_S is fitted only when its loss on the photo before any step is above this: where it already rebuilds this
    # person's parsing (a body like the ones it learned), fitting it only moved it away from its own training
    # (docs/adapt.md). 0 fits it always.
    semantic_gate: float = 1.0
    seed: int = 0

    def __post_init__(self):
        for name in (
            "semantic_lr",
            "appearance_lr",
            "cycle",
            "identity",
            "mirror",
            "thin_parts",
            "max_erosion",
            "content",
            "semantic_gate",
        ):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
                raise ValueError(f"AdaptConfig.{name} must be a finite number >= 0, got {value!r}")
        if not isinstance(self.poses, int) or isinstance(self.poses, bool) or self.poses < 1:
            raise ValueError(f"AdaptConfig.poses must be a whole number >= 1, got {self.poses!r}")
        for name in ("fit_semantic", "fit_appearance"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"AdaptConfig.{name} must be true or false, got {getattr(self, name)!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"AdaptConfig.seed must be a whole number >= 0, got {self.seed!r}")
        betas = self.betas
        if not (
            isinstance(betas, tuple)
            and len(betas) == 2
            and all(isinstance(b, numbers.Real) and 0 <= b < 1 for b in betas)
        ):
            raise ValueError(f"AdaptConfig.betas must be two numbers in [0, 1), got {betas!r}")


def adapt_config_from_json(text: str) -> AdaptConfig:
    """An ``AdaptConfig`` from a JSON object of its fields (a command line's), or a ValueError naming the problem."""
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err})") from None
    if not isinstance(fields, dict):
        raise ValueError(f"expected a JSON object of AdaptConfig fields, got {text!r}")
    known = {f.name for f in dataclasses.fields(AdaptConfig)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ValueError(f"unknown fields {unknown}; AdaptConfig has {sorted(known)}")
    if "betas" in fields:
        fields["betas"] = tuple(fields["betas"])
    return AdaptConfig(**fields)


@dataclass
class Fit:
    """A fitted copy of the two generators, the loss at every step, and whether the fitting fell back."""

    semantic_generator: torch.nn.Module
    appearance_generator: torch.nn.Module
    losses: list[float] = field(default_factory=list)
    fell_back: bool = False
    semantic_fitted: bool = False  # H_S was trained (AdaptConfig.fit_semantic and its gate)


def cycle_poses(source: torch.Tensor, targets: torch.Tensor, count: int, width: int) -> torch.Tensor:
    """The target poses H_S's cycle is fitted on (N, 18, 2): the asked ``targets`` (T, 18, 2) first (``count`` of
    them evenly spread when there are more, as the frames of an animation), then the ``source`` (18, 2) mirrored,
    then the targets mirrored, ``count`` at most (duplicates dropped)."""
    if len(targets) > count:
        targets = targets[torch.linspace(0, len(targets) - 1, count).round().long()]
    mirrored = [mirror_keypoints(kp.cpu().numpy(), width) for kp in (source, *targets)]
    candidates = [*targets, *(torch.from_numpy(m).to(source) for m in mirrored)]
    chosen: list[torch.Tensor] = []
    for kp in candidates:
        if len(chosen) == count:
            break
        if not any(torch.equal(kp, c) for c in chosen):
            chosen.append(kp)
    return torch.stack(chosen)


def narrowed_person(
    image: torch.Tensor, labels: torch.Tensor, scene: torch.Tensor, radius: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The photo (1, 3, H, W) with its person eroded by ``radius`` pixels: the margin becomes ``scene`` (the
    photo's scene behind the person) and background in the parsing (1, H, W)."""
    person = (labels > 0).float()[:, None]
    kept = 1.0 - F.max_pool2d(1.0 - person, 2 * radius + 1, stride=1, padding=radius)
    narrowed = labels * kept[:, 0].to(labels.dtype)
    return image * kept + scene * (1.0 - kept), narrowed


@dataclass
class Source:
    """One source in the model's frame: image (1, 3, H, W), keypoints (1, 18, 2), labels (1, H, W) and their
    one-hot (1, L, H, W)."""

    image: torch.Tensor
    keypoints: torch.Tensor
    labels: torch.Tensor
    onehot: torch.Tensor

    @classmethod
    def of(cls, image: torch.Tensor, keypoints: torch.Tensor, labels: torch.Tensor) -> "Source":
        return cls(image, keypoints, labels, to_onehot(labels).to(image.dtype))

    def mirrored(self) -> "Source":
        """The photo seen in a mirror: flipped, its joints and its arms' and legs' labels swapped left for right."""
        width = self.image.shape[-1]
        keypoints = torch.from_numpy(mirror_keypoints(self.keypoints[0].cpu().numpy(), width))[None]
        return Source.of(self.image.flip(-1), keypoints.to(self.keypoints), mirror_parsing(self.labels))


def _semantic_loss(h_s, source, mirror, poses, semantic_size, weights, config) -> torch.Tensor:
    """H_S's cycle over ``poses``, its identity and the mirror pair, on one source (module docstring)."""
    poses = poses if config.cycle > 0 else poses[:0]
    n = len(poses)
    kp_s, labels_s = source.keypoints, source.labels
    sources = [source.onehot.expand(n + 1, -1, -1, -1)]
    kp_from = [kp_s.expand(n + 1, -1, -1)]
    kp_to = [poses, kp_s]
    if mirror is not None:
        sources.append(mirror.onehot)
        kp_from.append(mirror.keypoints)
        kp_to.append(kp_s)
    sources, kp_from = torch.cat(sources), torch.cat(kp_from)
    logits = predict_parsing_logits(h_s, sources, kp_from, torch.cat(kp_to), semantic_size)
    _, m_s = pose_condition(kp_s, tuple(labels_s.shape[-2:]))
    loss = torch.zeros((), device=logits.device)
    if config.cycle > 0:
        forward = straight_through_onehot(logits[:n].float().softmax(1))
        back = predict_parsing_logits(h_s, forward.to(source.onehot.dtype), poses, kp_from[:n], semantic_size)
        truth = labels_s.expand(n, -1, -1)
        loss = loss + config.cycle * L.weighted_cross_entropy(back, truth, m_s.expand(n, -1, -1, -1), weights)
    if config.identity > 0:
        loss = loss + config.identity * L.weighted_cross_entropy(logits[n : n + 1], labels_s, m_s, weights)
    if mirror is not None:
        loss = loss + config.mirror * L.weighted_cross_entropy(logits[n + 1 :], labels_s, m_s, weights)
    return loss


def _appearance_loss(h_a, vgg, source, mirror, narrowed, config) -> torch.Tensor:
    """H_A's masked self-reconstruction on one narrowed copy of the source, and the mirror pair (module docstring),
    in one batch: both are asked for the source itself, in its pose and on its parsing."""
    narrowed_image, narrowed_labels = narrowed
    images, kp_from, parsings = [narrowed_image], [source.keypoints], [to_onehot(narrowed_labels).to(source.image)]
    if mirror is not None:
        images.append(mirror.image)
        kp_from.append(mirror.keypoints)
        parsings.append(mirror.onehot)
    n = len(images)
    out = render_appearance(
        h_a,
        torch.cat(images),
        torch.cat(kp_from),
        torch.cat(parsings),
        source.keypoints.expand(n, -1, -1),
        source.onehot.expand(n, -1, -1, -1),
    )
    weight = torch.tensor([1.0] + [config.mirror] * (n - 1), device=out.device)
    person = 1.0 - source.onehot[:, :1].float()
    truth = source.image.float()
    l1 = ((out.float() - truth).abs() * person).sum((1, 2, 3)) / (3 * person.sum().clamp_min(1.0))
    loss = (weight * l1).sum()
    if config.content > 0 and vgg is not None:
        with torch.no_grad():
            reference = vgg(source.image)["relu2_1"].float()
        features = vgg(out)["relu2_1"].float()
        content = ((features - reference) ** 2).mean((1, 2, 3))
        loss = loss + config.content * (weight * content).sum()
    return loss


def fit_to_source(
    semantic_generator: torch.nn.Module,
    appearance_generator: torch.nn.Module,
    image: torch.Tensor,
    keypoints: torch.Tensor,
    labels: torch.Tensor,
    targets: torch.Tensor,
    steps: int,
    *,
    semantic_size: tuple[int, int],
    config: AdaptConfig | None = None,
    vgg: torch.nn.Module | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> Fit:
    """Copies of H_S and H_A fitted to one source for ``steps`` Adam steps (module docstring).

    ``image`` (1, 3, H, W) in [-1, 1], ``keypoints`` (1, 18, 2) and ``labels`` (1, H, W) SPT-10, all in the model's
    frame; ``targets`` (T, 18, 2) the poses it will be asked for. ``progress`` wraps the step range (a progress
    bar). The fitting runs in fp32 whatever the rendering's precision: bf16 weight gradients on the CPU (oneDNN)
    differ with the threads a call gets, so two visitors fitting at once would not get what each gets alone. The given
    networks are only read. When a loss turns NaN or inf the fitting stops with a warning and the result holds
    the given networks, ``fell_back`` True."""
    config = config or AdaptConfig()
    steps = check_adapt_steps(steps, "steps")
    size = tuple(image.shape[-2:])
    h_s, h_a = copy.deepcopy(semantic_generator), copy.deepcopy(appearance_generator)
    fit = Fit(h_s, h_a)
    if steps == 0:
        return fit
    trained = []
    for network, lr, on in (
        (h_s, config.semantic_lr, config.fit_semantic),
        (h_a, config.appearance_lr, config.fit_appearance),
    ):
        network.eval().requires_grad_(on)
        if on:
            trained.append({"params": list(network.parameters()), "lr": lr})
    if not trained:
        return fit
    optimizer = torch.optim.Adam(trained, betas=config.betas)
    image, keypoints, labels = image.detach(), keypoints.detach().float(), labels.detach().long()
    source = Source.of(image, keypoints, labels)
    mirror = source.mirrored() if config.mirror > 0 else None
    onehot_s = source.onehot
    weights = L.label_weights(config.thin_parts)
    poses = cycle_poses(keypoints[0], targets.detach().float(), config.poses, size[1])
    generator = torch.Generator().manual_seed(config.seed)
    largest = max(1, round(config.max_erosion * size[0]))
    radii = torch.randint(1, largest + 1, (steps,), generator=generator).tolist()
    narrowed = {}
    if config.fit_appearance:
        plate, valid = scene_plate(image, 1.0 - onehot_s[:, :1])
        scene = fill_holes(plate, valid)  # the scene behind the whole person, once: it is data
        narrowed = {r: narrowed_person(image, labels, scene, r) for r in sorted(set(radii))}
    fit_semantic = config.fit_semantic
    for step in progress(range(steps)) if progress else range(steps):
        with torch.enable_grad():
            loss = torch.zeros((), device=image.device)
            if fit_semantic:
                semantic = _semantic_loss(h_s, source, mirror, poses, semantic_size, weights, config)
                if step == 0 and torch.isfinite(semantic.detach()) and semantic.item() <= config.semantic_gate:
                    fit_semantic = False  # its gradients stay None: Adam leaves H_S as it was
                    if not config.fit_appearance:
                        break
                else:
                    loss = loss + semantic
            if config.fit_appearance:
                loss = loss + _appearance_loss(h_a, vgg, source, mirror, narrowed[radii[step]], config)
        if not torch.isfinite(loss.detach()):
            return _fall_back(
                fit,
                semantic_generator,
                appearance_generator,
                f"the loss is {loss.item()} at step {step + 1} of {steps}",
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        fit.losses.append(float(loss.detach()))
    fit.semantic_fitted = fit_semantic
    for network in (h_s, h_a):
        network.requires_grad_(False)
    if not all(torch.isfinite(p).all() for network in (h_s, h_a) for p in network.parameters()):
        return _fall_back(fit, semantic_generator, appearance_generator, f"a weight is NaN or inf after step {steps}")
    return fit


def _fall_back(fit: Fit, semantic_generator, appearance_generator, why: str) -> Fit:
    warnings.warn(f"fitting to the photo stopped: {why}; the output is the unfitted model's", stacklevel=4)
    return Fit(semantic_generator, appearance_generator, fit.losses, fell_back=True)
