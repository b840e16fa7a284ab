"""The embedded checkpoint's model card from its evaluation (the model beside the model-free baselines, on the
same pairs), and the README's figure of its first held-out pairs.

    python pretrained/write_card.py pretrained/spt-synthetic runs/embedded/eval

The training configuration is the folder's ``train_config.json`` (written by the training's last stage).
"""

import json
import os
import sys

from PIL import Image

from spt.training.config import TrainConfig
from spt.training.hub import write_model_card

FIGURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "images", "embedded_eval_grid.png")
VERDICT = (
    ("ssim", "SSIM", 1),
    ("mask_ssim", "mask-SSIM", 1),
    ("lpips", "LPIPS", -1),
    ("fid", "FID", -1),
    ("parsing_miou", "parsing mIoU", 1),
)


def save_figure(grid_path: str, path: str = FIGURE) -> None:
    """The evaluation's grid (8 rows: source | predicted parsing | generated | truth | true parsing) in two
    columns of four pairs, enlarged 2x."""
    grid = Image.open(grid_path)
    half = grid.height // 2
    both = Image.new("RGB", (2 * grid.width, half))
    both.paste(grid.crop((0, 0, grid.width, half)), (0, 0))
    both.paste(grid.crop((0, half, grid.width, 2 * half)), (grid.width, 0))
    both.resize((both.width * 2, both.height * 2), Image.NEAREST).save(path)


def verdict(metrics: dict) -> str:
    """How the model stands against part-warp, the strongest model-free answer, metric by metric."""
    warp = metrics["methods"]["part-warp"]
    parts = []
    for key, label, sign in VERDICT:
        ours, theirs = metrics.get(key), warp.get(key)
        if isinstance(ours, float) and isinstance(theirs, float):
            word = "better" if sign * (ours - theirs) > 0 else "worse"
            parts.append(f"{label} {ours:.3f} vs {theirs:.3f} ({word})")
    return "; ".join(parts)


def main(out: str, eval_dir: str) -> None:
    config = TrainConfig.from_file(f"{out}/train_config.json")
    metrics = json.load(open(f"{eval_dir}/metrics.json", encoding="utf-8"))
    table = open(f"{eval_dir}/metrics.md", encoding="utf-8").read().split("\n", 2)[2]
    h, w = config.image_size
    evaluation = f"""300 held-out SyntheticPeople pairs of the {config.world.upper()} world (test people never seen in
training, true target known), `python -m spt.evaluation --model {out} --pairs 300 --world {config.world}`,
beside the answers without a model (copy the source; move it part by part with the affines f_j) and the true
target itself (each metric's ceiling, and the error of the truth-free checks):

{table}
Against part-warp, the strongest model-free answer: {verdict(metrics)}.

The paper's ablations (Baseline, TS-pred, TS-GT, E2E, and a paired-supervision ceiling that is not SPT) run
with `bash benchmarks/ablation.sh` in the spt repository; `docs/ablation.md` there says which have been
measured with this version of the code.
"""
    write_model_card(
        config,
        f"{out}/README.md",
        steps=config.max_steps,
        command="bash pretrained/train_spt_synthetic.sh",
        evaluation=evaluation,
        metrics=metrics,
        benchmark=f"SyntheticPeople ({config.world} world), 300 held-out pairs at {h}x{w}",
    )
    save_figure(f"{eval_dir}/grid.png")


if __name__ == "__main__":
    main(*sys.argv[1:])
