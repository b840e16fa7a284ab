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


@pytest.mark.slow
def test_embedded_checkpoint_beats_the_part_warp_baseline_on_held_out_pairs(pipe):
    """Against the true target, in the world it was trained on: above moving the source part by part with the f_j
    (the strongest model-free answer), on images, on the person alone, and on the predicted parsing."""
    world = TrainConfig.from_file(os.path.join(MODEL, "train_config.json")).world
    assert world == "3d-v1"  # the 3D world before clothes stood off the body, where it was trained
    pairs = synthetic_pairs(pipe.image_size, 48, world=world)
    scores = evaluate(pipe, pairs, batch_size=48, progress=False)
    warps = [part_warp_baseline(p.source, p.target["keypoints"]) for p in pairs]
    warp = {
        "ssim": np.mean([ssim(w, p.target["image"]) for (w, _), p in zip(warps, pairs)]),
        "mask_ssim": np.mean(
            [mask_ssim(w, p.target["image"], p.target["parsing"] > 0) for (w, _), p in zip(warps, pairs)]
        ),
        "parsing_miou": np.mean([mean_iou(m, p.target["parsing"]) for (_, m), p in zip(warps, pairs)]),
    }
    for key, value in warp.items():
        assert scores[key] > value, (key, scores[key], value)


def test_texture_transfer_dresses_b_in_as_clothes(pipe):
    """Paper Fig. 9 (the Space's Texture transfer tab): A's image and parsing rendered on B's pose and layout.
    The output's upper clothes, where B's layout puts them, take A's colour, not B's: measured as the distance
    of the output's mean colour there to A's clothes, against the distance between A's and B's clothes."""
    from spt.data.synthetic import make_people
    from spt.parsing import UPPER_CLOTHES

    people = make_people("3d-v1", pipe.image_size, split="test")  # its own world
    ratios = []
    for k in range(10):
        a, b = people.render(2 * k, 2 * k), people.render(2 * k + 1, 2 * k + 1)
        in_a, in_b = a["parsing"] == UPPER_CLOTHES, b["parsing"] == UPPER_CLOTHES
        colour_a, colour_b = a["image"][in_a].mean(0), b["image"][in_b].mean(0)
        if min(in_a.sum(), in_b.sum()) < 50 or np.linalg.norm(colour_a - colour_b) < 40:
            continue  # too little cloth, or clothes of one colour: nothing to tell apart
        out = (
            pipe(
                a["image"],
                b["keypoints"],
                source_pose=a["keypoints"],
                source_parsing=a["parsing"],
                target_parsing=b["parsing"],
                output_type="np",
            ).images[0]
            * 255
        )
        worn = out[in_b].mean(0)
        ratios.append(np.linalg.norm(worn - colour_a) / np.linalg.norm(worn - colour_b))
    assert len(ratios) >= 6
    assert np.mean(np.array(ratios) < 1) >= 0.8 and np.median(ratios) < 0.3, np.round(ratios, 2)
