"""The embedded checkpoint loads and gives recognisable results on held-out SyntheticPeople pairs."""

import os

import numpy as np
import pytest

from spt.evaluation.baselines import part_warp_baseline
from spt.evaluation.metrics import mask_ssim, mean_iou, ssim
from spt.evaluation.runner import evaluate, synthetic_pairs
from spt.pipeline import SPTPipeline
from spt.training.config import TrainConfig

MODEL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pretrained", "spt-synthetic")


@pytest.fixture(scope="module")
def pipe():
    return SPTPipeline.from_pretrained(MODEL)


def test_embedded_checkpoint_is_complete(pipe):
    assert pipe.image_size == (128, 64) and pipe.pose_detector is not None  # Market-1501's size
    total = sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(MODEL) for f in files)
    assert total < 30 * 2**20 and os.path.exists(os.path.join(MODEL, "README.md"))


def test_embedded_checkpoint_beats_the_part_warp_baseline_on_held_out_pairs(pipe):
    """Against the true target, in the world it was trained on: above moving the source part by part with the f_j
    (the strongest model-free answer), on images, on the person alone, and on the predicted parsing."""
    world = TrainConfig.from_file(os.path.join(MODEL, "train_config.json")).world
    assert world == "3d"
    pairs = synthetic_pairs(pipe.image_size, 48, world=world)
    scores = evaluate(pipe, pairs, batch_size=48, progress=False)
    warps = [part_warp_baseline(p.source, p.target["keypoints"]) for p in pairs]
    warp = {
        "ssim": np.mean([ssim(w, p.target["image"]) for (w, _), p in zip(warps, pairs)]),
        "mask_ssim": np.mean([mask_ssim(w, p.target["image"], p.target["parsing"] > 0) for (w, _), p in zip(warps, pairs)]),
        "parsing_miou": np.mean([mean_iou(m, p.target["parsing"]) for (_, m), p in zip(warps, pairs)]),
    }
    for key, value in warp.items():
        assert scores[key] > value, (key, scores[key], value)
