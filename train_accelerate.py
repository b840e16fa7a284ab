"""Train SPT: `accelerate launch train_accelerate.py --stage semantic --output_dir runs/hs ...`.

Stages: pose_detector, semantic, appearance, e2e (see spt/training/config.py for every flag; `--config
FILE.json|yaml` sets many at once). Multi-GPU: `accelerate launch --multi_gpu train_accelerate.py ...`.
"""

from spt.cli import run
from spt.training import parse_args, train


def main(argv=None) -> None:
    train(parse_args(argv))


if __name__ == "__main__":
    run(main, prog="train_accelerate.py")
