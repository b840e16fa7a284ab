"""The embedded checkpoint's model card: the e2e stage's config plus its benchmark table.

    python pretrained/write_card.py pretrained/spt-synthetic runs/embedded
"""

import sys

from spt.training.config import TrainConfig
from spt.training.hub import write_model_card

# The same 300 pairs answered without a model: `python benchmarks/synthetic_hardness.py --pairs 300 --size 64 32`.
BASELINES = """
The same pairs answered without a model (`python benchmarks/synthetic_hardness.py --pairs 300 --size 64 32`):

| baseline | SSIM | mask-SSIM | parsing accuracy | parsing mIoU |
| --- | --- | --- | --- | --- |
| copy the source image | 0.248 | 0.629 | | |
| warp the source part by part with the affines f_j | 0.380 | 0.735 | 0.838 | 0.411 |

The model beats copying, and its predicted parsing beats the warped source parsing, but its images stay below the
part-warp baseline on SSIM and mask-SSIM: after 1,900 CPU steps at 64x32, H_A renders the layout and the dominant
colours and patterns of the clothes, not their detail, and leaves texture noise. Train longer (a GPU) for better.

The paper's ablations (Baseline, TS-pred, TS-GT, E2E, the style and face losses) at equal budgets, from the same
semantic stage as this checkpoint, are tabulated in the spt repository's `docs/ablation.md`.
"""


def main(out: str, runs: str) -> None:
    config = TrainConfig.from_file(f"{runs}/e2e/train_config.json")
    table = open(f"{runs}/eval/metrics.md", encoding="utf-8").read().split("\n", 2)[2]
    evaluation = ("300 held-out SyntheticPeople pairs (test people never seen in training, true target known), "
                  f"`python -m spt.evaluation --model {out} --pairs 300`:\n\n{table}{BASELINES}")
    write_model_card(config, f"{out}/README.md", steps=config.max_steps,
                     command="bash pretrained/train_spt_synthetic.sh", evaluation=evaluation)


if __name__ == "__main__":
    main(*sys.argv[1:])
