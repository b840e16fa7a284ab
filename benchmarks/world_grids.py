"""The pictures that compare SyntheticPeople's worlds with real photos (docs/images/).

    python benchmarks/world_grids.py [--stills /tmp/spt-stills]

* ``world3d_samples.png``: 3D-world training people at 256x176 (DeepFashion's size), each in four poses as
  image | COCO-18 skeleton | SPT-10 parsing, then a row at 128x64 (Market-1501's size);
* ``world3d-v1_samples.png``: the same ids in the first 3D world (clothes painted on the skin), for the comparison;
* ``world2d_samples.png``: the same ids in the 2D world;
* ``real_stills.png``: the real stills of ``benchmarks/real_stills.sh`` (gather them first), at one height.
"""

import argparse
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from spt.data.synthetic import make_people, sample_grid  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "images")


def world_grid(world: str, ids, small_ids) -> Image.Image:
    big = sample_grid(make_people(world, (256, 176), seed=0, split="train"), ids, 4)
    small = sample_grid(make_people(world, (128, 64), seed=0, split="train"), small_ids, 4)
    small = small.resize((small.width * 2, small.height * 2), Image.NEAREST)
    out = Image.new("RGB", (max(big.width, small.width), big.height + small.height + 8), "white")
    out.paste(big, (0, 0))
    out.paste(small, (0, big.height + 8))
    return out


def stills_grid(folder: str, height: int = 256) -> Image.Image:
    names = sorted(f for f in os.listdir(folder) if f.lower().endswith((".png", ".jpg", ".jpeg")))
    if not names:
        raise SystemExit(f"no stills in {folder}: run benchmarks/real_stills.sh first")
    photos = [Image.open(os.path.join(folder, n)).convert("RGB") for n in names]
    photos = [p.resize((round(p.width * height / p.height), height), Image.BICUBIC) for p in photos]
    out = Image.new("RGB", (sum(p.width for p in photos) + 4 * (len(photos) - 1), height), "white")
    x = 0
    for p in photos:
        out.paste(p, (x, 0))
        x += p.width + 4
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stills", default="/tmp/spt-stills")
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    ids, small_ids = [3, 4, 8], [1, 2]
    for world in ("3d", "3d-v1", "2d"):
        path = os.path.join(args.out, f"world{world}_samples.png")
        world_grid(world, ids, small_ids).save(path)
        print(f"wrote {path}")
    if os.path.isdir(args.stills):
        path = os.path.join(args.out, "real_stills.png")
        stills_grid(args.stills).save(path)
        print(f"wrote {path}")
    else:
        print(f"{args.stills} missing: run benchmarks/real_stills.sh for the stills grid")


if __name__ == "__main__":
    main()
