"""The embedded checkpoint's model card from its evaluation (the model beside the model-free baselines, on the
same pairs), and the README's figure of its first held-out pairs.

    python pretrained/write_card.py pretrained/spt-synthetic runs/embedded/eval \
        [--figure docs/images/embedded_eval_grid.png]

The training configuration is the folder's ``train_config.json`` (written by the training's last stage). The
evaluation must be the published benchmark: 300 pairs of the test split of the world the model was trained on
(``metrics.json`` records what was measured). The card is written into the model's folder; the figure only
where ``--figure`` says.
"""

import json
import os

from PIL import Image

from spt.cli import ArgumentParser, run
from spt.training.config import TrainConfig
from spt.training.hub import write_model_card

PUBLISHED_PAIRS = 300
VERDICT = (
    ("ssim", "SSIM", 1),
    ("mask_ssim", "mask-SSIM", 1),
    ("lpips", "LPIPS", -1),
    ("fid", "FID", -1),
    ("parsing_miou", "parsing mIoU", 1),
)


def save_figure(grid_path: str, path: str) -> None:
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


def read_evaluation(eval_dir: str, config: TrainConfig) -> tuple[dict, str]:
    """The evaluation's metrics and table, or a ValueError unless it is the published benchmark of ``config``."""
    for name in ("metrics.json", "metrics.md"):
        if not os.path.isfile(os.path.join(eval_dir, name)):
            raise FileNotFoundError(f"{eval_dir} has no {name}: give the --out folder of python -m spt.evaluation")
    with open(os.path.join(eval_dir, "metrics.json"), encoding="utf-8") as handle:
        try:
            metrics = json.load(handle)
        except json.JSONDecodeError as err:
            raise ValueError(f"{eval_dir}/metrics.json is not valid JSON ({err}); run the evaluation again") from None
    published = {"dataset": "synthetic", "pairs": PUBLISHED_PAIRS, "world": config.world, "split": "test"}
    measured = metrics.get("benchmark") if isinstance(metrics, dict) else None
    if not isinstance(measured, dict) or any(measured.get(k) != v for k, v in published.items()):
        raise ValueError(
            f"{eval_dir} measured {measured or 'an unrecorded benchmark'}, not the published one {published}: run "
            f"python -m spt.evaluation --model <model> --pairs {PUBLISHED_PAIRS} --world {config.world} --out <folder>"
        )
    if metrics.get("adapt"):
        raise ValueError(f"{eval_dir} is a fitted evaluation (--adapt_steps); the card states the unfitted model")
    with open(os.path.join(eval_dir, "metrics.md"), encoding="utf-8") as handle:
        table = handle.read().split("\n", 2)[2]
    return metrics, table


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(prog="pretrained/write_card.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the model's folder (its train_config.json; the card is written there)")
    parser.add_argument("eval_dir", help="the --out folder of its python -m spt.evaluation run")
    parser.add_argument("--figure", help="also write the figure of its first held-out pairs here (a PNG path)")
    args = parser.parse_args(argv)
    out, eval_dir = args.out, args.eval_dir
    if not os.path.isfile(os.path.join(out, "train_config.json")):
        raise FileNotFoundError(f"{out} has no train_config.json: give the folder the training wrote")
    config = TrainConfig.from_file(f"{out}/train_config.json")
    metrics, table = read_evaluation(eval_dir, config)
    h, w = config.image_size
    n = PUBLISHED_PAIRS
    evaluation = f"""{n} held-out SyntheticPeople pairs of the {config.world.upper()} world (test people never seen in
training, true target known), `python -m spt.evaluation --model {out} --pairs {n} --world {config.world}`,
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
        benchmark=f"SyntheticPeople ({config.world} world), {PUBLISHED_PAIRS} held-out pairs at {h}x{w}",
    )
    if args.figure:
        save_figure(f"{eval_dir}/grid.png", args.figure)


if __name__ == "__main__":
    run(main, prog="pretrained/write_card.py")
