"""The model the Space serves (``SPT_MODEL``, else the embedded checkpoint) and one generation with it, and
where the Space's own files are (``space_root``)."""

from __future__ import annotations

import functools
import json
import os
import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr
import numpy as np

from ..adapt import DEFAULT_ADAPT_STEPS

if TYPE_CHECKING:
    from .sources import Person


def space_root() -> Path:
    """The folder holding the Space's files (``app.py``, ``pretrained/``, ``examples/``): ``SPT_SPACE_ROOT``
    (``app.py`` sets it to its own folder), else the source checkout this package sits in, else the current
    folder. A package installed from a wheel has no checkout around it, hence the explicit setting."""
    if os.environ.get("SPT_SPACE_ROOT"):
        return Path(os.environ["SPT_SPACE_ROOT"])
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "app.py").is_file() else Path.cwd()


def default_model() -> str:
    """The embedded checkpoint beside the Space."""
    return str(space_root() / "pretrained" / "spt-synthetic")


def served_model() -> str:
    """What the Space serves: ``SPT_MODEL`` (a folder or a Hub id), else the embedded checkpoint."""
    return os.environ.get("SPT_MODEL") or default_model()


_LOADING = threading.Lock()


def load_pipeline(model: str | None = None):
    """The served pipeline, loaded once (``_load_pipeline``); concurrent first visits wait for the one load (two
    loads at once would also race: diffusers builds models under a process-wide empty-weights patch)."""
    with _LOADING:
        return _load_pipeline(model or served_model())


@functools.lru_cache(maxsize=2)
def _load_pipeline(model: str):
    from spt.pipeline import SPTPipeline

    try:
        pipe = SPTPipeline.from_pretrained(model)
    except (ValueError, OSError) as err:
        raise gr.Error(f"Could not load the model {model!r}: {err}") from None
    if not pipe.uses_parsing:
        raise gr.Error(
            f"{model!r} is the parsing-free Baseline ablation; the Space shows and edits the predicted "
            "parsing, so it needs an SPT model with H_S"
        )
    return pipe


load_pipeline.cache_clear = _load_pipeline.cache_clear  # tests serve another model


def model_size() -> tuple[int, int]:
    return load_pipeline().image_size


def serves_embedded_model() -> bool:
    return served_model() == default_model()


def served_world(model: str | None = None) -> str:
    """The SyntheticPeople world the served model was trained on (its folder's ``train_config.json``); "2d" when
    the folder does not say (older checkpoints, Hub ids)."""
    return _world_of(model or served_model())


@functools.lru_cache(maxsize=4)
def _world_of(model: str) -> str:
    from spt.data.synthetic import WORLDS

    try:
        with open(os.path.join(model, "train_config.json"), encoding="utf-8") as f:
            world = json.load(f).get("world", "2d")
    except (OSError, ValueError, AttributeError):
        return "2d"
    return world if world in WORLDS else "2d"


def synthetic_model_note() -> str:
    """What the embedded model learned from, for the note under an upload."""
    from spt.data.synthetic import WORLD_DESCRIPTIONS

    return (
        f"The default model was trained on {WORLD_DESCRIPTIONS[served_world()]} only, never on a real photo: on a "
        "photo expect a rough likeness (smooth faces, simplified clothes). Photo-real results need a model "
        "trained on real data (README, Training; load it with `SPT_MODEL=<folder or Hub id>`)."
    )


def fit_to_photo(source: Person, target_poses: list[np.ndarray], progress=None):
    """The served pipeline fitted to an uploaded photo (``SPTPipeline.adapt``, ``DEFAULT_ADAPT_STEPS`` steps, the H_S
    cycle on ``target_poses``), and the seconds the fitting took. ``progress`` (a ``gr.Progress``) shows the steps."""
    problem = source.problem()
    if problem:
        raise gr.Error(problem)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fitted = load_pipeline().adapt(
                source.image,
                [np.asarray(p, np.float32) for p in target_poses],
                source_pose=source.keypoints,
                source_parsing=source.parsing,
                steps=DEFAULT_ADAPT_STEPS,
                progress=(lambda steps: progress.tqdm(steps, desc="fitting to the photo")) if progress else None,
            )
        except ValueError as err:
            raise gr.Error(str(err)) from None
    return fitted, time.perf_counter() - start


def run_pipeline(source: Person, target_keypoints: np.ndarray, target_parsing: np.ndarray | None = None, pipe=None):
    """One generation with the served pipeline, or with ``pipe`` (one fitted to the photo by ``fit_to_photo``)."""
    problem = source.problem()
    if problem:
        raise gr.Error(problem)
    pipe = pipe or load_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = pipe(
                source.image,
                target_keypoints,
                source_pose=source.keypoints,
                source_parsing=source.parsing,
                target_parsing=target_parsing,
            )
        except ValueError as err:
            raise gr.Error(str(err)) from None
    return np.asarray(out.images[0]), out.target_parsing[0]
