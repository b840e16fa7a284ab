"""Print SyntheticPeople rendering speed (samples/s) on one core.

    python benchmarks/synthetic_speed.py [--samples 500]

Target (issue #2): at least 300 samples/s at 128x128 on one core. Counts the whole render
(identity and pose sampling, kinematics, painting, LIP-20 -> SPT-10 merge), not PNG encoding.
"""

import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

from spt.data.synthetic import SyntheticPeople  # noqa: E402


def measure(size, samples: int) -> float:
    people = SyntheticPeople(size, seed=0, split="train")
    for i in range(20):  # warm-up
        people.render(i, i)
    start = time.perf_counter()
    for i in range(samples):
        people.render(i // 4, i)
    return samples / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(f"{'size (HxW)':>12} {'samples/s':>10}")
    for size in ((128, 128), (256, 176), (128, 64), (256, 256)):
        print(f"{size[0]:>5} x {size[1]:<4} {measure(size, args.samples):>10.0f}")


if __name__ == "__main__":
    main()
