"""How good the pseudo labels S*_t are, on SyntheticPeople where the true target parsing is known.

    python benchmarks/search_quality.py [--sources 300] [--candidates 4000] [--size 128 128] [--search-size 64 64]

Sources are held-out test people; candidates are training samples (other people). For each source the
search picks a candidate p*; the target pose is then P*_t = P_p* and the truth is the *source person*
rendered in that pose. Scored against it (pixel accuracy, mIoU over SPT-10 labels):

  * search:        S*_t, the chosen candidate's parsing (the method);
  * nearest pose:  the parsing of the candidate whose pose is nearest to P*_t (p* itself excluded): a
                   pseudo label chosen by pose alone, without part matching;
  * warp:          the source parsing moved to P*_t by the part affines f_j (no search at all).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from spt.data.synthetic import SyntheticPeople
from spt.evaluation.metrics import mean_iou, pixel_accuracy
from spt.parsing import to_onehot
from spt.pose import part_transforms, warp_parsing
from spt.search import downsample_set, find_pseudo_labels, normalized_poses, pose_distances


def render_set(people: SyntheticPeople, n: int, per: int, offset: int = 0):
    samples = [
        people.render(people.identity(i // per), people.pose(offset + i)) for i in tqdm(range(n), desc=people.split)
    ]
    return samples, np.stack([s["keypoints"] for s in samples]), np.stack([s["parsing"] for s in samples])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--candidates", type=int, default=4000)
    parser.add_argument("--poses-per-identity", type=int, default=4)
    parser.add_argument("--size", nargs=2, type=int, default=[128, 128])
    parser.add_argument("--search-size", nargs=2, type=int, default=[64, 64])
    parser.add_argument("--min-pose-distance", type=float, default=0.25)
    parser.add_argument("--raw-cost", action="store_true", help="rank by the paper's unnormalised cost")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    size, small = tuple(args.size), tuple(args.search_size)
    train = SyntheticPeople(size, seed=args.seed, split="train")
    test = SyntheticPeople(size, seed=args.seed, split="test")
    _, kp_c, lab_c = render_set(train, args.candidates, args.poses_per_identity)
    sources, kp_s, lab_s = render_set(test, args.sources, 1)

    start = time.perf_counter()
    result = find_pseudo_labels(
        downsample_set(kp_s, lab_s, small),
        downsample_set(kp_c, lab_c, small),
        min_pose_distance=args.min_pose_distance,
        normalize=not args.raw_cost,
    )
    seconds = time.perf_counter() - start
    chosen = result.index[:, 0].numpy()

    # Nearest-pose baseline: the candidate closest in pose to P*_t, other than p* itself.
    dist = pose_distances(normalized_poses(torch.from_numpy(kp_c[chosen])), normalized_poses(torch.from_numpy(kp_c)))
    dist[torch.arange(len(chosen)), torch.from_numpy(chosen)] = float("inf")
    nearest = dist.argmin(1).numpy()

    scores = {name: ([], []) for name in ("search", "nearest pose", "warp")}
    for i, src in enumerate(tqdm(sources, desc="scoring")):
        truth = test.render(test.identity(i), train.pose(int(chosen[i])))["parsing"]
        moved = warp_parsing(
            to_onehot(torch.from_numpy(src["parsing"]).long())[None],
            part_transforms(torch.from_numpy(kp_s[i])[None], torch.from_numpy(kp_c[chosen[i]])[None]),
        )
        guesses = {"search": lab_c[chosen[i]], "nearest pose": lab_c[nearest[i]], "warp": moved[0].argmax(0).numpy()}
        for name, guess in guesses.items():
            scores[name][0].append(pixel_accuracy(guess, truth))
            scores[name][1].append(mean_iou(guess, truth))

    print(
        f"SyntheticPeople: {args.sources} test sources x {args.candidates} training candidates at "
        f"{size[0]}x{size[1]} (search at {small[0]}x{small[1]}, min pose distance {args.min_pose_distance}, "
        f"{'raw' if args.raw_cost else 'per-pixel'} cost); search took {seconds:.1f}s on CPU"
    )
    print("| pseudo label for P*_t | pixel accuracy | mIoU |")
    print("| --- | --- | --- |")
    for name, (acc, iou) in scores.items():
        print(f"| {name} | {np.mean(acc):.3f} | {np.mean(iou):.3f} |")


if __name__ == "__main__":
    main()
