"""The embedded checkpoint loads and gives recognisable results on held-out SyntheticPeople pairs."""

import os

import numpy as np
import pytest

from spt.evaluation.metrics import mean_iou, ssim
from spt.evaluation.runner import evaluate, synthetic_pairs
from spt.pipeline import SPTPipeline

MODEL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pretrained", "spt-synthetic")


@pytest.fixture(scope="module")
def pipe():
    return SPTPipeline.from_pretrained(MODEL)


def test_embedded_checkpoint_is_complete(pipe):
    assert pipe.image_size == (64, 32) and pipe.pose_detector is not None
    total = sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(MODEL) for f in files)
    assert total < 30 * 2**20 and os.path.exists(os.path.join(MODEL, "README.md"))


def test_embedded_checkpoint_beats_copying_on_held_out_pairs(pipe):
    pairs = synthetic_pairs(pipe.image_size, 32)
    scores = evaluate(pipe, pairs, batch_size=32, progress=False)
    copy = np.mean([ssim(p.source["image"], p.target["image"]) for p in pairs])
    kept = np.mean([mean_iou(p.source["parsing"], p.target["parsing"]) for p in pairs])
    assert scores["ssim"] > copy + 0.05, (scores["ssim"], copy)
    assert scores["parsing_miou"] > kept + 0.1, (scores["parsing_miou"], kept)
