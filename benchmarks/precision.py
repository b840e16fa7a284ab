"""The fast path against the reference: what bf16 autocast changes in a trained model's outputs, and its speed.

    python benchmarks/precision.py [--model pretrained/spt-synthetic] [--pairs 100] [--device cpu]

On held-out SyntheticPeople pairs the pipeline runs twice, ``precision="fp32"`` (the reference, what the
published figures use) and ``precision="auto"`` (the default: bf16 where the hardware runs it natively).
Printed: the max and mean absolute difference of the generated images (in 0-255 levels), the SSIM between
the two outputs, each path's SSIM against the true target, the share of pixels whose predicted parsing label
differs, and the median time per single-image call (what the Space does per generation).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from spt.evaluation.metrics import ssim  # noqa: E402
from spt.evaluation.runner import synthetic_pairs  # noqa: E402
from spt.pipeline import SPTPipeline, bf16_is_native  # noqa: E402


def generate(pipe, pairs, precision: str):
    out = pipe(
        [p.source["image"] for p in pairs],
        [p.target["keypoints"] for p in pairs],
        source_pose=[p.source["keypoints"] for p in pairs],
        source_parsing=[p.source["parsing"] for p in pairs],
        output_type="np",
        precision=precision,
    )
    return (out.images * 255).round().astype(np.uint8), out.target_parsing


def per_call_ms(pipe, pair, precision: str, repeats: int = 15) -> float:
    args = (pair.source["image"], pair.target["keypoints"])
    kwargs = dict(source_pose=pair.source["keypoints"], source_parsing=pair.source["parsing"], precision=precision)
    pipe(*args, **kwargs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        pipe(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "..", "pretrained", "spt-synthetic"))
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    pipe = SPTPipeline.from_pretrained(args.model).to(args.device)
    pipe.set_progress_bar_config(disable=True)
    pairs = synthetic_pairs(pipe.image_size, args.pairs, 0)
    reference, parsing_ref = [], []
    fast, parsing_fast = [], []
    for start in range(0, len(pairs), 16):
        chunk = pairs[start : start + 16]
        images, labels = generate(pipe, chunk, "fp32")
        reference.append(images)
        parsing_ref.append(labels)
        images, labels = generate(pipe, chunk, "auto")
        fast.append(images)
        parsing_fast.append(labels)
    reference, fast = np.concatenate(reference), np.concatenate(fast)
    parsing_ref, parsing_fast = np.concatenate(parsing_ref), np.concatenate(parsing_fast)
    truth = np.stack([p.target["image"] for p in pairs])
    diff = np.abs(reference.astype(np.int16) - fast.astype(np.int16))
    between = np.mean([ssim(a, b) for a, b in zip(reference, fast)])
    to_truth = {
        name: np.mean([ssim(a, t) for a, t in zip(images, truth)])
        for name, images in (("fp32", reference), ("fast", fast))
    }
    timings = {path: per_call_ms(pipe, pairs[0], path) for path in ("fp32", "auto")}
    fast_kind = "bf16 autocast" if bf16_is_native(pipe.device) else "fp32"
    print(
        f"{args.model} at {pipe.image_size[0]}x{pipe.image_size[1]}, {len(pairs)} held-out pairs, {args.device} "
        f"({torch.get_num_threads()} threads); the fast path is {fast_kind}"
    )
    print("| | fp32 (reference) | fast path |")
    print("|---|---|---|")
    print(
        f"| ms per single-image call (median) | {timings['fp32']:.1f} | {timings['auto']:.1f} "
        f"({timings['fp32'] / timings['auto']:.2f}x) |"
    )
    print(f"| SSIM to the true target | {to_truth['fp32']:.4f} | {to_truth['fast']:.4f} |")
    print(f"| max / mean abs difference to fp32 (0-255) | 0 / 0 | {diff.max()} / {diff.mean():.3f} |")
    print(f"| SSIM between the two outputs | 1 | {between:.4f} |")
    print(f"| predicted parsing labels that differ | 0% | {(parsing_ref != parsing_fast).mean() * 100:.2f}% |")


if __name__ == "__main__":
    main()
