"""Print SyntheticPeople rendering speed (samples/s) on one core.

    python benchmarks/synthetic_speed.py [--samples 500] [--world 2d 3d]

Target (issue #2): at least 300 samples/s at 128x128 on one core. Counts the whole render
(identity and pose sampling, kinematics, painting, LIP-20 -> SPT-10 merge), not PNG encoding. The 3D world
(issue #24: the 1,200 x 6 pool at 128x64 within 15 minutes on one core, i.e. >= 8 samples/s) counts the
person's rest shape once per 4 poses, as a pool of several poses per person does.
"""

import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

from spt.data.synthetic import WORLDS, make_people  # noqa: E402


def measure(world: str, size, samples: int) -> float:
    people = make_people(world, size, seed=0, split="train")
    for i in range(20):  # warm-up
        people.render(i, i)
    start = time.perf_counter()
    person = None
    for i in range(samples):
        if i % 4 == 0:
            person = people.identity(1000 + i // 4)
        people.render(person, i)
    return samples / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--world", nargs="+", default=["2d", "3d"], choices=WORLDS)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(f"{'world':>6} {'size (HxW)':>12} {'samples/s':>10}")
    for world in args.world:
        for size in ((128, 128), (256, 176), (128, 64), (256, 256)):
            print(f"{world:>6} {size[0]:>5} x {size[1]:<4} {measure(world, size, args.samples):>10.1f}")


if __name__ == "__main__":
    main()
