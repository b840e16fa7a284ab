"""The pseudo-label search: exact (a warp of the source's parts per pair) vs fast (canonical-frame matrix
products, then an exact re-rank of each source's shortlist), and the trade-off curve of the shortlist size.

    python benchmarks/search_speed.py [--sources 2000] [--candidates 2000] [--exact-sources 100] [--rerank 0 8 16 32 64]

The exact search is timed on ``--exact-sources`` sources against all candidates (batched) and projected
linearly to the whole set: its cost is the same for every pair. Those sources give the agreement: how often
the fast top-1 is the exact top-1, or among the exact top 3. The fast search runs on the whole set, once per
re-rank size (the index build is counted in each). All use the same pose exclusion. The last lines project
to DeepFashion's training set (48,674 images against each other).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from spt.data.synthetic import SyntheticPeople
from spt.search import SearchIndex, find_pseudo_labels

DEEPFASHION_TRAIN = 48_674


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--exact-sources", type=int, default=100)
    parser.add_argument("--size", nargs=2, type=int, default=[64, 64], help="search resolution")
    parser.add_argument("--canonical", type=int, default=12)
    parser.add_argument(
        "--rerank",
        type=int,
        nargs="+",
        default=[0, 8, 16, 32, 64],
        help="shortlist sizes to measure (0: the matrix products' order)",
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    size = tuple(args.size)
    people = SyntheticPeople(size, seed=0, split="train")
    n = max(args.sources, args.candidates)
    samples = [people.render(people.identity(i // 4), people.pose(i)) for i in tqdm(range(n), desc="rendering")]
    kp = np.stack([s["keypoints"] for s in samples])
    labels = np.stack([s["parsing"] for s in samples])
    sources, candidates = (
        (kp[: args.sources], labels[: args.sources]),
        (kp[: args.candidates], labels[: args.candidates]),
    )

    m = args.exact_sources
    subset = (kp[:m], labels[:m])
    synchronize(args.device)
    start = time.perf_counter()
    exact = find_pseudo_labels(subset, candidates, method="exact", top_k=3, batch_size=16, device=args.device)
    synchronize(args.device)
    exact_pair = (time.perf_counter() - start) / (m * args.candidates)
    pairs = args.sources * args.candidates
    exact_total = exact_pair * pairs

    synchronize(args.device)
    start = time.perf_counter()
    source_index = SearchIndex.build(*sources, canonical=args.canonical, device=args.device)
    candidate_index = SearchIndex.build(*candidates, canonical=args.canonical, device=args.device)
    synchronize(args.device)
    build = time.perf_counter() - start
    subset_index = SearchIndex.build(*subset, canonical=args.canonical, device=args.device)
    timings, agreement = {}, {}
    for rerank in args.rerank:
        start = time.perf_counter()
        find_pseudo_labels(
            sources,
            candidates,
            source_index=source_index,
            candidate_index=candidate_index,
            device=args.device,
            rerank=rerank,
        )
        synchronize(args.device)
        timings[rerank] = build + time.perf_counter() - start
        fast = find_pseudo_labels(
            subset,
            candidates,
            source_index=subset_index,
            candidate_index=candidate_index,
            device=args.device,
            rerank=rerank,
        ).index[:, 0]
        agreement[rerank] = (
            (fast == exact.index[:, 0]).float().mean().item(),
            (fast[:, None] == exact.index).any(1).float().mean().item(),
        )

    print(
        f"{args.sources} sources x {args.candidates} candidates at {size[0]}x{size[1]}, canonical "
        f"{args.canonical}x{args.canonical}, device {args.device}, threads {torch.get_num_threads()}"
    )
    print("| search | time | speed-up | top-1 = exact top-1 | in exact top 3 |")
    print("| --- | --- | --- | --- | --- |")
    print(
        f"| exact: a warp per pair (timed on {m * args.candidates:,} pairs, projected) | {exact_total:,.0f} s | 1x | "
        "100% | 100% |"
    )
    for rerank, seconds in timings.items():
        name = "fast: matrix products" + (f" + exact re-rank of the top {rerank}" if rerank else "")
        print(
            f"| {name} | {seconds:.2f} s | {exact_total / seconds:,.0f}x | {agreement[rerank][0]:.0%} | "
            f"{agreement[rerank][1]:.0%} |"
        )
    print(f"(index build {build:.2f} s in each fast time; agreement measured on {m} sources)")
    per_image = build / (args.sources + args.candidates)
    scale = DEEPFASHION_TRAIN**2 / pairs
    gemm = timings[min(timings)] - build
    for rerank, seconds in timings.items():
        # The matrix products scale with pairs; the re-rank with sources.
        extra = (seconds - build - gemm) * DEEPFASHION_TRAIN / args.sources
        projected = per_image * DEEPFASHION_TRAIN + gemm * scale + extra
        print(
            f"projected DeepFashion ({DEEPFASHION_TRAIN:,} x {DEEPFASHION_TRAIN:,}) on this device, rerank {rerank}: "
            f"{projected / 60:,.1f} min"
        )
    print(f"projected DeepFashion exact: {exact_pair * DEEPFASHION_TRAIN**2 / 86400:,.1f} days")


if __name__ == "__main__":
    main()
