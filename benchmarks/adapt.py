"""Fitting to the photo (``adapt_steps``): seconds per photo and the gain against the number of steps, on this machine.

    python benchmarks/adapt.py [--model pretrained/spt-synthetic] [--steps 0 10 30 100] [--pairs 12] [--world W]

For each number of fitting steps K (0 is the unfitted generation, timed in the same run), every held-out
SyntheticPeople test pair of ``--world`` (default: the world the model was trained on) is generated one call at
a time, as the Space does: the median seconds per photo (fitting and generation), and SSIM, mask-SSIM and
LPIPS-alex to the true target, with the change against K = 0 on the same pairs. The process's resident memory
after each K shows whether repeated fitted calls leave anything behind. The one real same-person pair that ships
in a package is ``benchmarks/real_pair.py``'s.
"""

import argparse
import os
import resource
import statistics
import sys
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from spt.data.synthetic import WORLDS  # noqa: E402
from spt.evaluation.lpips import LPIPS  # noqa: E402
from spt.evaluation.metrics import mask_ssim, ssim  # noqa: E402
from spt.evaluation.runner import synthetic_pairs  # noqa: E402
from spt.pipeline import SPTPipeline  # noqa: E402
from spt.processor import uint8_to_tensor  # noqa: E402
from spt.training.config import TrainConfig  # noqa: E402


def resident_mb() -> float:
    with open("/proc/self/status", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="pretrained/spt-synthetic")
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 10, 30, 100])
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--world", choices=WORLDS, help="default: the model's own (its train_config.json), else 3d")
    parser.add_argument("--precision", default="auto", help="the pipeline's precision (auto: bf16 where native)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    pipe = SPTPipeline.from_pretrained(args.model)
    if args.world is None:
        trained = os.path.join(args.model, "train_config.json")
        args.world = TrainConfig.from_file(trained).world if os.path.isfile(trained) else "3d"
    pipe.set_progress_bar_config(disable=True)
    pairs = synthetic_pairs(pipe.image_size, args.pairs, world=args.world)
    lpips = LPIPS.load("alex")
    print(
        f"{args.model} at {pipe.image_size[0]}x{pipe.image_size[1]}, {len(pairs)} {args.world}-world test pairs, "
        f"precision {args.precision}, {torch.get_num_threads()} threads\n"
    )
    rows, base = [], None
    for steps in args.steps:
        seconds, scores = [], []
        for pair in pairs:
            start = time.perf_counter()
            out = pipe(
                pair.source["image"],
                pair.target["keypoints"],
                source_pose=pair.source["keypoints"],
                source_parsing=pair.source["parsing"],
                adapt_steps=steps,
                precision=args.precision,
                output_type="np",
            )
            seconds.append(time.perf_counter() - start)
            image = (out.images[0] * 255 + 0.5).astype(np.uint8)
            truth = pair.target["image"]
            distance = float(lpips(uint8_to_tensor(image[None]), uint8_to_tensor(truth[None]))[0])
            scores.append((ssim(image, truth), mask_ssim(image, truth, pair.target["parsing"] > 0), distance))
        mean = np.mean(scores, axis=0)
        base = mean if base is None else base
        rows.append((steps, statistics.median(seconds), mean, mean - base, resident_mb()))
    print("| steps K | seconds per photo (median) | SSIM | mask-SSIM | LPIPS | change against K = 0 | memory (MB) |")
    print("|---|---|---|---|---|---|---|")
    for steps, sec, mean, delta, memory in rows:
        change = "—" if steps == args.steps[0] else f"{delta[0]:+.4f} / {delta[1]:+.4f} / {delta[2]:+.4f}"
        print(f"| {steps} | {sec:.2f} | {mean[0]:.4f} | {mean[1]:.4f} | {mean[2]:.4f} | {change} | {memory:.0f} |")


if __name__ == "__main__":
    main()
