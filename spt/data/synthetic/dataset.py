"""SyntheticPeople as a datasets.Dataset, same-person pairs, sample grids and example files."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ...pose import NUM_KEYPOINTS
from .render import SyntheticPeople
from .worlds import make_people


def dataset_features():
    from datasets import Array2D, Features, Value
    from datasets import Image as ImageFeature

    return Features(
        {
            "image": ImageFeature(),
            "parsing": ImageFeature(),
            "parsing_lip": ImageFeature(),
            "keypoints": Array2D(shape=(NUM_KEYPOINTS, 2), dtype="float32"),
            "identity_id": Value("int32"),
            "pose_id": Value("int32"),
            "yaw": Value("float32"),
        }
    )


def _records(num_identities, poses_per_identity, size, seed, split, progress, world):
    from tqdm.auto import tqdm

    people = make_people(world, size, seed, split)
    total = num_identities * poses_per_identity
    with tqdm(total=total, desc=f"SyntheticPeople {world} {split}", disable=not progress, unit="img") as bar:
        for identity_id in range(num_identities):
            ident = people.identity(identity_id)
            for k in range(poses_per_identity):
                sample = people.render(ident, identity_id * poses_per_identity + k)
                sample["image"] = Image.fromarray(sample["image"])
                sample["parsing"] = Image.fromarray(sample["parsing"], mode="L")
                sample["parsing_lip"] = Image.fromarray(sample["parsing_lip"], mode="L")
                yield sample
                bar.update(1)


def make_dataset(
    num_identities: int,
    poses_per_identity: int,
    size: tuple[int, int] = (128, 128),
    seed: int = 0,
    split: str = "train",
    progress: bool = False,
    world: str = "2d",
):
    """SyntheticPeople as a ``datasets.Dataset`` (``world``: "2d", "3d" or "mixed", ``worlds.make_people``).

    Columns: ``image`` and ``parsing`` (SPT-10 label values) / ``parsing_lip`` (LIP-20) as Image
    features, ``keypoints`` (18, 2) float32, ``identity_id``, ``pose_id``, ``yaw``. Sample
    ``i * poses_per_identity + k`` is identity ``i`` in pose ``i * poses_per_identity + k``.
    ``save_to_disk`` and ``push_to_hub`` work on the result.
    """
    from datasets import Dataset

    if num_identities < 1 or poses_per_identity < 1:
        raise ValueError(f"need at least one identity and one pose, got {num_identities} x {poses_per_identity}")
    records = list(_records(num_identities, poses_per_identity, tuple(size), seed, split, progress, world))
    columns = {name: [r[name] for r in records] for name in dataset_features()}
    return Dataset.from_dict(columns, features=dataset_features(), split=split)


def make_pairs(identity_ids, num_pairs: int | None = None, seed: int = 0) -> list[tuple[int, int]]:
    """(source, target) row pairs of the same identity in different rows (so different poses).

    ``identity_ids`` is the dataset's ``identity_id`` column (or the dataset itself). With ``num_pairs``
    None, every ordered pair within each identity; else that many, drawn without replacement,
    deterministic for ``seed``.
    """
    if hasattr(identity_ids, "column_names"):
        identity_ids = identity_ids["identity_id"]
    ids = np.asarray(list(identity_ids))
    groups: dict[int, list[int]] = {}
    for row, ident in enumerate(ids.tolist()):
        groups.setdefault(ident, []).append(row)
    pairs = [(a, b) for rows in groups.values() for a in rows for b in rows if a != b]
    if not pairs:
        raise ValueError("no identity appears in two rows: pairs need at least two poses per identity")
    if num_pairs is None or num_pairs >= len(pairs):
        return pairs
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pairs), size=num_pairs, replace=False)
    return [pairs[i] for i in sorted(chosen)]


def sample_grid(people: SyntheticPeople, identity_ids, poses_per_identity: int = 4) -> Image.Image:
    """A figure: per identity, each pose as image | skeleton overlay | SPT-10 parsing overlay."""
    from ...parsing import overlay
    from ...pose import draw_skeleton

    height, width = people.size
    cols = poses_per_identity * 3
    grid = Image.new("RGB", (cols * width + (poses_per_identity - 1) * 4, len(identity_ids) * height), "white")
    for row, ident in enumerate(identity_ids):
        for k in range(poses_per_identity):
            s = people.render(ident, ident * poses_per_identity + k)
            x0 = k * (3 * width + 4)
            grid.paste(Image.fromarray(s["image"]), (x0, row * height))
            grid.paste(draw_skeleton(s["image"], s["keypoints"]), (x0 + width, row * height))
            grid.paste(overlay(s["image"], s["parsing"], 0.7), (x0 + 2 * width, row * height))
    return grid


def write_examples(out_dir: str, people: SyntheticPeople, identity_ids, poses_per_identity: int = 2) -> list[str]:
    """Write ``<name>.png``, ``<name>.json`` (keypoints) and ``<name>_parsing.png`` per sample."""
    from ...parsing import save_parsing
    from ...pose import save_keypoints_json

    os.makedirs(out_dir, exist_ok=True)
    names = []
    for ident in identity_ids:
        for k in range(poses_per_identity):
            s = people.render(ident, ident * poses_per_identity + k)
            name = f"synthetic_{people.split}_id{ident:04d}_pose{s['pose_id']:04d}"
            Image.fromarray(s["image"]).save(os.path.join(out_dir, f"{name}.png"))
            save_keypoints_json(os.path.join(out_dir, f"{name}.json"), s["keypoints"], people.size)
            save_parsing(os.path.join(out_dir, f"{name}_parsing.png"), s["parsing"])
            names.append(name)
    return names
