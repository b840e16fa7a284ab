"""DeepFashion and Market-1501 in the PATN / Deformable-GAN layout that every pose-transfer repo uses.

A dataset folder holds, per split (``train``/``test``):

* an image folder: ``<split>/`` (PATN's DeepFashion ``fashion_resize/<split>``), ``bounding_box_<split>/``
  (Market-1501) or ``images/<split>/``;
* ``*-annotation-<split>.csv``: ``name:keypoints_y:keypoints_x`` with -1 for a missing joint
  (``spt.pose.read_patn_csv``);
* ``*-pairs-<split>.csv``: ``from,to`` rows of image names (the evaluation pairs);
* parsing maps ``parsing/<split>/<stem>.png|.npy`` (SPT-10, the official SPT data's scheme, by default;
  ``scheme="lip20"`` or ``"atr18"`` merges a public parser's labels to SPT-10).

``load_split`` reads one into a ``datasets.Dataset`` with the columns ``make_dataset`` writes (``image``,
``parsing`` as Image features, ``keypoints`` (18, 2)) plus ``name``; images of another size are resized
to the requested one with their keypoints and parsing. ``write_split`` writes such a Dataset back to the
layout. The same data can come from a ``datasets`` Hub id or a local ``imagefolder`` with
``metadata.jsonl`` (``load_training_dataset``).
"""

from __future__ import annotations

import argparse
import csv
import glob
import os

import numpy as np
from PIL import Image

from ..parsing import load_parsing, save_parsing
from ..pose import NUM_KEYPOINTS, read_patn_csv, validate_keypoints, write_patn_csv
from ..processor import SPTImageProcessor, open_photo

SIZES = {"deepfashion": (256, 256), "deepfashion176": (256, 176), "market": (128, 64)}
IMAGE_DIRS = ("{split}", "bounding_box_{split}", "images/{split}", "fashion_resize/{split}")
PARSING_DIRS = ("parsing/{split}", "{split}_parsing", "parsing")


def _find_one(root: str, pattern: str, what: str) -> str:
    hits = sorted(glob.glob(os.path.join(root, pattern)))
    if not hits:
        raise FileNotFoundError(f"no {what} in {root} (expected a file matching {pattern!r})")
    if len(hits) > 1:
        raise ValueError(f"several {what} files in {root}: {[os.path.basename(h) for h in hits]}; keep one")
    return hits[0]


def _find_dir(root: str, patterns: tuple[str, ...], split: str, what: str, required: bool = True) -> str | None:
    for pattern in patterns:
        path = os.path.join(root, pattern.format(split=split))
        if os.path.isdir(path):
            return path
    if required:
        raise FileNotFoundError(
            f"no {what} folder for split {split!r} in {root} (looked for {[p.format(split=split) for p in patterns]})"
        )
    return None


def read_pairs_csv(path: str) -> list[tuple[str, str]]:
    """``from,to`` rows (a header row is skipped); a malformed row raises a ValueError naming file:line."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"pairs file not found: {path}")
    pairs = []
    with open(path, newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or (number == 1 and [c.strip() for c in row] == ["from", "to"]):
                continue
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                raise ValueError(f"{path}:{number}: expected 'from,to' (two image names), got {','.join(row)!r}")
            pairs.append((row[0].strip(), row[1].strip()))
    return pairs


def write_pairs_csv(path: str, pairs) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["from", "to"])
        writer.writerows(pairs)


def _stem(name: str) -> str:
    return os.path.splitext(name)[0]


def load_sample(
    root: str,
    split: str,
    name: str,
    keypoints: np.ndarray,
    size: tuple[int, int] | None,
    scheme: str = "spt10",
    image_dir: str | None = None,
    parsing_dir: str | None = None,
) -> dict:
    """One image with its keypoints and SPT-10 parsing, resized to ``size`` (keypoints and parsing with it)."""
    image_dir = image_dir or _find_dir(root, IMAGE_DIRS, split, "image")
    path = os.path.join(image_dir, name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image {name!r} of the annotations is missing from {image_dir}")
    image = Image.fromarray(open_photo(path))
    frame = (image.height, image.width)
    keypoints = validate_keypoints(keypoints, frame, name=f"keypoints of {name}")
    parsing = None
    parsing_dir = (
        parsing_dir if parsing_dir is not None else _find_dir(root, PARSING_DIRS, split, "parsing", required=False)
    )
    if parsing_dir is not None:
        for ext in (".png", ".npy"):
            candidate = os.path.join(parsing_dir, _stem(name) + ext)
            if os.path.isfile(candidate):
                parsing = load_parsing(candidate, scheme)
                break
        if parsing is None:
            raise FileNotFoundError(f"no parsing for {name} in {parsing_dir} ({_stem(name)}.png or .npy)")
        if parsing.shape != frame:
            raise ValueError(f"parsing of {name} is {parsing.shape} but the image is {frame}")
    image, keypoints, parsing = np.asarray(image), keypoints, parsing
    if size is not None:  # DeepFashion's usual central crop of its white-padded photos, then resized
        image, keypoints, parsing, _, _ = SPTImageProcessor(size).fit(image, keypoints, parsing, around_person=False)
    return {"name": name, "image": image, "keypoints": keypoints, "parsing": parsing}


def load_split(
    root: str,
    split: str = "train",
    size: tuple[int, int] | None = None,
    *,
    scheme: str = "spt10",
    progress: bool = True,
):
    """A PATN-layout split as a ``datasets.Dataset`` (image, keypoints, parsing, name)."""
    from datasets import Array2D, Dataset, Features, Value
    from datasets import Image as ImageFeature
    from tqdm.auto import tqdm

    if not os.path.isdir(root):
        raise FileNotFoundError(f"dataset folder not found: {root}")
    annotations = read_patn_csv(_find_one(root, f"*-annotation-{split}.csv", f"{split} annotation CSV"))
    image_dir = _find_dir(root, IMAGE_DIRS, split, "image")
    parsing_dir = _find_dir(root, PARSING_DIRS, split, "parsing", required=False)
    if parsing_dir is None:
        raise FileNotFoundError(
            f"no parsing folder for split {split!r} in {root}: SPT needs parsing maps "
            f"(parsing/{split}/<name>.png); `python -m spt.annotate` makes them"
        )

    def rows():
        for name, kp in tqdm(annotations.items(), desc=f"{os.path.basename(root)} {split}", disable=not progress):
            s = load_sample(root, split, name, kp, size, scheme, image_dir, parsing_dir)
            yield {
                "name": name,
                "image": Image.fromarray(s["image"]),
                "parsing": Image.fromarray(s["parsing"]),
                "keypoints": s["keypoints"].astype(np.float32),
            }

    features = Features(
        {
            "name": Value("string"),
            "image": ImageFeature(),
            "parsing": ImageFeature(),
            "keypoints": Array2D(shape=(NUM_KEYPOINTS, 2), dtype="float32"),
        }
    )
    return Dataset.from_list(list(rows()), features=features)


def write_split(dataset, root: str, split: str = "train", *, prefix: str = "fasion-resize", pairs=None) -> None:
    """Write a Dataset (image, parsing, keypoints, optional name) in the PATN layout under ``root``."""
    from tqdm.auto import tqdm

    image_dir = os.path.join(root, split)
    parsing_dir = os.path.join(root, "parsing", split)
    os.makedirs(image_dir, exist_ok=True)
    os.makedirs(parsing_dir, exist_ok=True)
    annotations = {}
    names = dataset["name"] if "name" in dataset.column_names else [f"{i:06d}.jpg" for i in range(len(dataset))]
    for name, row in tqdm(zip(names, dataset), total=len(dataset), desc=f"writing {split}", disable=len(dataset) < 100):
        image = row["image"] if isinstance(row["image"], Image.Image) else Image.fromarray(np.asarray(row["image"]))
        image.convert("RGB").save(os.path.join(image_dir, name), quality=95)
        save_parsing(os.path.join(parsing_dir, _stem(name) + ".png"), np.asarray(row["parsing"]))
        annotations[name] = np.asarray(row["keypoints"], dtype=np.float32)
    write_patn_csv(os.path.join(root, f"{prefix}-annotation-{split}.csv"), annotations)
    if pairs is not None:
        write_pairs_csv(os.path.join(root, f"{prefix}-pairs-{split}.csv"), pairs)


def load_training_dataset(name: str, data_dir: str, image_size: tuple[int, int]):
    """The training split of ``name`` from a PATN folder, a local ``imagefolder`` with ``metadata.jsonl``
    (columns ``keypoints`` and ``parsing_file_name``), or a ``datasets`` Hub id; resized to ``image_size``."""
    if os.path.isdir(data_dir) and glob.glob(os.path.join(data_dir, "*-annotation-train.csv")):
        return load_split(data_dir, "train", tuple(image_size))
    import datasets

    try:
        if os.path.isdir(data_dir):
            ds = datasets.load_dataset("imagefolder", data_dir=data_dir, split="train")
        else:
            ds = datasets.load_dataset(data_dir, split="train")
    except Exception as err:
        raise ValueError(
            f"could not load {name} from {data_dir!r}: not a PATN folder (no *-annotation-train.csv), "
            f"and datasets could not load it ({type(err).__name__}: {err})"
        ) from err
    missing = {"image", "parsing", "keypoints"} - set(ds.column_names)
    if missing:
        raise ValueError(f"{data_dir} lacks the columns {sorted(missing)} (have {ds.column_names})")
    return ds


def held_out_samples(root: str, size: tuple[int, int], count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` test-split images with their keypoints at ``size`` (the pose detector's held-out check)."""
    annotations = read_patn_csv(_find_one(root, "*-annotation-test.csv", "test annotation CSV"))
    samples = [load_sample(root, "test", name, kp, size) for name, kp in list(annotations.items())[:count]]
    return np.stack([s["image"] for s in samples]), np.stack([s["keypoints"] for s in samples]).astype(np.float32)


def evaluation_pairs(root: str, pairs_csv: str | None, size: tuple[int, int]) -> list[tuple[str, dict, dict]]:
    """The test pairs ``(name, source, target)`` of a PATN folder, each sample at ``size``."""
    pairs_path = (
        pairs_csv if pairs_csv and os.path.isfile(pairs_csv) else _find_one(root, "*-pairs-test.csv", "test pairs CSV")
    )
    annotations = read_patn_csv(_find_one(root, "*-annotation-test.csv", "test annotation CSV"))
    out = []
    for a, b in read_pairs_csv(pairs_path):
        for n in (a, b):
            if n not in annotations:
                raise ValueError(f"{pairs_path}: {n!r} has no keypoints in the test annotations")
        src = load_sample(root, "test", a, annotations[a], size)
        tgt = load_sample(root, "test", b, annotations[b], size)
        out.append((f"{_stem(a)}___{_stem(b)}", src, tgt))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m spt.data.fashion", description="Convert a PATN-layout folder to a datasets folder, or back."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    to_ds = sub.add_parser("to-datasets")
    to_ds.add_argument("root")
    to_ds.add_argument("--split", default="train")
    to_ds.add_argument("--size", type=int, nargs=2, default=None)
    to_ds.add_argument("--scheme", default="spt10", help="label scheme of the parsing maps: spt10, lip20 or atr18")
    to_ds.add_argument("--out", required=True)
    back = sub.add_parser("to-patn")
    back.add_argument("dataset")
    back.add_argument("--split", default="train")
    back.add_argument("--out", required=True)
    back.add_argument("--prefix", default="fasion-resize")
    args = parser.parse_args(argv)
    if args.command == "to-datasets":
        load_split(args.root, args.split, tuple(args.size) if args.size else None, scheme=args.scheme).save_to_disk(
            args.out
        )
    else:
        from datasets import load_from_disk

        write_split(load_from_disk(args.dataset), args.out, args.split, prefix=args.prefix)


if __name__ == "__main__":
    main()
