"""Print how hard SyntheticPeople is: trivial answers against the true target, on a fixed test split.

    python benchmarks/synthetic_hardness.py [--pairs 300] [--size 128 128] [--world 2d|3d]

For each pair (one held-out test person, source pose -> target pose) it scores, against the true
target image:
  * copy:  the source image unchanged;
  * warp:  the source image moved part by part by the 10 rigid-part affines f_j (source background
           where no part lands);
with SSIM (PATN's: Gaussian window, sigma 1.5) and mask-SSIM (both images with everything outside the
true target person set to 0). It also prints the share of person pixels whose SPT-10 label differs
between the source parsing warped by the f_j and the true target parsing, i.e. what H_S must learn
beyond rigid motion, and that warped parsing's pixel accuracy and mIoU.
A trained model has to beat these clearly; the evaluation issue puts its numbers next to them.
"""

import argparse

import numpy as np
from tqdm.auto import tqdm

from spt.data.synthetic import WORLDS, make_people
from spt.evaluation.baselines import part_warp_baseline
from spt.evaluation.metrics import mask_ssim, mean_iou, pixel_accuracy, ssim


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--size", type=int, nargs=2, default=(128, 128))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--world", default="2d", choices=WORLDS)
    args = parser.parse_args()
    size = tuple(args.size)
    people = make_people(args.world, size, seed=args.seed, split="test")
    rows = {
        k: []
        for k in (
            "copy_ssim",
            "copy_mask_ssim",
            "warp_ssim",
            "warp_mask_ssim",
            "label_change",
            "warp_parsing_acc",
            "warp_parsing_miou",
        )
    }
    for i in tqdm(range(args.pairs), desc="pairs"):
        src, tgt = people.pair(i)
        fg = tgt["parsing"] > 0
        warped, moved = part_warp_baseline(src, tgt["keypoints"])
        for name, guess in (("copy", src["image"]), ("warp", warped)):
            rows[f"{name}_ssim"].append(ssim(guess, tgt["image"]))
            rows[f"{name}_mask_ssim"].append(mask_ssim(guess, tgt["image"], fg))
        person = (moved > 0) | (tgt["parsing"] > 0)
        rows["label_change"].append(float((moved != tgt["parsing"])[person].mean()))
        rows["warp_parsing_acc"].append(pixel_accuracy(moved, tgt["parsing"]))
        rows["warp_parsing_miou"].append(mean_iou(moved, tgt["parsing"]))
    print(
        f"SyntheticPeople ({args.world} world) test split, {args.pairs} pairs at {size[0]}x{size[1]} (seed {args.seed})"
    )
    print(f"{'baseline':<28} {'SSIM':>6} {'mask-SSIM':>10}")
    for name, label in (("copy", "copy the source image"), ("warp", "warp the source by f_j")):
        print(f"{label:<28} {np.mean(rows[name + '_ssim']):>6.3f} {np.mean(rows[name + '_mask_ssim']):>10.3f}")
    lc = np.array(rows["label_change"])
    print(
        f"labels changed beyond rigid motion: {lc.mean():.1%} of person pixels "
        f"(median {np.median(lc):.1%}, pairs over 30%: {(lc > 0.3).mean():.0%})"
    )
    print(
        f"warped source parsing vs true target parsing: pixel accuracy {np.mean(rows['warp_parsing_acc']):.3f}, "
        f"mIoU {np.mean(rows['warp_parsing_miou']):.3f}"
    )


if __name__ == "__main__":
    main()
