"""The one real same-person pair that ships in a package: OpenCV's basketball1.png -> basketball2.png.

    python benchmarks/real_pair.py [--model pretrained/spt-synthetic] [--adapt_steps 0 30] [--out eval/real_pair]

Two frames of one camera, the same player in two poses: frame 1 is the source, the pose BlazePose finds in frame 2
is the target, and frame 2 itself is the truth. Both frames are cut with the source's framing (the Space's: around
the source person, at the model's aspect and size), so the truth is in the output's pixels. Prints SSIM, mask-SSIM
(inside frame 2's estimated person) and LPIPS-alex to the truth for part-warp and for the model fitted
for each ``--adapt_steps`` (0: unfitted), with the seconds each took; saves source | truth | part-warp | outputs.
The images come from Debian's opencv-doc (``apt-get install opencv-doc``), never from this repository.
"""

import argparse
import os
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from spt.estimation import PersonEstimator, detector_of  # noqa: E402
from spt.evaluation.baselines import part_warp_baseline  # noqa: E402
from spt.evaluation.lpips import LPIPS  # noqa: E402
from spt.evaluation.metrics import mask_ssim, ssim  # noqa: E402
from spt.pipeline import SPTPipeline  # noqa: E402
from spt.processor import open_photo, person_centre, uint8_to_tensor  # noqa: E402

DOC = "/usr/share/doc/opencv-doc/examples/data"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="pretrained/spt-synthetic")
    parser.add_argument("--adapt_steps", type=int, nargs="+", default=[0, 30])
    parser.add_argument("--frames", nargs=2, default=[f"{DOC}/basketball1.png", f"{DOC}/basketball2.png"])
    parser.add_argument("--out", default="eval/real_pair")
    args = parser.parse_args()
    for path in args.frames:
        if not os.path.isfile(path):
            raise SystemExit(f"{path} is missing: install Debian's opencv-doc (apt-get install opencv-doc)")
    pipe = SPTPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    size = pipe.image_size
    estimator = PersonEstimator(detector=detector_of(pipe))
    photos = [open_photo(p) for p in args.frames]
    first, second = (estimator(p) for p in photos)
    for name, estimate in zip(args.frames, (first, second)):
        estimate.require_person(name)
    framing = pipe.image_processor.framing(photos[0].shape[:2], person_centre(first.keypoints, first.mask))
    source = {
        "image": framing.image(photos[0]),
        "keypoints": framing.keypoints(first.keypoints),
        "parsing": framing.labels(first.parsing),
    }
    truth, target = framing.image(photos[1]), framing.keypoints(second.keypoints)
    person = framing.labels(second.parsing) > 0
    lpips = LPIPS.load("alex")

    def scores(image):
        distance = float(lpips(uint8_to_tensor(image[None]), uint8_to_tensor(truth[None]))[0])
        return ssim(image, truth), mask_ssim(image, truth, person), distance

    rows = [("part-warp", 0.0, part_warp_baseline(source, target)[0])]
    for steps in args.adapt_steps:
        start = time.perf_counter()
        out = pipe(
            source["image"],
            target,
            source_pose=source["keypoints"],
            source_parsing=source["parsing"],
            adapt_steps=steps,
            precision="fp32",
            output_type="np",
        )
        seconds = time.perf_counter() - start
        name = f"model, fitted {steps} steps" if steps else "model, unfitted"
        rows.append((name, seconds, (out.images[0] * 255 + 0.5).astype(np.uint8)))
    print(f"{args.frames[0]} -> {args.frames[1]} at {size[0]}x{size[1]}, {args.model}\n")
    print("| method | SSIM | mask-SSIM | LPIPS | seconds |\n|---|---|---|---|---|")
    for name, seconds, image in rows:
        s, m, d = scores(image)
        print(f"| {name} | {s:.4f} | {m:.4f} | {d:.4f} | {seconds:.1f} |")
    os.makedirs(args.out, exist_ok=True)
    tiles = [source["image"], truth] + [image for _, _, image in rows]
    grid = np.concatenate(tiles, axis=1)
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(
        os.path.join(args.out, "real_pair.png")
    )
    print(f"\nsource | truth | {' | '.join(n for n, _, _ in rows)}: {os.path.join(args.out, 'real_pair.png')}")


if __name__ == "__main__":
    main()
