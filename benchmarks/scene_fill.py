"""Print how well each way of filling the scene behind the source person matches the truth.

    python benchmarks/scene_fill.py [--pairs 80] [--size 128 64] [--world 2d|3d|mixed]

H_A (``scene="filled"``) fills the hole its source person leaves in the scene and shows that filled scene
where the target person is not. For held-out test pairs this cuts the true source person out as H_A does
(``scene_plate``), fills the hole, and prints the mean L1 (RGB in [0, 1]) against the true target image
where the source person stood and the target person does not (``spt.evaluation``'s ghost region), and the
milliseconds per image, for: ``fill_holes`` (copy by offset, then Navier-Stokes), OpenCV's Navier-Stokes
alone and Telea's.
"""

import argparse
import time

import cv2
import numpy as np
import torch
from tqdm.auto import tqdm

from spt.data.synthetic import WORLDS, make_people
from spt.evaluation.runner import vacated_error
from spt.models.appearance import fill_holes, scene_plate
from spt.processor import tensor_to_uint8, uint8_to_tensor


def _opencv(method):
    def fill(plate, valid):
        pixels = tensor_to_uint8(plate)[0]
        hole = (valid[0, 0] < 0.5).numpy().astype(np.uint8)
        radius = max(1, round(0.025 * plate.shape[-2]))
        return uint8_to_tensor(cv2.inpaint(np.ascontiguousarray(pixels), hole, radius, method)[None])

    return fill


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=80)
    parser.add_argument("--size", type=int, nargs=2, default=(128, 64))
    parser.add_argument("--world", choices=WORLDS, default="2d")
    args = parser.parse_args()

    people = make_people(args.world, tuple(args.size), split="test")
    fills = {"fill_holes": fill_holes, "navier-stokes": _opencv(cv2.INPAINT_NS), "telea": _opencv(cv2.INPAINT_TELEA)}
    errors = {name: [] for name in fills}
    seconds = dict.fromkeys(fills, 0.0)
    for index in tqdm(range(args.pairs), desc="pairs"):
        source, target = people.pair(index)
        image = uint8_to_tensor(np.asarray(source["image"])[None])
        plate, valid = scene_plate(image, torch.from_numpy(source["parsing"] > 0)[None, None].float())
        for name, fill in fills.items():
            start = time.perf_counter()
            filled = fill(plate, valid)
            seconds[name] += time.perf_counter() - start
            error = vacated_error(
                tensor_to_uint8(filled)[0], np.asarray(target["image"]), source["parsing"] > 0, target["parsing"] > 0
            )
            if error is not None:
                errors[name].append(error)
    print(f"world {args.world}, {args.size[0]}x{args.size[1]}, {len(errors['fill_holes'])} pairs with a vacated region")
    for name in fills:
        print(f"{name:>14}: L1 {np.mean(errors[name]):.4f}   {1000 * seconds[name] / args.pairs:.1f} ms/image")


if __name__ == "__main__":
    main()
