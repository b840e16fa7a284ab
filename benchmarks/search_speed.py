"""Naive (per-pair warps) vs fast (canonical-frame matrix products) pseudo-label search, side by side.

    python benchmarks/search_speed.py [--sources 2000] [--candidates 2000] [--exact-sources 10] [--device cpu]

The fast search (with and without the exact re-rank of its shortlist) runs on the whole sources x
candidates set. The naive search costs one warp of 10 parts per pair, which would take hours on a CPU
here, so it is timed on ``--exact-sources`` sources against all candidates and projected linearly (its
cost is the same for every pair). The same subset gives the agreement: how often the fast top-1 is the
exact top-1, or among the exact top 3. All use the same pose exclusion. Finally everything is projected
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
    parser.add_argument("--exact-sources", type=int, default=10)
    parser.add_argument("--size", nargs=2, type=int, default=[64, 64], help="search resolution")
    parser.add_argument("--canonical", type=int, default=12)
    parser.add_argument("--rerank", type=int, default=16)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    size = tuple(args.size)
    people = SyntheticPeople(size, seed=0, split="train")
    n = max(args.sources, args.candidates)
    samples = [people.render(people.identity(i // 4), people.pose(i)) for i in tqdm(range(n), desc="rendering")]
    kp = np.stack([s["keypoints"] for s in samples])
    labels = np.stack([s["parsing"] for s in samples])
    sources, candidates = (kp[:args.sources], labels[:args.sources]), (kp[:args.candidates], labels[:args.candidates])

    synchronize(args.device)
    start = time.perf_counter()
    source_index = SearchIndex.build(*sources, canonical=args.canonical, device=args.device)
    candidate_index = SearchIndex.build(*candidates, canonical=args.canonical, device=args.device)
    synchronize(args.device)
    build = time.perf_counter() - start
    timings = {}
    for rerank in (0, args.rerank):
        start = time.perf_counter()
        find_pseudo_labels(sources, candidates, source_index=source_index, candidate_index=candidate_index,
                           device=args.device, rerank=rerank)
        synchronize(args.device)
        timings[rerank] = time.perf_counter() - start

    m = args.exact_sources
    subset = (kp[:m], labels[:m])
    start = time.perf_counter()
    exact = find_pseudo_labels(subset, candidates, method="exact", top_k=3, batch_size=1)
    exact_pair = (time.perf_counter() - start) / (m * args.candidates)
    agreement = {}
    for rerank in (0, args.rerank):
        fast = find_pseudo_labels(subset, candidates, source_index=SearchIndex.build(*subset, canonical=args.canonical),
                                  candidate_index=candidate_index, rerank=rerank).index[:, 0]
        agreement[rerank] = ((fast == exact.index[:, 0]).float().mean().item(),
                             (fast[:, None] == exact.index).any(1).float().mean().item())
    pairs = args.sources * args.candidates
    naive_total = exact_pair * pairs

    print(f"{args.sources} sources x {args.candidates} candidates at {size[0]}x{size[1]}, canonical "
          f"{args.canonical}x{args.canonical}, device {args.device}, threads {torch.get_num_threads()}")
    print("| search | time | speed-up | top-1 = exact top-1 | in exact top 3 |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| naive: exact warps (timed on {m * args.candidates:,} pairs, projected) | {naive_total:,.0f} s | 1x | - | - |")
    for rerank, seconds in timings.items():
        name = "fast: matrix products" + (f" + exact re-rank of the top {rerank}" if rerank else "")
        total = build + seconds
        print(f"| {name} | {total:.2f} s | {naive_total / total:,.0f}x | {agreement[rerank][0]:.0%} | "
              f"{agreement[rerank][1]:.0%} |")
    print(f"(index build {build:.2f} s of that; agreement measured on {m} sources)")
    per_image = build / (args.sources + args.candidates)
    scale = DEEPFASHION_TRAIN**2 / pairs
    for rerank, seconds in timings.items():
        # GEMM part scales with pairs; the re-rank with sources.
        gemm = timings[0]
        extra = (seconds - gemm) * DEEPFASHION_TRAIN / args.sources
        projected = per_image * DEEPFASHION_TRAIN + gemm * scale + extra
        print(f"projected DeepFashion ({DEEPFASHION_TRAIN:,} x {DEEPFASHION_TRAIN:,}) on this device, rerank {rerank}: "
              f"{projected / 60:,.1f} min")
    print(f"projected DeepFashion naive: {exact_pair * DEEPFASHION_TRAIN**2 / 86400:,.0f} days")


if __name__ == "__main__":
    main()
