"""Real stills with one fixed set of target poses: source | target pose | part-warp | one column per model.

    python benchmarks/real_stills_compare.py OLD_MODEL NEW_MODEL [--stills /tmp/spt-stills]
        [--targets benchmarks/real_stills_targets.json] [--per_photo 2] [--out docs/images/real_stills_compare.png]
        [--adapt_steps K]

``real_stills_targets.json`` holds six target poses at 128x64, the 2D world's pose-gallery poses 1, 0, 5, 7, 10 and
8 (standing front, walking three-quarter, walking seen from the back, arms raised, standing side view, arms bent
seen from the back). Gather the stills first (``benchmarks/real_stills.sh``). Every photo is estimated once (pose
and person mask by BlazePose, a rough parsing, cut to the models' aspect around the person as the Space does), so
every column answers the same source and target. The truth-free checks of each model on the same poses come from
``bash benchmarks/real_stills.sh MODEL OUT`` with ``TARGETS`` set to the same file.
"""

import argparse
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from spt.estimation import PersonEstimator, detector_of  # noqa: E402
from spt.evaluation.runner import _load_targets, answer, photo_pairs  # noqa: E402
from spt.pipeline import SPTPipeline  # noqa: E402
from spt.pose import draw_skeleton  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="pipeline folders, one column each (same image size)")
    parser.add_argument("--names", nargs="*", help="column titles (default: the folder names)")
    parser.add_argument("--stills", default="/tmp/spt-stills")
    parser.add_argument("--targets", default=os.path.join(HERE, "real_stills_targets.json"))
    parser.add_argument("--per_photo", type=int, default=2, help="target poses per photo (the first ones of --targets)")
    parser.add_argument("--out", default=os.path.join(HERE, "..", "docs", "images", "real_stills_compare.png"))
    parser.add_argument(
        "--adapt_steps",
        type=int,
        default=0,
        help="also a column per model fitted to each photo for this many steps (spt.adapt; 0: none)",
    )
    args = parser.parse_args()
    pipes = [SPTPipeline.from_pretrained(m) for m in args.models]
    sizes = {tuple(p.image_size) for p in pipes}
    if len(sizes) != 1:
        raise SystemExit(f"the models work at different sizes {sorted(sizes)}: compare models of one size")
    size = sizes.pop()
    targets = _load_targets(args.targets, size)[: args.per_photo]
    pairs, skipped = photo_pairs(args.stills, size, targets, PersonEstimator(detector=detector_of(pipes[-1])))
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")
    columns = [("part-warp", answer("part-warp", None, pairs, False, "fp32")[0])]
    names = args.names or [os.path.basename(os.path.normpath(m)) for m in args.models]
    for name, pipe in zip(names, pipes):
        pipe.set_progress_bar_config(disable=True)
        columns.append((name, answer("model", pipe, pairs, False, "fp32")[0]))
        if args.adapt_steps:
            fitted = answer("model", pipe, pairs, False, "fp32", adapt_steps=args.adapt_steps)[0]
            columns.append((f"{name}, fitted", fitted))
    h, w = size
    scale = 2
    titles = ["source", "target pose"] + [name for name, _ in columns]
    head = 14
    grid = Image.new("RGB", (len(titles) * w * scale, head + len(pairs) * h * scale), "white")
    draw = ImageDraw.Draw(grid)
    for c, title in enumerate(titles):
        draw.text((c * w * scale + 2, 1), title[: 2 * w * scale // 12], fill="black")
    for r, pair in enumerate(pairs):
        cells = [
            pair.source["image"],
            np.asarray(draw_skeleton(np.full((h, w, 3), 255, np.uint8), pair.target["keypoints"])),
        ]
        cells += [images[r] for _, images in columns]
        for c, cell in enumerate(cells):
            tile = Image.fromarray(np.asarray(cell)).resize((w * scale, h * scale), Image.NEAREST)
            grid.paste(tile, (c * w * scale, head + r * h * scale))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    grid.save(args.out)
    print(f"wrote {args.out}: {len(pairs)} rows ({len(pairs) // len(targets)} photos x {len(targets)} poses)")


if __name__ == "__main__":
    main()
