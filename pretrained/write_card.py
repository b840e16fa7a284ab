"""The embedded checkpoint's model card: the e2e stage's config, its benchmark table and the model-free
baselines measured on the same pairs; and the README's figure of its first held-out pairs.

    python pretrained/write_card.py pretrained/spt-synthetic runs/embedded
"""

import json
import sys

import os

import numpy as np
from PIL import Image

from spt.evaluation.baselines import part_warp_baseline
from spt.evaluation.metrics import mask_ssim, mean_iou, pixel_accuracy, ssim
from spt.evaluation.runner import synthetic_pairs
from spt.training.config import TrainConfig
from spt.training.hub import write_model_card


def baselines(size: tuple[int, int], num_pairs: int) -> dict[str, dict[str, float]]:
    """Copy and part-warp (with its warped parsing) on the benchmark pairs, against the true targets."""
    rows = {"copy": [], "warp": []}
    for pair in synthetic_pairs(size, num_pairs):
        src, tgt = pair.source, pair.target
        warped, parsing = part_warp_baseline(src, tgt["keypoints"])
        for name, image in (("copy", src["image"]), ("warp", warped)):
            row = {"ssim": ssim(image, tgt["image"]), "mask_ssim": mask_ssim(image, tgt["image"], tgt["parsing"] > 0)}
            if name == "warp":
                row.update(parsing_accuracy=pixel_accuracy(parsing, tgt["parsing"]),
                           parsing_miou=mean_iou(parsing, tgt["parsing"]))
            rows[name].append(row)
    return {name: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for name, rs in rows.items()}


FIGURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "images", "embedded_eval_grid.png")


def save_figure(grid_path: str, path: str = FIGURE) -> None:
    """The evaluation's grid (8 rows: source | predicted parsing | generated | truth | true parsing) in two
    columns of four pairs, enlarged 2x."""
    grid = Image.open(grid_path)
    half = grid.height // 2
    both = Image.new("RGB", (2 * grid.width, half))
    both.paste(grid.crop((0, 0, grid.width, half)), (0, 0))
    both.paste(grid.crop((0, half, grid.width, 2 * half)), (grid.width, 0))
    both.resize((both.width * 2, both.height * 2), Image.NEAREST).save(path)


def main(out: str, runs: str) -> None:
    config = TrainConfig.from_file(f"{runs}/e2e/train_config.json")
    metrics = json.load(open(f"{runs}/eval/metrics.json", encoding="utf-8"))
    table = open(f"{runs}/eval/metrics.md", encoding="utf-8").read().split("\n", 2)[2]
    base = baselines(tuple(config.image_size), 300)
    h, w = config.image_size
    warp, copy = base["warp"], base["copy"]
    verdict = " and ".join(f"{label} {metrics[key]:.3f} vs {warp[key]:.3f}"
                           for key, label in (("ssim", "SSIM"), ("mask_ssim", "mask-SSIM"), ("parsing_miou", "parsing mIoU")))
    evaluation = f"""300 held-out SyntheticPeople pairs (test people never seen in training, true target known),
`python -m spt.evaluation --model {out} --pairs 300`:

{table}
The same pairs answered without a model (`python benchmarks/synthetic_hardness.py --pairs 300 --size {h} {w}`):

| baseline | SSIM | mask-SSIM | parsing accuracy | parsing mIoU |
| --- | --- | --- | --- | --- |
| copy the source image | {copy['ssim']:.3f} | {copy['mask_ssim']:.3f} | | |
| warp the source part by part with the affines f_j | {warp['ssim']:.3f} | {warp['mask_ssim']:.3f} | {warp['parsing_accuracy']:.3f} | {warp['parsing_miou']:.3f} |

Against the part-warp baseline, the strongest model-free answer: {verdict}.

The paper's ablations (Baseline, TS-pred, TS-GT, E2E, and a paired-supervision ceiling that is not SPT) run
with `bash benchmarks/ablation.sh` in the spt repository; `docs/ablation.md` there says which have been
measured with this version of the code.
"""
    write_model_card(config, f"{out}/README.md", steps=config.max_steps,
                     command="bash pretrained/train_spt_synthetic.sh", evaluation=evaluation, metrics=metrics,
                     benchmark=f"SyntheticPeople, 300 held-out pairs at {h}x{w}")
    save_figure(f"{runs}/eval/grid.png")


if __name__ == "__main__":
    main(*sys.argv[1:])
