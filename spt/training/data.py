"""Training data: an in-memory pool of people with their pseudo labels, sampled unpaired.

Each training sample is a source (I_s, P_s, S_s) and a target pose P*_t with its pseudo label S*_t, both
taken from the candidate the search chose (``spt.search``). The true target image is never used for
training; for SyntheticPeople it exists, and validation shows it.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass

import numpy as np
import torch

from ..data.synthetic import make_dataset, make_people
from ..processor import uint8_to_tensor
from ..search import add_pseudo_labels
from .config import TrainConfig


@dataclass
class Pool:
    """images (N, H, W, 3) uint8, keypoints (N, 18, 2), parsings (N, H, W) uint8, pseudo (N,) the row of each
    sample's pseudo label (-1 when not searched, e.g. for the pose detector). ``paired``: pseudo is the same
    person in another pose, whose image the batches then carry as ``target_image`` (the ceiling, not SPT)."""

    images: np.ndarray
    keypoints: np.ndarray
    parsings: np.ndarray
    pseudo: np.ndarray
    paired: bool = False

    def __len__(self) -> int:
        return len(self.images)

    def trainable_rows(self, needs_target: bool) -> np.ndarray:
        """Rows a stage can train on: all, or those whose search found a pseudo label."""
        rows = np.arange(len(self)) if not needs_target else np.nonzero(self.pseudo >= 0)[0]
        if len(rows) == 0:
            raise ValueError(
                "no sample of the pool has a pseudo label: the search found no allowed candidate "
                "(a dataset of too few or too similar poses)"
            )
        return rows

    def batch(self, rows: np.ndarray, device) -> dict[str, torch.Tensor]:
        """Tensors for ``rows``: source image in [-1, 1], keypoints, parsing, and the pseudo target."""
        out = {
            "source_image": uint8_to_tensor(self.images[rows]),
            "source_keypoints": torch.from_numpy(self.keypoints[rows]),
            "source_parsing": torch.from_numpy(self.parsings[rows]).long(),
        }
        if (self.pseudo[rows] >= 0).all():
            target = self.pseudo[rows]
            out["target_keypoints"] = torch.from_numpy(self.keypoints[target])
            out["target_parsing"] = torch.from_numpy(self.parsings[target]).long()
            if self.paired:
                out["target_image"] = uint8_to_tensor(self.images[target])
        return {k: v.to(device) for k, v in out.items()}


def sample_rows(rows: np.ndarray, batch_size: int, seed: int, step: int, process: int) -> np.ndarray:
    """One step's batch drawn from ``rows``: a function of (seed, step, process) only, so a resumed run
    draws exactly the batches it would have drawn."""
    rng = np.random.default_rng([seed, step, process])
    return rows[rng.integers(0, len(rows), size=batch_size)]


def pool_cache_path(config: TrainConfig) -> str | None:
    """Where ``config.cache_dir`` keeps the pool with its pseudo labels (None without a cache_dir)."""
    if not config.cache_dir:
        return None
    source = (
        f"{config.world}-{config.num_identities}x{config.poses_per_identity}-seed{config.data_seed}"
        if config.dataset == "synthetic"
        else hashlib.sha1(os.path.abspath(config.data_dir).encode()).hexdigest()[:10]
    )
    h, w = config.image_size
    sh, sw = config.search_size
    return os.path.join(config.cache_dir, f"pool-v3-{config.dataset}-{source}-{h}x{w}-search{sh}x{sw}.npz")


def paired_targets(identity_ids: np.ndarray) -> np.ndarray:
    """For the ceiling: each row's target is the next row of the same identity (cyclically)."""
    ids = np.asarray(identity_ids)
    target = np.full(len(ids), -1)
    for ident in np.unique(ids):
        rows = np.nonzero(ids == ident)[0]
        if len(rows) > 1:
            target[rows] = np.roll(rows, -1)
    return target


def load_pool(config: TrainConfig, accelerator=None, progress: bool = True) -> Pool:
    """The training pool of ``config.dataset`` with pseudo labels (the search index is cached in output_dir).

    With ``config.cache_dir`` the pool and its pseudo labels are read from there when a previous stage wrote
    them, else built, searched and written there (then for every stage, the pose detector's included).
    """
    cache = pool_cache_path(config)
    if cache and os.path.isfile(cache):
        try:
            with np.load(cache) as saved:
                pool = Pool(saved["images"], saved["keypoints"], saved["parsings"], saved["pseudo"])
                identities = saved["identities"]
        except (zipfile.BadZipFile, OSError, KeyError, ValueError, EOFError) as err:
            raise ValueError(
                f"the cached pool {cache} is truncated or corrupt ({type(err).__name__}: {err}); delete it and run "
                "again to build it anew"
            ) from None
    else:
        pool, identities = _build_pool(config, cache, accelerator, progress)
    if config.supervision == "paired":
        pool = Pool(pool.images, pool.keypoints, pool.parsings, paired_targets(identities), paired=True)
    return pool


def _build_pool(config: TrainConfig, cache: str | None, accelerator, progress: bool) -> tuple[Pool, np.ndarray]:
    if config.dataset != "synthetic":
        from ..data import fashion

        dataset = fashion.load_training_dataset(config.dataset, config.data_dir, config.image_size)
    else:
        dataset = make_dataset(
            config.num_identities,
            config.poses_per_identity,
            size=config.image_size,
            seed=config.data_seed,
            split="train",
            progress=progress,
            world=config.world,
        )
    if config.stage != "pose_detector" or cache:
        folder = config.cache_dir or config.output_dir
        os.makedirs(folder, exist_ok=True)
        name = f"{config.dataset}-{config.world}" if config.dataset == "synthetic" else config.dataset
        index_path = os.path.join(folder, f"search_index_{name}_{len(dataset)}.safetensors")
        dataset = add_pseudo_labels(
            dataset, index_path=index_path, search_size=config.search_size, accelerator=accelerator, progress=progress
        )
    images = np.stack([np.asarray(im, dtype=np.uint8) for im in dataset["image"]])
    parsings = np.stack([np.asarray(p, dtype=np.uint8) for p in dataset["parsing"]])
    keypoints = np.asarray(dataset["keypoints"], dtype=np.float32)
    pseudo = np.asarray(dataset["pseudo_index"]) if "pseudo_index" in dataset.column_names else np.full(len(images), -1)
    identities = np.asarray(dataset["identity_id"]) if "identity_id" in dataset.column_names else np.arange(len(images))
    if cache and (accelerator is None or accelerator.is_main_process):
        partial = cache + f".{os.getpid()}.tmp.npz"
        np.savez(partial, images=images, keypoints=keypoints, parsings=parsings, pseudo=pseudo, identities=identities)
        os.replace(partial, cache)  # atomic: a reader never sees half a pool
    return Pool(images, keypoints, parsings, pseudo), identities


def validation_pairs(config: TrainConfig) -> list[tuple[dict, dict]]:
    """Fixed held-out (source, truth) pairs: one validation-split person in two poses (SyntheticPeople only)."""
    if config.dataset != "synthetic":
        return []
    people = make_people(config.world, config.image_size, seed=config.data_seed, split="validation")
    return [people.pair(i) for i in range(config.num_validation_pairs)]


def held_out_pose_images(config: TrainConfig, count: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Images and keypoints the training never sees, at the training size, for the pose detector's check:
    SyntheticPeople's validation people, or a PATN folder's test split."""
    if config.dataset == "synthetic":
        from ..evaluation.detector import held_out_people

        return held_out_people(config.image_size, count, seed=config.data_seed, world=config.world)
    from ..data.fashion import held_out_samples

    return held_out_samples(config.data_dir, config.image_size, count)
