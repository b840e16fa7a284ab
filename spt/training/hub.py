"""The model card and the Hub upload of a trained pipeline folder."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from .config import TrainConfig
from .detector_check import DETECTOR_REPORT, DetectorReport

# The card template: the repository's top-level model_card.md, reached through a link inside the package so that
# an installed wheel (which carries a copy as package data) finds it too.
TEMPLATE = resources.files("spt.training") / "model_card.md"


def _params(folder: str, component: str) -> str:
    from safetensors import safe_open

    path = os.path.join(folder, component, "diffusion_pytorch_model.safetensors")
    if not os.path.isfile(path):
        return "?"
    with safe_open(path, framework="pt") as handle:
        total = sum(_numel(handle.get_slice(k).get_shape()) for k in handle.keys())
    return f"{total / 1e6:.2f}"


def _numel(shape) -> int:
    n = 1
    for v in shape:
        n *= int(v)
    return n


def fill_model_card(values: dict[str, str], template: Path = TEMPLATE) -> str:
    """The template with every ``{{key}}`` replaced; an unknown or unfilled placeholder is an error."""
    if not template.is_file():
        raise FileNotFoundError(f"model card template not found at {template}")
    text = template.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    if "{{" in text:
        start = text.index("{{")
        raise ValueError(f"model card placeholder left unfilled: {text[start : text.index('}}', start) + 2]}")
    return text


def departures(folder: str, config: TrainConfig) -> str:
    """Where this checkpoint's method departs from the paper, as a markdown list (the spt design notes say why)."""
    items = []
    h_a = os.path.join(folder, "appearance_generator", "config.json")
    settings = {}
    if os.path.isfile(h_a):
        with open(h_a, encoding="utf-8") as handle:
            settings = json.load(handle)
    if settings.get("output", "blend") == "blend":
        items.append(
            "H_A's output blends its own rendering with the source person moved part by part by the rigid-part "
            "affines and with the source scene (person cut out), through a learned per-pixel softmax that "
            "starts at that model-free composite: the deformable skip taken down to the pixels. The paper's "
            'head (tanh RGB) is `output="render"`.'
        )
        if settings.get("scene", "filled") == "filled":
            items.append(
                "The scene behind the source person is filled by inpainting (OpenCV Navier-Stokes), and the "
                "output is that filled scene wherever the predicted target parsing has no person: nothing of "
                "the source person can remain where it stood."
            )
    items.append(
        "As in the official code (not the paper's text), the torso's deformable skip carries the whole image, "
        "and the pose loss, D_A and D_F judge the cycle output as well as the forward one."
    )
    if config.weights.cycle > 0:
        items.append(
            f"An L1 cycle term at weight {config.weights.cycle:g} besides the official VGG relu2_1 cycle term "
            f"(x {config.weights.content:g})."
        )
    items.append(
        f"Style weight {config.weights.style:g} (our Gram normalisation; see the design notes); "
        f"learning-rate schedule `{config.lr_scheduler}`."
    )
    if config.supervision == "paired":
        items.append("**Paired supervision (the true target image): this is the ablation ceiling, not SPT.**")
    return "\n".join(f"- {item}" for item in items)


METRICS = (
    ("ssim", "SSIM"),
    ("ssim_51", "SSIM (win 51)"),
    ("mask_ssim", "mask-SSIM"),
    ("psnr", "PSNR"),
    ("lpips", "LPIPS (alex)"),
    ("fid", "FID"),
    ("kid", "KID"),
    ("is", "IS"),
    ("mask_is", "mask-IS"),
    ("parsing_accuracy", "parsing accuracy"),
    ("parsing_miou", "parsing mIoU"),
    ("pckh", "PCKh@0.5 (own detector)"),
    ("pose_pckh", "PCKh@0.5 (BlazePose)"),
    ("shape_iou", "shape IoU (BlazePose)"),
    ("lpips_person", "LPIPS source vs output person"),
)


def card_data(config: TrainConfig, name: str, metrics: dict | None = None, benchmark: str | None = None) -> str:
    """The card's YAML metadata, with ``model-index`` results from an ``spt.evaluation`` metrics.json when given
    (the Hub's way of carrying evaluations); metrics that were not computed are left out."""
    from huggingface_hub import EvalResult, ModelCardData

    results = []
    for key, label in METRICS if metrics else ():
        value = metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            results.append(
                EvalResult(
                    task_type="image-to-image",
                    task_name="Pose-guided person image generation",
                    dataset_type=config.dataset,
                    dataset_name=benchmark or config.dataset,
                    dataset_split="test",
                    metric_type=key,
                    metric_name=label,
                    metric_value=round(float(value), 4),
                )
            )
    data = ModelCardData(
        library_name="diffusers",
        pipeline_tag="image-to-image",
        license="mit",
        tags=["pose-transfer", "person-image-generation", "semantic-parsing-transformation", "spt"],
        datasets=[config.dataset],
        model_name=name,
        eval_results=results or None,
    )
    return data.to_yaml()


def _detector_line(report) -> str:
    if report is None:
        return f"Pose detector Φ: not measured (no {DETECTOR_REPORT} in this folder)."
    return f"Pose detector Φ (frozen after its stage; it gives the pose loss): {report.summary()}."


def dataset_name(config: TrainConfig) -> str:
    """What the card says the model was trained on."""
    from ..data.synthetic import WORLD_DESCRIPTIONS

    return WORLD_DESCRIPTIONS[config.world] if config.dataset == "synthetic" else config.dataset


def write_model_card(
    config: TrainConfig,
    path: str,
    *,
    steps: int,
    command: str | None = None,
    evaluation: str | None = None,
    metrics: dict | None = None,
    benchmark: str | None = None,
    detector=None,
) -> None:
    """README.md of a pipeline folder. ``metrics`` (an evaluation's metrics.json) become the card's
    ``model-index``, on the dataset ``benchmark`` names; ``evaluation`` is the prose section."""
    folder = os.path.dirname(path) or "."
    name = config.hub_model_id or os.path.basename(os.path.abspath(folder))
    values = {
        "card_data": card_data(config, name, metrics, benchmark),
        "model_name": name,
        "model_id": config.hub_model_id or folder,
        "dataset": dataset_name(config),
        "image_size": "x".join(map(str, config.image_size)),
        "semantic_size": "x".join(map(str, config.h_s_size)),
        "preset": config.preset,
        "semantic_params": _params(folder, "semantic_generator"),
        "appearance_params": _params(folder, "appearance_generator"),
        "stage": config.stage,
        "steps": steps,
        "command": command
        or "accelerate launch --config_file accelerate_config.yaml --num_cpu_threads_per_process $(nproc) "
        "train_accelerate.py --config "
        + os.path.join(folder, "train_config.json"),
        "config_json": json.dumps(config.to_dict(), indent=2, default=list),
        "evaluation": evaluation or "Not evaluated yet: run `python -m spt.evaluation --model " + folder + "`.",
        "departures": departures(folder, config),
        "detector": _detector_line(detector or DetectorReport.load(folder)),
    }
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(fill_model_card(values))
    with open(os.path.join(folder, "train_config.json"), "w", encoding="utf-8") as handle:
        json.dump(config.to_dict(), handle, indent=2, default=list)


def push_to_hub(folder: str, repo_id: str, token: str | None = None) -> str:
    """Upload a pipeline folder (not its checkpoints, logs or samples) to ``repo_id``; returns the commit URL."""
    from huggingface_hub import create_repo, upload_folder

    create_repo(repo_id, exist_ok=True, token=token)
    info = upload_folder(
        repo_id=repo_id,
        folder_path=folder,
        token=token,
        ignore_patterns=[
            "checkpoint-*",
            "checkpoint-*/**",
            "logs/**",
            "samples/**",
            "search_index_*",
            "discriminators/**",
        ],
    )
    return str(info)
