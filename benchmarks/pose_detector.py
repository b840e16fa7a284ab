"""PCKh@0.5 of pose detectors, pooled and per joint, on held-out people of each world the project has.

    python benchmarks/pose_detector.py pretrained/spt-synthetic runs/pose [--images 256]

Each model folder's pose detector Φ, and BlazePose (mediapipe, independent of ours) as a reference, on
SyntheticPeople validation people (never trained on) rendered at the model's size, in each world (2D and 3D).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from spt.evaluation.detector import detector_scores, held_out_people  # noqa: E402
from spt.pipeline import SPTPipeline  # noqa: E402
from spt.pose import KEYPOINT_NAMES  # noqa: E402

WORLDS = {
    "2D (SyntheticPeople)": held_out_people,
    "3D, first version (3d-v1)": lambda size, count: held_out_people(size, count, world="3d-v1"),
    "3D (clothes with volume)": lambda size, count: held_out_people(size, count, world="3d"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="pipeline folders with a pose detector")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--blazepose", default="on", choices=["on", "off"])
    args = parser.parse_args()
    rows = []
    for world, people in WORLDS.items():
        sizes = {}
        for model in args.models:
            pipe = SPTPipeline.from_pretrained(model)
            if pipe.pose_detector is None:
                raise SystemExit(f"{model} has no pose detector")
            size = tuple(pipe.image_size)
            sizes.setdefault(size, people(size, args.images))
            rows.append((world, model, size, detector_scores(pipe.pose_detector, *sizes[size])))
        if args.blazepose == "on":
            from spt.estimation import MediaPipePose
            from spt.evaluation.checks import enlarged_detection

            pose = MediaPipePose()
            for size, data in sizes.items():
                rows.append(
                    (
                        world,
                        "BlazePose (reference)",
                        size,
                        detector_scores(lambda image: enlarged_detection(pose, image), *data),
                    )
                )
    print("| world | detector | size | PCKh@0.5 | " + " | ".join(KEYPOINT_NAMES) + " |")
    print("|---" * (len(KEYPOINT_NAMES) + 4) + "|")
    for world, name, size, scores in rows:
        joints = " | ".join("-" if v is None else f"{v:.2f}" for v in scores["per_joint"].values())
        print(f"| {world} | {name} | {size[0]}x{size[1]} | **{scores['pckh']:.3f}** | {joints} |")


if __name__ == "__main__":
    main()
