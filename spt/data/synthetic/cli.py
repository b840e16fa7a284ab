"""``python -m spt.data.synthetic``: write a dataset (and a sample grid, examples) to disk."""

from __future__ import annotations

from ...cli import ArgumentParser
from .dataset import make_dataset, sample_grid, write_examples
from .identity import SPLITS
from .worlds import WORLDS, make_people

MIN_SIDE, MAX_SIDE = 16, 1024  # DeepFashion's 256x176 and the paper's 256x256 fit; 20000x20000 took 6 GB in 40 s
MAX_IDENTITIES, MAX_POSES = 100_000, 64


def main(argv=None) -> None:
    parser = ArgumentParser(prog="python -m spt.data.synthetic", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write a datasets.Dataset here (save_to_disk)")
    parser.add_argument("--identities", type=int, default=200, help=f"people, 1 to {MAX_IDENTITIES:,}")
    parser.add_argument("--poses", type=int, default=8, help=f"poses per identity, 1 to {MAX_POSES}")
    parser.add_argument(
        "--size", type=int, nargs=2, default=(128, 128), metavar=("H", "W"), help=f"{MIN_SIDE} to {MAX_SIDE} each"
    )
    parser.add_argument("--seed", type=int, default=0, help="a whole number >= 0")
    parser.add_argument("--split", default="train", choices=sorted(SPLITS))
    parser.add_argument(
        "--world",
        default="2d",
        choices=WORLDS,
        help="2d (flat painted people), 3d (clothed Anny bodies in perspective), mixed or 3d-v1 (the first 3D world)",
    )
    parser.add_argument("--grid", help="also write a PNG grid of samples (image | skeleton | parsing)")
    parser.add_argument("--examples", help="also write example files (image, keypoints JSON, parsing PNG) here")
    args = parser.parse_args(argv)
    if not (args.out or args.grid or args.examples):
        parser.error("nothing to do: give --out, --grid or --examples")
    if not all(MIN_SIDE <= side <= MAX_SIDE for side in args.size):
        parser.error(
            f"--size must be H W between {MIN_SIDE} and {MAX_SIDE} pixels each, got {' '.join(map(str, args.size))}"
        )
    if not 1 <= args.identities <= MAX_IDENTITIES:
        parser.error(f"--identities must be between 1 and {MAX_IDENTITIES:,}, got {args.identities}")
    if not 1 <= args.poses <= MAX_POSES:
        parser.error(f"--poses must be between 1 and {MAX_POSES}, got {args.poses}")
    if args.seed < 0:
        parser.error(f"--seed must be a whole number >= 0, got {args.seed}")
    people = make_people(args.world, tuple(args.size), args.seed, args.split)
    if args.grid:
        sample_grid(people, list(range(min(args.identities, 6))), 4).save(args.grid)
        print(f"wrote {args.grid}")
    if args.examples:
        names = write_examples(args.examples, people, list(range(min(args.identities, 4))), 2)
        print(f"wrote {len(names)} examples to {args.examples}")
    if args.out:
        ds = make_dataset(
            args.identities, args.poses, tuple(args.size), args.seed, args.split, progress=True, world=args.world
        )
        ds.save_to_disk(args.out)
        print(f"wrote {len(ds)} samples to {args.out}")


if __name__ == "__main__":
    main()
