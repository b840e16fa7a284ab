"""The model the Space serves (``SPT_MODEL``, else the embedded checkpoint) and one generation with it."""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr
import numpy as np

if TYPE_CHECKING:
    from .sources import Person

DEFAULT_MODEL = str(Path(__file__).resolve().parents[2] / "pretrained" / "spt-synthetic")


@functools.lru_cache(maxsize=2)
def load_pipeline(model: str | None = None):
    from spt.pipeline import SPTPipeline

    model = model or os.environ.get("SPT_MODEL") or DEFAULT_MODEL
    try:
        pipe = SPTPipeline.from_pretrained(model)
    except (ValueError, OSError) as err:
        raise gr.Error(f"Could not load the model {model!r}: {err}") from None
    if not pipe.uses_parsing:
        raise gr.Error(f"{model!r} is the parsing-free Baseline ablation; the Space shows and edits the predicted "
                       "parsing, so it needs an SPT model with H_S")
    return pipe


def model_size() -> tuple[int, int]:
    return load_pipeline().image_size


def serves_embedded_model() -> bool:
    return os.environ.get("SPT_MODEL", DEFAULT_MODEL) in ("", DEFAULT_MODEL)


SYNTHETIC_MODEL_NOTE = ("The default model was trained on SyntheticPeople only: on a photo it draws a rough "
                        "figure, not a photo-real person. Photo-real results need a model trained on real data "
                        "(README, Training; load it with `SPT_MODEL=<folder or Hub id>`).")


def run_pipeline(source: Person, target_keypoints: np.ndarray, target_parsing: np.ndarray | None = None):
    problem = source.problem()
    if problem:
        raise gr.Error(problem)
    pipe = load_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = pipe(source.image, target_keypoints, source_pose=source.keypoints,
                       source_parsing=source.parsing, target_parsing=target_parsing)
        except ValueError as err:
            raise gr.Error(str(err)) from None
    return np.asarray(out.images[0]), out.target_parsing[0]
