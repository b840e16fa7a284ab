"""The training loop for every stage, in the shape of the diffusers example trainers (Accelerate)."""

from __future__ import annotations

import errno
import logging
import os
import pickle
import pickletools
import re
import shutil
import sys
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration, set_seed
from PIL import Image
from tqdm.auto import tqdm

from .. import losses as L
from ..models import AppearanceGenerator, PatchDiscriminator
from ..models.appearance import render_appearance
from ..models.semantic import predict_parsing_logits
from ..models.vgg import load_vgg
from ..parsing import NUM_LABELS, PALETTE, straight_through_onehot, to_onehot
from ..pipeline import SPTPipeline
from ..pose import NUM_KEYPOINTS, draw_skeleton, pose_condition, pose_heatmaps, pose_mask
from .config import TrainConfig
from .data import Pool, load_pool, sample_rows, validation_pairs
from .detector_check import DetectorReport

logger = logging.getLogger(__name__)
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
DISCRIMINATORS = "discriminators"  # beside the pipeline in a stage's output folder; not part of the pipeline


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or inf; the message names the loss and the step."""


def checkpoint_is_complete(path: str) -> bool:
    """A checkpoint folder holds the models' weights and the optimizers' state (Accelerate's ``save_state``)."""
    names = os.listdir(path) if os.path.isdir(path) else []
    return any(n.startswith("model") and n.endswith(".safetensors") for n in names) and any(
        n.startswith("optimizer") for n in names
    )


def random_states_problem(path: str, process: int) -> str | None:
    """What is wrong with a checkpoint's ``random_states_<process>.pkl`` (missing, or not a whole pickle), or
    None. The pickle is only parsed (``pickletools``), never loaded: parsing runs none of its code."""
    name = os.path.join(path, f"random_states_{process}.pkl")
    if not os.path.isfile(name):
        return f"random_states_{process}.pkl is missing"
    try:
        with open(name, "rb") as handle:
            for _ in pickletools.genops(handle):
                pass
    except (ValueError, EOFError, OSError) as err:
        return f"random_states_{process}.pkl is truncated or corrupt ({err})"
    return None


def latest_checkpoint(output_dir: str) -> str | None:
    """The newest complete ``checkpoint-<step>`` folder (a save in progress is named ``.partial``; an emptied or
    half-copied folder is passed over), or None."""
    if not os.path.isdir(output_dir):
        return None
    steps = [
        (int(m.group(1)), name)
        for name in os.listdir(output_dir)
        if (m := CHECKPOINT.match(name)) and checkpoint_is_complete(os.path.join(output_dir, name))
    ]
    return os.path.join(output_dir, max(steps)[1]) if steps else None


def _save_failure(err: Exception, path: str) -> OSError:
    """The error a failed save raises: "no space left" with the path when the disk is full (torch's own message
    is "basic_ios::clear: iostream error"), else the original reason with the path."""
    free = shutil.disk_usage(os.path.dirname(path) or ".").free
    if getattr(err, "errno", None) == errno.ENOSPC or free < 64 * 2**20:
        return OSError(
            errno.ENOSPC,
            f"no space left on the device of {path} ({free / 2**20:.0f} MiB free) while "
            "saving the checkpoint; the partial save was removed, the previous checkpoints "
            "are intact. Free space and resume with --resume_from_checkpoint latest",
        )
    return OSError(
        f"saving the checkpoint to {path} failed ({type(err).__name__}: {err}); the partial save was "
        "removed, the previous checkpoints are intact"
    )


@dataclass
class StepLosses:
    """One step's objective: the generators' loss ``terms`` (name -> scalar, weighted) and, per discriminator,
    the ``(real, fake)`` inputs it judges next (fakes detached), as pix2pix's backward_G / backward_D split it."""

    terms: dict[str, torch.Tensor] = field(default_factory=dict)
    judged: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)


class Trainer:
    """Builds the models of ``config.stage``, trains them and writes an ``SPTPipeline`` folder."""

    def __init__(self, config: TrainConfig):
        self.config = config.validate()
        log_with = config.log_with
        if log_with == "tensorboard":
            try:
                import tensorboard  # noqa: F401
            except ImportError:
                log_with = None
        self.accelerator = Accelerator(
            mixed_precision="no" if config.mixed_precision == "fp32" else config.mixed_precision,  # Accelerate's word
            gradient_accumulation_steps=config.gradient_accumulation_steps,
            log_with=log_with,
            project_config=ProjectConfiguration(
                project_dir=config.output_dir, logging_dir=os.path.join(config.output_dir, "logs")
            ),
        )
        set_seed(config.seed)
        acc = self.accelerator
        stage = config.stage
        if config.init_from:
            pipe = SPTPipeline.from_pretrained(config.init_from)
            if tuple(pipe.image_size) != tuple(config.image_size):
                raise ValueError(
                    f"init_from {config.init_from} works at {pipe.image_size}, but image_size is {config.image_size}"
                )
            if config.semantic_size and tuple(config.semantic_size) != pipe.semantic_size:
                # H_S is fully convolutional: the same weights run at another size, so a stage may change it.
                if stage not in ("semantic", "e2e"):
                    raise ValueError(
                        f"init_from {config.init_from}'s H_S works at {pipe.semantic_size}, but semantic_size is "
                        f"{config.semantic_size}; only the semantic and e2e stages (which train H_S) may change it"
                    )
                logger.info("H_S moves from %s to semantic_size %s", pipe.semantic_size, config.semantic_size)
                pipe.register_to_config(semantic_size=list(config.semantic_size))
        else:
            pipe = SPTPipeline.from_preset(config.preset, config.image_size, config.h_s_size)
        if stage in ("appearance", "e2e") and pipe.uses_parsing != config.use_parsing:
            if not pipe.uses_parsing:
                raise ValueError(
                    f"init_from {config.init_from}'s H_A takes no parsing (the Baseline); pass "
                    "--use_parsing false to go on training it"
                )
            logger.warning("use_parsing false: H_A is built afresh without parsing inputs (the Baseline)")
            pipe.register_modules(
                appearance_generator=AppearanceGenerator.from_config(
                    pipe.appearance_generator.config, use_parsing=False
                )
            )
        if pipe.pose_detector is None and (
            stage == "pose_detector" or (stage != "semantic" and config.weights.pose > 0)
        ):
            raise ValueError("this stage needs a pose detector, and the init_from pipeline has none")
        floor = config.min_detector_pckh if stage in ("appearance", "e2e") and config.weights.pose > 0 else 0.0
        # A frozen detector is measured once, here, and the figure reused for the card; the pose_detector stage's
        # own is measured when it is saved.
        self.detector_report: DetectorReport | None = (
            DetectorReport.measure_or_none(pipe.pose_detector, config, floor)
            if pipe.pose_detector is not None and stage != "pose_detector"
            else None
        )
        if floor > 0:
            self.detector_report.require(floor, f"the pose loss of stage {stage} (init_from {config.init_from})")
        self.pipe = pipe
        self.size = tuple(config.image_size)

        trained = {
            "pose_detector": ["pose_detector"],
            "semantic": ["semantic_generator"],
            "appearance": ["appearance_generator"],
            "e2e": ["semantic_generator", "appearance_generator"],
        }[stage]
        self.trained = trained
        for name in ("semantic_generator", "appearance_generator", "pose_detector"):
            module = getattr(pipe, name)
            if module is not None:
                module.requires_grad_(name in trained).train(name in trained)
        self.generators = [getattr(pipe, n) for n in trained]
        disc_kw = dict(base_channels=32 if config.preset != "paper" else 64, num_layers=3)
        self.discriminators = {}
        self.continued_discriminators: list[str] = []
        if config.adversarial and stage in ("semantic", "e2e"):
            self.discriminators["D_S"] = PatchDiscriminator(NUM_LABELS + NUM_KEYPOINTS, **disc_kw)
        if config.adversarial and stage in ("appearance", "e2e"):
            layout_channels = NUM_LABELS if pipe.uses_parsing else 2
            self.discriminators["D_A"] = PatchDiscriminator(3 + layout_channels, **disc_kw)
        if config.face_loss and config.weights.face > 0 and stage in ("appearance", "e2e"):
            self.discriminators["D_F"] = PatchDiscriminator(3, base_channels=disc_kw["base_channels"], num_layers=2)
        if config.init_from:
            self._continue_discriminators(config.init_from)
        self.vgg = load_vgg(config.vgg_weights) if stage in ("appearance", "e2e") else None

        betas = (config.adam_beta1, config.adam_beta2)
        self.opt_g = torch.optim.Adam(
            [p for g in self.generators for p in g.parameters()], lr=config.learning_rate, betas=betas
        )
        self.opt_d = (
            torch.optim.Adam(
                [p for d in self.discriminators.values() for p in d.parameters()],
                lr=config.discriminator_learning_rate,
                betas=betas,
            )
            if self.discriminators
            else None
        )
        prepared = acc.prepare(
            *self.generators, *self.discriminators.values(), self.opt_g, *([self.opt_d] if self.opt_d else [])
        )
        k, d = len(self.generators), len(self.discriminators)
        self.generators = list(prepared[:k])
        self.discriminators = dict(zip(self.discriminators, prepared[k : k + d]))
        self.opt_g = prepared[k + d]
        self.opt_d = prepared[k + d + 1] if self.opt_d else None
        # Not prepared: Accelerate would step a prepared scheduler once per process; these step once per
        # optimizer step, and are saved in the checkpoints.
        self.schedulers = [
            torch.optim.lr_scheduler.LambdaLR(opt, self._lr_factor)
            for opt in (self.opt_g, self.opt_d)
            if opt is not None
        ]
        acc.register_for_checkpointing(*self.schedulers)
        frozen = [m for m in (pipe.pose_detector, self.vgg) if m is not None]
        for module in frozen + [pipe.semantic_generator, pipe.appearance_generator]:
            module.to(acc.device)
        self.global_step = 0
        acc.register_save_state_pre_hook(self._save_hook)

    def _lr_factor(self, step: int) -> float:
        """The learning-rate multiplier at optimizer step ``step`` (``config.lr_scheduler``)."""
        if self.config.lr_scheduler == "constant":
            return 1.0
        half = self.config.max_steps / 2
        return min(1.0, max(0.0, (self.config.max_steps - step) / half))

    def _continue_discriminators(self, folder: str) -> None:
        """Load the discriminators that the stage which wrote ``folder`` trained (``save_pipeline``)."""
        for name, disc in self.discriminators.items():
            path = os.path.join(folder, DISCRIMINATORS, name)
            if not os.path.isdir(path):
                logger.info("%s starts afresh: %s has none", name, folder)
                continue
            saved = PatchDiscriminator.from_pretrained(path)
            shape = lambda cfg: {k: cfg[k] for k in ("in_channels", "base_channels", "num_layers", "norm")}  # noqa: E731
            if shape(saved.config) != shape(disc.config):
                raise ValueError(
                    f"{path} is a discriminator of another shape ({shape(saved.config)}) than this stage "
                    f"needs ({shape(disc.config)}); delete it to start {name} afresh"
                )
            disc.load_state_dict(saved.state_dict())
            self.continued_discriminators.append(name)

    # -- the networks as trained (unwrapped from DDP for inference) -------------------------------

    def _module(self, name: str):
        if name in self.trained:
            return self.generators[self.trained.index(name)]
        return getattr(self.pipe, name)

    def _save_hook(self, models, weights, output_dir):
        # Checkpoints also hold a loadable pipeline folder, so any checkpoint can be inspected or served.
        if self.accelerator.is_main_process:
            self._unwrapped_pipeline().save_pretrained(os.path.join(output_dir, "pipeline"))

    def _unwrapped_pipeline(self) -> SPTPipeline:
        acc = self.accelerator
        parts = {n: acc.unwrap_model(self._module(n)) for n in ("semantic_generator", "appearance_generator")}
        return SPTPipeline(
            parts["semantic_generator"],
            parts["appearance_generator"],
            self.pipe.pose_detector,
            self.pipe.config.image_size,
            self.pipe.config.semantic_size,
        )

    # -- losses of one step --------------------------------------------------------------------------

    def _check(self, name: str, value: torch.Tensor) -> torch.Tensor:
        if not torch.isfinite(value.detach()).all():
            raise NonFiniteLossError(f"{name} loss is {value.item()} at step {self.global_step}")
        return value

    def _semantic(self, batch, out: StepLosses) -> torch.Tensor:
        """H_S: CE(1 + M_t) on the pseudo label, plus D_S's adversarial term. Returns S~_t (softmax)."""
        onehot_s = to_onehot(batch["source_parsing"]).to(batch["source_image"].dtype)
        logits = predict_parsing_logits(
            self._module("semantic_generator"),
            onehot_s,
            batch["source_keypoints"],
            batch["target_keypoints"],
            self.pipe.semantic_size,
        )
        p_t, m_t = pose_condition(batch["target_keypoints"], self.size)
        weights = L.label_weights(self.config.weights.thin_parts)
        out.terms["ce"] = L.weighted_cross_entropy(logits, batch["target_parsing"], m_t, weights)
        parsing = logits.float().softmax(1)
        if self.config.weights.semantic_cycle > 0:
            # The pseudo label is another person's, so it teaches an average body; the way back to the source
            # has the true answer, S_s, and is only reachable if S~_t keeps this person's shapes. One-hot
            # (straight-through) as at test time, so the answer cannot hide in soft probabilities.
            back = predict_parsing_logits(
                self._module("semantic_generator"),
                straight_through_onehot(parsing).to(onehot_s.dtype),
                batch["target_keypoints"],
                batch["source_keypoints"],
                self.pipe.semantic_size,
            )
            _, m_s = pose_condition(batch["source_keypoints"], self.size)
            out.terms["semantic_cycle"] = self.config.weights.semantic_cycle * L.weighted_cross_entropy(
                back, batch["source_parsing"], m_s, weights
            )
        if "D_S" in self.discriminators:
            out.terms["adv_S"] = self.config.weights.adversarial * L.generator_adversarial_loss(
                self._critic("D_S")(torch.cat([parsing, p_t], 1))
            )
            out.judged["D_S"] = (
                torch.cat([to_onehot(batch["target_parsing"]).float(), p_t], 1),
                torch.cat([parsing.detach(), p_t], 1),
            )
        return parsing

    def _appearance(self, batch, target_parsing: torch.Tensor, out: StepLosses) -> None:
        """H_A and its unsupervised objective on one batch, given the target parsing (one-hot or S~_t).

        As in the official code, the pose loss and the adversarial terms (D_A, D_F) judge both the forward
        output Î_t and the cycle output Î_s. D_A sees each image with a one-hot parsing on both sides: a
        predicted S~_t is made one-hot with a straight-through gradient, so that sharpness alone does not
        tell real from fake.
        """
        w, cfg = self.config.weights, self.config
        h_a = self._module("appearance_generator")
        image, kp_s, kp_t = batch["source_image"], batch["source_keypoints"], batch["target_keypoints"]
        onehot_s = to_onehot(batch["source_parsing"]).float()
        if not self.pipe.uses_parsing:
            # The Baseline knows no parsing: D_A and the style regions see the pose masks, as background/person.
            onehot_s, target_parsing = (
                torch.cat([1 - m, m], 1)
                for m in (pose_mask(kp_s, self.size).float(), pose_mask(kp_t, self.size).float())
            )
        heat_s, heat_t = pose_heatmaps(kp_s, self.size), pose_heatmaps(kp_t, self.size)
        fake = render_appearance(h_a, image, kp_s, onehot_s, kp_t, target_parsing, heatmaps=(heat_s, heat_t))
        cycle = render_appearance(h_a, fake, kp_t, target_parsing, kp_s, onehot_s, heatmaps=(heat_t, heat_s))
        terms = out.terms
        if w.cycle > 0:
            terms["cycle"] = w.cycle * L.cycle_loss(cycle, image)
        if "target_image" in batch:  # the paired ceiling, not SPT: the true target supervises Î_t
            terms["paired"] = max(w.cycle, 1.0) * L.cycle_loss(fake, batch["target_image"])
        if "D_A" in self.discriminators:
            layout_t = straight_through_onehot(target_parsing)
            d_a = self._critic("D_A")
            fakes = torch.cat([torch.cat([fake, layout_t], 1), torch.cat([cycle, onehot_s], 1)])
            terms["adv_A"] = w.adversarial * L.generator_adversarial_loss(d_a(fakes))
            out.judged["D_A"] = (torch.cat([image, onehot_s], 1), fakes.detach())
        if w.pose > 0:
            detected = self.pipe.pose_detector(torch.cat([fake, cycle]))
            terms["pose"] = w.pose * L.pose_loss(detected, torch.cat([heat_t, heat_s]))
        if w.content > 0 or w.style > 0:
            with torch.no_grad():  # apart: a batch with the outputs would back-propagate through the source too
                phi = {"source": self.vgg(image)["relu2_1"]}
            phi.update(zip(("fake", "cycle"), self.vgg(torch.cat([fake, cycle]))["relu2_1"].chunk(2)))
            if w.content > 0:
                terms["content"] = w.content * L.content_loss(phi["cycle"], phi["source"])
            if w.style > 0:
                terms["style"] = w.style * L.appearance_style_loss(
                    phi["source"],
                    L.style_regions(cfg.style_kind, onehot_s, kp_s),
                    phi["fake"],
                    L.style_regions(cfg.style_kind, target_parsing, kp_t),
                    phi["cycle"],
                )
        if "D_F" in self.discriminators:
            crops, valid = L.face_crops(torch.cat([fake, cycle]), torch.cat([kp_t, kp_s]))
            real, real_valid = L.face_crops(image, kp_s)
            if valid.any() and real_valid.any():
                terms["face"] = w.face * L.generator_adversarial_loss(self._critic("D_F")(crops[valid]))
                out.judged["D_F"] = (real[real_valid], crops[valid].detach())

    def _pose_detector(self, batch, out: StepLosses) -> None:
        heatmaps = pose_heatmaps(batch["source_keypoints"], self.size)
        out.terms["heatmap"] = L.heatmap_loss(
            self._module("pose_detector")(batch["source_image"]), heatmaps, self.config.heatmap_foreground
        )

    def objective(self, batch) -> StepLosses:
        """The stage's generator loss terms on one batch, and what each discriminator is to judge."""
        stage, out = self.config.stage, StepLosses()
        if stage == "pose_detector":
            self._pose_detector(batch, out)
        if stage in ("semantic", "e2e"):
            parsing = self._semantic(batch, out)
        if stage == "appearance":
            self._appearance(batch, to_onehot(batch["target_parsing"]).float(), out)
        if stage == "e2e":
            self._appearance(batch, parsing, out)
        for name, value in out.terms.items():
            self._check(name, value)
        return out

    def _critic(self, name: str):
        """Discriminator ``name`` as the generators' losses call it: unwrapped, outside DDP, so that a step
        that freezes its weights (``step``) leaves DDP's reducer nothing to wait for."""
        return self.accelerator.unwrap_model(self.discriminators[name])

    @contextmanager
    def _discriminators_frozen(self):
        """pix2pix's ``set_requires_grad(netD, False)`` while the generators' loss is back-propagated: the
        gradients of the discriminators' weights would be computed there only to be thrown away."""
        params = [p for d in self.discriminators.values() for p in d.parameters()]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)

    def _discriminator_loss(self, judged: dict) -> torch.Tensor | None:
        """The LSGAN loss of every discriminator on its (real, fake) pair (``StepLosses.judged``), both judged
        in one batch (the norms are per sample, so the scores are those of two calls)."""
        total = None
        for name, (real, fake) in judged.items():
            scores = self.discriminators[name](torch.cat([real, fake.to(real.dtype)]))
            loss = L.discriminator_loss(*scores.split([len(real), len(fake)]))
            total = loss if total is None else total + loss
        return total

    def step(self, batch) -> dict[str, float]:
        """One optimisation step of the generators, then of the discriminators."""
        acc = self.accelerator
        with acc.accumulate(*self.generators, *self.discriminators.values()), acc.autocast():
            with self._discriminators_frozen():
                losses = self.objective(batch)
                terms = losses.terms
                total = sum(terms.values())
                self.opt_g.zero_grad(set_to_none=True)
                acc.backward(total)
            if acc.sync_gradients and self.config.max_grad_norm > 0:
                acc.clip_grad_norm_([p for g in self.generators for p in g.parameters()], self.config.max_grad_norm)
            self.opt_g.step()
            logs = {name: value.item() for name, value in terms.items()}
            if self.opt_d is not None:
                d_loss = self._discriminator_loss(losses.judged)
                if d_loss is not None:
                    self._check("discriminator", d_loss)
                    self.opt_d.zero_grad(set_to_none=True)
                    acc.backward(d_loss)
                    self.opt_d.step()
                    logs["discriminator"] = d_loss.item()
        if acc.sync_gradients:
            for scheduler in self.schedulers:
                scheduler.step()
        logs["total"] = float(total.item())
        logs["lr"] = self.schedulers[0].get_last_lr()[0]
        return logs

    # -- validation -------------------------------------------------------------------------------

    @torch.no_grad()
    def validation_grid(self, pairs) -> Image.Image | None:
        """Rows of: source | target pose | predicted parsing | generated | truth | true parsing (what is known)."""
        if not pairs:
            return None
        pipe = self._unwrapped_pipeline().to(self.accelerator.device)
        for module in (pipe.semantic_generator, pipe.appearance_generator):
            module.eval()
        src, tgt = [p[0] for p in pairs], [p[1] for p in pairs]
        out = pipe(
            [s["image"] for s in src],
            [t["keypoints"] for t in tgt],
            source_pose=[s["keypoints"] for s in src],
            source_parsing=[s["parsing"] for s in src],
            precision="bf16" if self.config.mixed_precision == "bf16" else "fp32",  # as trained (no fp16 inference)
        )
        for name in self.trained:
            self._module(name).train()
        h, w = self.size
        grid = Image.new("RGB", (6 * w, len(pairs) * h))
        for row, (s, t) in enumerate(zip(src, tgt)):
            tiles = [
                Image.fromarray(s["image"]),
                draw_skeleton(None, t["keypoints"], self.size),
                out.target_parsing_images[row] if out.target_parsing_images else Image.new("RGB", (w, h)),
                out.images[row],
                Image.fromarray(t["image"]),
                Image.fromarray(PALETTE[t["parsing"]]),
            ]
            for col, tile in enumerate(tiles):
                grid.paste(tile, (col * w, row * h))
        return grid

    def _log_grid(self, grid: Image.Image) -> None:
        folder = os.path.join(self.config.output_dir, "samples")
        os.makedirs(folder, exist_ok=True)
        grid.save(os.path.join(folder, f"{self.config.stage}-{self.global_step:06d}.png"))
        for tracker in self.accelerator.trackers:
            if tracker.name == "tensorboard":
                tracker.writer.add_image("validation", np.asarray(grid), self.global_step, dataformats="HWC")

    # -- checkpoints ------------------------------------------------------------------------------

    def save_checkpoint(self) -> str:
        """Write ``checkpoint-<step>`` atomically: the state goes to ``checkpoint-<step>.partial``, which is
        renamed once complete, and only then are the oldest checkpoints beyond the limit removed. A run killed
        mid-save leaves a ``.partial`` folder, which ``latest`` ignores, and every older checkpoint intact."""
        acc, cfg = self.accelerator, self.config
        path = os.path.join(cfg.output_dir, f"checkpoint-{self.global_step}")
        partial = path + ".partial"
        if acc.is_main_process:
            shutil.rmtree(partial, ignore_errors=True)  # what a killed save left
        acc.wait_for_everyone()
        try:
            acc.save_state(partial)
        except (OSError, RuntimeError) as err:
            shutil.rmtree(partial, ignore_errors=True)  # or it keeps the disk full, and the resume fails alike
            raise _save_failure(err, partial) from err
        acc.wait_for_everyone()
        if acc.is_main_process:
            if os.path.isdir(path):  # the same step saved again after a resume
                shutil.rmtree(path)
            os.replace(partial, path)
            if cfg.checkpoints_total_limit is not None:
                existing = sorted(
                    (int(m.group(1)), n) for n in os.listdir(cfg.output_dir) if (m := CHECKPOINT.match(n))
                )
                for _, name in existing[: max(0, len(existing) - cfg.checkpoints_total_limit)]:
                    shutil.rmtree(os.path.join(cfg.output_dir, name))
        acc.wait_for_everyone()
        return path

    def resume(self) -> None:
        cfg = self.config
        path = cfg.resume_from_checkpoint
        if path is None:
            return
        if self.accelerator.is_main_process and os.path.isdir(cfg.output_dir):
            for name in os.listdir(cfg.output_dir):  # saves a kill or a full disk interrupted
                if name.startswith("checkpoint-") and name.endswith(".partial"):
                    shutil.rmtree(os.path.join(cfg.output_dir, name), ignore_errors=True)
        self.accelerator.wait_for_everyone()
        if path == "latest":
            path = latest_checkpoint(cfg.output_dir)
            if path is None:
                self.accelerator.print(f"no checkpoint in {cfg.output_dir}; starting from step 0")
                return
        match = CHECKPOINT.match(os.path.basename(os.path.normpath(path)))
        if not os.path.isdir(path) or match is None:
            raise ValueError(f"resume_from_checkpoint {path!r} is not a checkpoint-<step> folder")
        if not checkpoint_is_complete(path):
            raise ValueError(
                f"resume_from_checkpoint {path!r} is incomplete (no model weights or optimizer state); "
                "resume from an earlier checkpoint or 'latest', which skips incomplete ones"
            )
        try:
            self.accelerator.load_state(path)
        except (RuntimeError, ValueError, OSError, EOFError, pickle.UnpicklingError) as err:
            detail = " ".join(str(err).split())
            if "weights_only" in detail or "Weights only load failed" in detail:
                # torch's own words advise weights_only=False, which would run the pickle's code: never do that
                detail = "a file holds pickled objects, not plain tensors; they are never loaded"
            hint = (
                " It was saved by a run with other network sizes (--preset, --image_size, --stage)."
                if "size mismatch" in str(err) or "Missing key" in str(err) or "Unexpected key" in str(err)
                else " A file of it is truncated or corrupt; resume from an earlier checkpoint."
            )
            raise ValueError(f"cannot resume from {path}: {type(err).__name__}: {detail[:300]}.{hint}") from None
        self.global_step = int(match.group(1))
        problem = random_states_problem(path, self.accelerator.process_index)
        if problem:  # Accelerate goes on without a word; the batches are the same (sample_rows), the dropout not
            print(
                f"warning: {problem} in {path}: resumed with fresh random states, so random draws "
                "(augmentation, dropout) differ from the uninterrupted run's",
                file=sys.stderr,
            )
        self.accelerator.print(f"resumed from {path} at step {self.global_step}")

    # -- the run ----------------------------------------------------------------------------------

    def train(self, pool: Pool | None = None) -> str:
        acc, cfg = self.accelerator, self.config
        pool = pool if pool is not None else load_pool(cfg, acc, progress=acc.is_local_main_process)
        trainable = pool.trainable_rows(needs_target=cfg.stage != "pose_detector")
        pairs = validation_pairs(cfg) if acc.is_main_process else []
        if acc.is_main_process:
            os.makedirs(cfg.output_dir, exist_ok=True)
        acc.init_trackers("spt", config={k: str(v) for k, v in cfg.to_dict().items()})
        self.resume()
        acc.print(
            f"training {cfg.stage} on {acc.num_processes} processes ({acc.device}, "
            f"{torch.get_num_threads()} CPU threads each), {len(trainable)} training samples, "
            f"steps {self.global_step}..{cfg.max_steps}"
        )
        self._warn_idle_cores()
        bar = tqdm(
            initial=self.global_step,
            total=cfg.max_steps,
            disable=not acc.is_local_main_process,
            desc=f"train {cfg.stage}",
        )
        logs: dict[str, float] = {}
        # global_step counts optimizer steps; each of its gradient_accumulation_steps micro-batches is drawn
        # from the micro-step index, so a resumed run sees the batches of an uninterrupted one.
        micro = self.global_step * cfg.gradient_accumulation_steps
        recent: deque[dict[str, float]] = deque(maxlen=50)  # the final losses: a mean over the last steps
        while self.global_step < cfg.max_steps:
            rows = sample_rows(trainable, cfg.batch_size, cfg.seed, micro, acc.process_index)
            logs = self.step(pool.batch(rows, acc.device))
            micro += 1
            if not acc.sync_gradients:
                continue
            self.global_step += 1
            recent.append(logs)
            bar.update(1)
            if self.global_step % cfg.logging_steps == 0 or self.global_step == cfg.max_steps:
                acc.log(logs, step=self.global_step)
                bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items() if k in ("total", "ce", "cycle", "heatmap")})
            if self.global_step % cfg.checkpointing_steps == 0:
                self.save_checkpoint()
            if acc.is_main_process and (
                self.global_step % cfg.validation_steps == 0 or self.global_step == cfg.max_steps
            ):
                grid = self.validation_grid(pairs)
                if grid is not None:
                    self._log_grid(grid)
        acc.wait_for_everyone()
        if acc.is_main_process:
            final = {k: float(np.mean([r[k] for r in recent])) for k in (recent[-1] if recent else {}) if k != "lr"}
            self.save_pipeline(final_losses=final)
        acc.end_training()
        if cfg.stage == "pose_detector" and acc.is_main_process and cfg.min_detector_pckh > 0:
            self.detector_report.require(cfg.min_detector_pckh, "the pose_detector stage")  # after saving: inspectable
        return cfg.output_dir

    def _warn_idle_cores(self) -> None:
        """On a CPU, say so when the processes' threads leave cores idle: ``accelerate launch`` sets
        OMP_NUM_THREADS=1 unless the config says ``use_cpu`` (which would also rule out a GPU) or
        ``--num_cpu_threads_per_process`` is given, and one thread halves training on a 2-core machine."""
        acc = self.accelerator
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = torch.get_num_threads()
        if acc.device.type == "cpu" and threads * acc.num_processes < cores and acc.is_main_process:
            logger.warning(
                "training on the CPU with %d thread(s) per process for %d cores: pass "
                "--num_cpu_threads_per_process %d to accelerate launch",
                threads,
                cores,
                cores // acc.num_processes,
            )

    def save_pipeline(self, final_losses: dict | None = None) -> None:
        """The output folder: a pipeline (model_index.json + components), a model card, the training config, and
        the pose detector's held-out scores (``DETECTOR_REPORT``)."""
        from .hub import push_to_hub, write_model_card

        cfg = self.config
        pipe = self._unwrapped_pipeline()
        pipe.save_pretrained(cfg.output_dir)
        for name, disc in self.discriminators.items():
            self.accelerator.unwrap_model(disc).save_pretrained(os.path.join(cfg.output_dir, DISCRIMINATORS, name))
        if cfg.stage == "pose_detector":
            self.detector_report = DetectorReport.measure_or_none(pipe.pose_detector, cfg, cfg.min_detector_pckh)
            if self.detector_report is not None:
                self.detector_report.final_losses = final_losses or {}
        if self.detector_report is not None:
            self.detector_report.save(cfg.output_dir)
        write_model_card(
            cfg, os.path.join(cfg.output_dir, "README.md"), steps=self.global_step, detector=self.detector_report
        )
        if cfg.push_to_hub:
            push_to_hub(cfg.output_dir, cfg.hub_model_id)


def train(config: TrainConfig) -> str:
    return Trainer(config).train()
