"""The benchmark runner: generate every test pair with the model and the model-free baselines, score, save.

    python -m spt.evaluation --model pretrained/spt-synthetic --dataset synthetic --pairs 300 --out eval/synthetic
    python -m spt.evaluation --model pretrained/spt-synthetic --photos my_photos/ --out eval/photos

SyntheticPeople's benchmark is a fixed test split of held-out people: pair i is test person i in poses
2i (source) and 2i+1 (target), rendered at the model's size, with the true target image and parsing.
``--photos`` takes a folder of photos instead, which have no true target: each photo (pose and person
estimated as the Space does) is generated in every target pose (the Space's pose gallery by default) and
scored by the checks of ``spt.evaluation.checks`` and by FID/KID against the source photos.

Every method answers the same pairs: the model, copying the source (``copy``), and moving the source part
by part with the affines f_j (``part-warp``); on SyntheticPeople also the true target itself (``truth``),
which gives each metric's ceiling (and the checks' own error).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image
from scipy.stats import spearmanr
from tqdm.auto import tqdm

from ..adapt import AdaptConfig, adapt_config_from_json, check_adapt_steps
from ..cli import ArgumentParser, device_problem
from ..data.synthetic import WORLDS, make_people
from ..estimation import PersonEstimator, detector_of, mediapipe_available
from ..files import atomic_write, list_images
from ..parsing import PALETTE
from ..processor import SPTImageProcessor, open_photo, tensor_to_uint8, uint8_to_tensor
from .baselines import part_warp_baseline
from .checks import CHECKS, PhotoChecks
from .detector import detect
from .distribution import NO_LOGITS, FeatureSets, InceptionUnavailable
from .lpips import LPIPS
from .metrics import mask_ssim, mean_iou, pckh, person_overlap, pixel_accuracy, psnr, ssim

BASELINES = ("copy", "part-warp")


@dataclass
class Pair:
    name: str
    source: dict
    target: dict  # keypoints always; image and parsing when the truth is known


MAX_PAIRS = 10_000  # the SyntheticPeople benchmark publishes 300; DeepFashion's test set is 8,570


class SyntheticPairs(Sequence):
    """The SyntheticPeople benchmark's pairs, rendered when read (the evaluation reads a batch at a time), so a
    long run holds one batch of images, not all of them. Every pair has its true target (``paired``)."""

    paired = True

    def __init__(self, people, count: int):
        self.people, self.count = people, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.count))]
        index = index + self.count if index < 0 else index
        if not 0 <= index < self.count:
            raise IndexError(f"pair {index} of {self.count}")
        return Pair(f"{index:05d}", *self.people.pair(index))


def synthetic_pairs(
    size: tuple[int, int], num_pairs: int, seed: int = 0, world: str = "2d", split: str = "test"
) -> SyntheticPairs:
    """The SyntheticPeople benchmark of ``world``: person i of ``split``, pose 2i -> pose 2i+1. The test split
    is the published benchmark; the validation split is for choosing settings without looking at it."""
    if not 1 <= num_pairs <= MAX_PAIRS:
        raise ValueError(f"--pairs must be between 1 and {MAX_PAIRS:,}, got {num_pairs:,}")
    return SyntheticPairs(make_people(world, size, seed=seed, split=split), num_pairs)


def synthetic_training_images(size: tuple[int, int], count: int, seed: int = 0, world: str = "2d") -> np.ndarray:
    """FID's real set on SyntheticPeople: ``count`` training-split people (as GFLA/PIDM/CFLD use the training
    images)."""
    people = make_people(world, size, seed=seed, split="train")
    return np.stack([people.render(i, 0)["image"] for i in range(count)])


def photo_pairs(
    folder: str, size: tuple[int, int], targets: list[np.ndarray], estimator: PersonEstimator, progress: bool = True
) -> tuple[list[Pair], dict[str, str]]:
    """Every photo of ``folder`` (pose, person mask and rough parsing estimated, cut to the model's aspect around
    the person and resized, as the Space does) with each target pose. Returns the pairs and, per photo that
    could not be used, why."""
    names, skipped = list_images(folder)
    pairs = []
    for name in tqdm(names, desc="estimating photos", disable=not progress):
        try:
            photo = open_photo(os.path.join(folder, name))
        except (OSError, Image.DecompressionBombError) as err:
            skipped[name] = f"not readable ({err})"
            continue
        estimate = estimator(photo)
        if estimate.missing_essentials:
            skipped[name] = estimate.summary()
            continue
        image, keypoints, parsing, _, _ = SPTImageProcessor(size).fit(
            photo, estimate.keypoints, estimate.parsing, estimate.mask
        )
        source = {"image": image, "keypoints": keypoints, "parsing": parsing}
        stem = os.path.splitext(name)[0]
        pairs += [Pair(f"{stem}_pose{k:02d}", source, {"keypoints": kp}) for k, kp in enumerate(targets)]
    return pairs, skipped


def answer(
    method: str,
    pipe,
    chunk: list[Pair],
    true_parsing: bool,
    precision: str,
    adapt_steps: int = 0,
    adapt_config: AdaptConfig | None = None,
):
    """One method's outputs for a chunk of pairs: (B, H, W, 3) uint8 images and (B, H, W) target parsings
    (None for the parsing-free Baseline). ``model`` is fitted to each source for ``adapt_steps`` steps
    (``spt.adapt``); ``unfitted`` is the same model without fitting."""
    if method in ("model", "unfitted"):
        out = pipe(
            [p.source["image"] for p in chunk],
            [p.target["keypoints"] for p in chunk],
            source_pose=[p.source["keypoints"] for p in chunk],
            source_parsing=[p.source["parsing"] for p in chunk],
            target_parsing=[p.target["parsing"] for p in chunk] if true_parsing else None,
            adapt_steps=adapt_steps if method == "model" else 0,
            adapt_config=adapt_config,
            output_type="pt",
            precision=precision,
        )
        parsing = None if out.target_parsing is None else out.target_parsing.cpu().numpy()
        return tensor_to_uint8(out.images), parsing
    if method == "copy":
        return np.stack([p.source["image"] for p in chunk]), np.stack([p.source["parsing"] for p in chunk])
    if method == "part-warp":
        images, parsings = zip(*(part_warp_baseline(p.source, p.target["keypoints"]) for p in chunk))
        return np.stack(images), np.stack(parsings)
    if method == "truth":
        return np.stack([p.target["image"] for p in chunk]), np.stack([p.target["parsing"] for p in chunk])
    raise ValueError(f"unknown method {method!r}")


@dataclass
class Scores:
    rows: list[dict] = field(default_factory=list)
    pck: list[tuple[int, int]] = field(default_factory=list)

    def summary(self) -> dict:
        # pose_pckh is pooled over joints below, as pckh is, not averaged over pairs.
        keys = dict.fromkeys(
            k for r in self.rows for k in r if k not in ("pair", "pose_pckh", "pose_correct", "pose_total")
        )
        out = {}
        for key in ("ssim", "ssim_51", "mask_ssim", "psnr", "vacated_l1", "parsing_accuracy", "parsing_miou", *keys):
            values = [r[key] for r in self.rows if r.get(key) is not None]
            out[key] = float(np.mean(values)) if values else None
        correct, total = sum(c for c, _ in self.pck), sum(t for _, t in self.pck)
        out["pckh"] = correct / total if total else None
        if any("pose_total" in r for r in self.rows):  # pooled over joints, as pckh
            total = sum(r["pose_total"] for r in self.rows)
            out["pose_pckh"] = sum(r["pose_correct"] for r in self.rows) / total if total else None
        out["pairs"] = len(self.rows)
        return out


def evaluate(
    pipe,
    pairs: list[Pair],
    out_dir: str | None = None,
    batch_size: int = 16,
    progress: bool = True,
    true_parsing: bool = False,
    precision: str = "fp32",
    baselines: tuple[str, ...] = BASELINES,
    features: FeatureSets | str | None = None,
    real_images: np.ndarray | None = None,
    real_set: str = "",
    lpips: LPIPS | str | None = None,
    checks: PhotoChecks | str | None = None,
    adapt_steps: int = 0,
    adapt_config: AdaptConfig | None = None,
) -> dict:
    """Generate and score every pair with the model and ``baselines``; save the model's images and a grid.

    Pairs with a known target (image and parsing) get the paired scores (SSIM, mask-SSIM, PSNR, LPIPS to the
    truth, parsing accuracy/mIoU) and the ``truth`` row; every pair gets the truth-free ``checks`` (a
    ``PhotoChecks``) when given. ``features`` (a ``FeatureSets``) gives FID/KID of each method's outputs against
    ``real_images`` (named ``real_set``), by default the true targets, or the sources where there are none.
    ``lpips`` is the network for LPIPS to the truth. A string in place of a network is the reason it is not
    computed. ``true_parsing`` feeds H_A the true target parsing (the paper's TS-GT); ``precision`` is the
    pipeline's (the published figures are fp32, the reference). ``adapt_steps`` > 0 fits the model to each
    source first (``spt.adapt``, with ``adapt_config``) and scores the same model unfitted beside it
    (``unfitted``), so that the margins compare the two on the same pairs.

    Returns the model's summary at the top level, with ``per_pair``, and ``methods`` (every method's summary),
    ``margins`` (on known targets: the model minus each baseline, paired, with bootstrap intervals),
    ``correlations`` (on known targets, with checks) and ``networks`` (what produced each figure)."""
    paired = getattr(pairs, "paired", None)  # known without rendering every pair (SyntheticPairs)
    if paired is None:
        paired = all(p.target.get("image") is not None and p.target.get("parsing") is not None for p in pairs)
    fitted = ("unfitted",) if adapt_steps else ()
    methods = ("model", *fitted, *baselines, *(("truth",) if paired and not true_parsing else ()))
    own_real = isinstance(features, FeatureSets) and real_images is None  # the pairs' own images, chunk by chunk
    if own_real:
        real_set = real_set or ("the true target images" if paired else "the source images")
    real_count = 0 if own_real else len(real_images) if real_images is not None else 0
    scores = {m: Scores() for m in methods}
    seen: set[bytes] = set()
    if out_dir:
        os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    for start in tqdm(range(0, len(pairs), batch_size), desc="evaluating", disable=not progress):
        chunk = pairs[start : start + batch_size]
        for method in methods:
            images, parsing = answer(method, pipe, chunk, true_parsing, precision, adapt_steps, adapt_config)
            _score_chunk(scores[method], method, pipe, chunk, images, parsing, paired, true_parsing, lpips, checks)
            if isinstance(features, FeatureSets):
                features.add(method, images)
            if method == "model" and out_dir:
                for k, pair in enumerate(chunk):
                    Image.fromarray(images[k]).save(os.path.join(out_dir, "images", f"{pair.name}.png"))
                if start == 0:
                    _grid(chunk, images, parsing).save(os.path.join(out_dir, "grid.png"))
        if own_real:  # each source photo once, not once per target pose
            real = [p.target["image"] if paired else p.source["image"] for p in chunk]
            real = [im for im in real if paired or _first_sight(im, seen)]
            if real:
                features.add("real", np.stack(real))
                real_count += len(real)
    summaries = {m: s.summary() for m, s in scores.items()}
    networks = {}
    if isinstance(features, FeatureSets) and min(len(pairs), real_count) < 2:
        features = f"FID and KID need at least 2 images per set, got {len(pairs)} pairs and {real_count} real images"
    if isinstance(features, FeatureSets):
        if not own_real:
            for chunk in np.array_split(real_images, max(1, len(real_images) // batch_size)):
                features.add("real", chunk)
        networks["fid"] = f"{features.network_name}; real set: {real_set} ({real_count})"
        for method, summary in summaries.items():
            summary["fid"] = features.fid(method, "real")
            summary["kid"], summary["kid_std"] = features.kid(method, "real")
    else:
        reason = f"not computed: {features}" if features else "not computed"
        for summary in summaries.values():
            summary |= {"fid": reason, "kid": reason}
    for summary in summaries.values():
        summary |= {"is": f"not computed: {NO_LOGITS}", "mask_is": f"not computed: {NO_LOGITS}"}
    if isinstance(lpips, LPIPS):
        packages = ", ".join(
            f"{name} {info['version']}" for name, info in lpips.source.items() if isinstance(info, dict)
        )
        networks["lpips"] = f"LPIPS v0.1 {lpips.net}, converted from {packages}"
    elif paired:
        for summary in summaries.values():
            summary["lpips"] = f"not computed: {lpips}" if lpips else "not computed"
    if isinstance(checks, PhotoChecks):
        networks["checks"] = (
            "BlazePose (mediapipe 0.10.21, pose_landmark_full) for pose_pckh and shape_iou; LPIPS-alex for lpips_person"
        )
    result = summaries["model"] | {"per_pair": scores["model"].rows, "methods": summaries, "networks": networks}
    if paired and isinstance(checks, PhotoChecks):
        result["correlations"] = correlations({m: scores[m].rows for m in methods if m != "truth"})
    if len(pairs) > 1:
        result["margins"] = margins({m: scores[m].rows for m in methods})
    return result


def _first_sight(image: np.ndarray, seen: set[bytes]) -> bool:
    key = hashlib.sha1(image.tobytes()).digest()
    if key in seen:
        return False
    seen.add(key)
    return True


def _score_chunk(scores: Scores, method: str, pipe, chunk, images, parsing, paired, true_parsing, lpips, checks):
    perceptual = None
    if paired and isinstance(lpips, LPIPS):
        with torch.no_grad():
            perceptual = lpips(uint8_to_tensor(images), uint8_to_tensor(np.stack([p.target["image"] for p in chunk])))
    ours = method in ("model", "unfitted") and pipe.pose_detector is not None
    detected = detect(pipe.pose_detector, images) if ours else None
    for k, pair in enumerate(chunk):
        row = {"pair": pair.name}
        if paired:
            truth, person = pair.target["image"], pair.target["parsing"] > 0
            row |= {
                "ssim": ssim(images[k], truth),
                "ssim_51": ssim(images[k], truth, win_size=51) if min(truth.shape[:2]) >= 51 else None,
                "mask_ssim": mask_ssim(images[k], truth, person),
                "psnr": psnr(images[k], truth),
                "vacated_l1": vacated_error(images[k], truth, pair.source["parsing"] > 0, person),
            }
            if perceptual is not None:
                row["lpips"] = float(perceptual[k])
            if parsing is not None and not (true_parsing and method in ("model", "unfitted")):
                row["parsing_accuracy"] = pixel_accuracy(parsing[k], pair.target["parsing"])
                row["parsing_miou"] = mean_iou(parsing[k], pair.target["parsing"])
                row["person_iou"], row["person_missed"] = person_overlap(parsing[k], pair.target["parsing"])
        if isinstance(checks, PhotoChecks):
            # The parsing-free Baseline predicts no target parsing: its shape and colours are read on the pose mask.
            out_parsing = (
                parsing[k] if parsing is not None else _pose_region(pair.target["keypoints"], images.shape[1:3])
            )
            row |= checks(
                pair.source["image"], pair.source["parsing"], images[k], out_parsing, pair.target["keypoints"]
            )
        scores.rows.append(row)
        if detected is not None:
            scores.pck.append(pckh(detected[k], pair.target["keypoints"]))


def vacated_error(image: np.ndarray, truth: np.ndarray, source_person: np.ndarray, target_person: np.ndarray):
    """Mean absolute error (RGB, in [0, 1]) against the truth where the source person stood and the target
    person does not: the background the person leaves, where a model that keeps a ghost of the source
    fails. None when the two persons do not leave any pixel."""
    region = source_person & ~target_person
    if not region.any():
        return None
    diff = np.abs(image.astype(np.float32) - truth.astype(np.float32)) / 255.0
    return float(diff[region].mean())


def _pose_region(keypoints: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from ..pose import pose_mask

    return (pose_mask(keypoints, size)[0] > 0.5).astype(np.uint8) * 3  # all upper clothes: shape only


def correlations(rows_by_method: dict[str, list[dict]]) -> dict:
    """Spearman rank correlation over pairs between each truth-free check and SSIM / LPIPS to the truth: over
    the model's pairs, and pooled over the model's and the generating baselines' (``copy`` is left out: its
    appearance checks are zero by construction). A useful check correlates positively with SSIM and
    negatively with LPIPS (the reverse for a distance such as ΔE or lpips_person)."""
    out = {}
    pooled = [r for m, rs in rows_by_method.items() if m != "copy" for r in rs]
    for scope, rows in (("model", rows_by_method["model"]), ("pooled", pooled)):
        table = {}
        for check in CHECKS:
            table[check] = {}
            for truth in ("ssim", "lpips"):
                both = [(r[check], r[truth]) for r in rows if r.get(check) is not None and r.get(truth) is not None]
                if len(both) < 3 or len({a for a, _ in both}) < 2 or len({b for _, b in both}) < 2:
                    table[check][truth] = None
                    continue
                table[check][truth] = float(spearmanr(*zip(*both)).statistic)
        out[scope] = table
    return out


# key, label, better: the paired scores (against a known target), then the truth-free checks (photos too).
MARGINS = (
    ("ssim", "SSIM", 1),
    ("mask_ssim", "mask-SSIM", 1),
    ("lpips", "LPIPS", -1),
    ("pose_pckh", "pose kept (BlazePose PCKh)", 1),
    ("shape_iou", "shape IoU", 1),
    ("lpips_person", "person LPIPS", -1),
)
MARGIN_RESAMPLES = 10_000


MIN_INTERVAL_PAIRS = 10  # below this a margin is stated without its bootstrap interval


def _finite(value) -> bool:
    return isinstance(value, (int, float, np.floating)) and math.isfinite(value)


def margins(rows_by_method: dict[str, list[dict]], resamples: int = MARGIN_RESAMPLES, seed: int = 0) -> dict:
    """The model minus each baseline, paired over pairs, for each of ``MARGINS`` that both report (SSIM, mask-SSIM
    and LPIPS against a known target; pose kept, shape IoU and person LPIPS of the truth-free checks, pose kept
    per pair): the mean difference, its 95% bootstrap interval (``resamples`` resamples of the pairs, seeded) and
    ``ahead``, the share of pairs where the model is better (higher, or lower for LPIPS). Pairs where either side
    lacks a metric are left out of it."""
    model = rows_by_method["model"]
    rng = np.random.default_rng(seed)
    out = {}
    for method, rows in rows_by_method.items():
        if method in ("model", "truth"):
            continue
        if [r["pair"] for r in rows] != [r["pair"] for r in model]:
            raise ValueError(f"{method}'s pairs are not the model's: paired margins need the same pairs in order")
        out[method] = {}
        for key, _, better in MARGINS:
            both = [
                (a[key], b[key])
                for a, b in zip(model, rows)
                if _finite(a.get(key)) and _finite(b.get(key))  # a NaN would count as "not ahead" on either side
            ]
            if len(both) < 2:
                continue
            diff = np.array([a - b for a, b in both])
            low, high = _bootstrap_interval(diff, resamples, rng)
            out[method][key] = {
                "mean": float(diff.mean()),
                "low": low,
                "high": high,
                "ahead": float(np.mean(better * diff > 0)),
            }
    return out


def _bootstrap_interval(diff: np.ndarray, resamples: int, rng: np.random.Generator) -> tuple:
    """The 95% bootstrap interval of ``diff``'s mean, or (None, None) under ``MIN_INTERVAL_PAIRS`` values: a
    bootstrap of a handful of pairs bounds nothing."""
    if len(diff) < MIN_INTERVAL_PAIRS:
        return None, None
    # Resampled in chunks of at most ~4M indices, so DeepFashion's 8,570 pairs do not hold 10,000 x 8,570.
    chunk = max(1, 4_000_000 // len(diff))
    means = np.concatenate(
        [
            diff[rng.integers(0, len(diff), (min(chunk, resamples - start), len(diff)))].mean(1)
            for start in range(0, resamples, chunk)
        ]
    )
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def _margin_cell(margin: dict) -> str:
    if margin["low"] is None:
        return f"{margin['mean']:+.4f} [no interval: under {MIN_INTERVAL_PAIRS} pairs], ahead {margin['ahead']:.0%}"
    return "{mean:+.4f} [{low:+.4f}, {high:+.4f}], ahead {ahead:.0%}".format(**margin)


def _grid(pairs: list[Pair], generated: np.ndarray, parsing: np.ndarray | None) -> Image.Image:
    """source | predicted parsing (black if none) | generated | truth | true parsing (black where unknown), one
    row per pair (first batch)."""
    h, w = generated.shape[1:3]
    rows = pairs[:8]
    blank = np.zeros_like(generated[0])
    grid = Image.new("RGB", (5 * w, len(rows) * h))
    for r, pair in enumerate(rows):
        predicted = PALETTE[parsing[r]] if parsing is not None else blank
        truth = pair.target.get("image")
        true_parsing = PALETTE[pair.target["parsing"]] if pair.target.get("parsing") is not None else blank
        tiles = [pair.source["image"], predicted, generated[r], truth if truth is not None else blank, true_parsing]
        for c, tile in enumerate(tiles):
            grid.paste(Image.fromarray(tile), (c * w, r * h))
    return grid


def _photo_grid(pairs: list[Pair], per_photo: int, out_dir: str) -> Image.Image:
    """One row per photo: the source as the model sees it, then its output in every target pose."""
    h, w = pairs[0].source["image"].shape[:2]
    rows = len(pairs) // per_photo
    grid = Image.new("RGB", ((per_photo + 1) * w, rows * h))
    for r in range(rows):
        first = pairs[r * per_photo]
        grid.paste(Image.fromarray(first.source["image"]), (0, r * h))
        for c in range(per_photo):
            with Image.open(os.path.join(out_dir, "images", f"{pairs[r * per_photo + c].name}.png")) as image:
                grid.paste(image, ((c + 1) * w, r * h))
    return grid


ROWS = [
    ("SSIM (PATN, sigma 1.5)", "ssim"),
    ("SSIM (win 51, GFLA/PIDM)", "ssim_51"),
    ("mask-SSIM", "mask_ssim"),
    ("L1 where the source person left (ghost)", "vacated_l1"),
    ("PSNR (dB)", "psnr"),
    ("LPIPS-alex to the truth", "lpips"),
    ("FID", "fid"),
    ("KID x 1000", "kid"),
    ("IS", "is"),
    ("mask-IS", "mask_is"),
    ("parsing accuracy", "parsing_accuracy"),
    ("parsing mIoU", "parsing_miou"),
    ("parsing person IoU (silhouette)", "person_iou"),
    ("true person pixels parsed as background", "person_missed"),
    ("PCKh@0.5, our detector", "pckh"),
    ("PCKh@0.5, BlazePose (pose kept)", "pose_pckh"),
    ("shape IoU (BlazePose mask vs target parsing)", "shape_iou"),
    ("ΔE upper clothes", "delta_e_upper"),
    ("ΔE pants/skirt", "delta_e_lower"),
    ("ΔE hair", "delta_e_hair"),
    ("ΔE skin", "delta_e_skin"),
    ("LPIPS source person vs output person", "lpips_person"),
]


def markdown_table(result: dict, title: str) -> str:
    """One column per method, one row per metric that any method reports; reasons for what was not computed."""
    methods = result.get("methods") or {"model": result}

    def fmt(key, value):
        if value is None:
            return "n/a"
        if isinstance(value, str):
            return "not computed"
        return f"{value * 1000:.2f}" if key == "kid" else f"{value:.3f}"

    lines = [f"### {title}", "", "| metric | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    reasons = {}
    for label, key in ROWS:
        values = [m.get(key) for m in methods.values()]
        if all(v is None for v in values):
            continue
        lines.append(f"| {label} | " + " | ".join(fmt(key, v) for v in values) + " |")
        reasons |= {label: v.removeprefix("not computed: ") for v in values if isinstance(v, str)}
    text = "\n".join(lines) + "\n"
    if result.get("networks"):
        text += "\n" + "\n".join(f"- {k}: {v}" for k, v in result["networks"].items()) + "\n"
    if reasons:
        text += "\n" + "\n".join(f"- {label} not computed: {why}" for label, why in reasons.items()) + "\n"
    if any(result.get("margins", {}).values()):
        shown = [(k, label) for k, label, _ in MARGINS if any(k in t for t in result["margins"].values())]
        text += (
            f"\nThe model minus each baseline, paired over the {result['pairs']} pairs: mean [95% bootstrap interval, "
            f"{MARGIN_RESAMPLES:,} resamples], and the share of pairs where the model is ahead:\n\n| baseline | "
            + " | ".join(label for _, label in shown)
            + " |\n"
            + "|---" * (len(shown) + 1)
            + "|\n"
        )
        for method, table in result["margins"].items():
            cells = [_margin_cell(table[k]) if k in table else "n/a" for k, _ in shown]
            text += f"| {method} | " + " | ".join(cells) + " |\n"
    if result.get("correlations"):
        text += (
            "\nSpearman rank correlation over pairs of each truth-free check with SSIM / LPIPS to the truth "
            "(the model's pairs; pooled over the model's and part-warp's):\n\n| check | model: SSIM | model: LPIPS | "
            "pooled: SSIM | pooled: LPIPS |\n|---|---|---|---|---|\n"
        )
        for check in CHECKS:
            cells = [
                result["correlations"][scope][check][t] for scope in ("model", "pooled") for t in ("ssim", "lpips")
            ]
            text += f"| {check} | " + " | ".join("n/a" if c is None else f"{c:+.2f}" for c in cells) + " |\n"
    return text


def _gallery_targets(size: tuple[int, int]) -> list[np.ndarray]:
    from ..space.sources import gallery_keypoints

    return list(gallery_keypoints(tuple(size)))


def _load_targets(path: str, size: tuple[int, int]) -> list[np.ndarray]:
    """Target poses from a JSON file: a list of keypoint lists (18 x [x, y], model pixels)."""
    from ..pose import validate_keypoints

    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, list) or not data:
        raise SystemExit(f"--targets {path}: expected a JSON list of 18x2 keypoint lists")
    return [validate_keypoints(np.asarray(kp, np.float32), size, name=f"{path}[{i}]") for i, kp in enumerate(data)]


def _whole_or_text(text: str):
    """A command line's number as an int where it is one (so that "-3" is named as out of range), else the text."""
    try:
        return int(text)
    except ValueError:
        return text


def main(argv: list[str] | None = None) -> dict:
    from ..pipeline import PRECISIONS, SPTPipeline

    parser = ArgumentParser(
        prog="python -m spt.evaluation", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="a pipeline folder or a Hub repo id")
    parser.add_argument("--dataset", default="synthetic", choices=["synthetic", "deepfashion", "market"])
    parser.add_argument("--data_dir", help="the PATN-layout folder (deepfashion/market)")
    parser.add_argument(
        "--pairs", default="500", help=f"number of SyntheticPeople pairs (1 to {MAX_PAIRS:,}), or a PATN pairs CSV"
    )
    parser.add_argument(
        "--world",
        default="2d",
        choices=list(WORLDS),
        help="SyntheticPeople's world of the pairs: 2d (the first benchmark), 3d, mixed or 3d-v1 (the first 3D world)",
    )
    parser.add_argument(
        "--split",
        default="test",
        choices=["test", "validation"],
        help="SyntheticPeople's split of the pairs: test (the published benchmark) or validation (for choosing "
        "settings; training fits on neither)",
    )
    parser.add_argument("--photos", help="a folder of photos without ground truth: the truth-free checks")
    parser.add_argument(
        "--targets",
        default="gallery",
        help="with --photos: 'gallery' (the Space's 12 poses) or a JSON list of 18x2 keypoints",
    )
    parser.add_argument(
        "--baselines",
        nargs="*",
        default=list(BASELINES),
        choices=list(BASELINES),
        help="model-free methods scored beside the model (none: --baselines)",
    )
    parser.add_argument(
        "--checks",
        default="auto",
        choices=["auto", "on", "off"],
        help="the truth-free checks (BlazePose): auto runs them where mediapipe imports",
    )
    parser.add_argument("--fid", default="on", choices=["on", "off"], help="FID/KID on the offline Inception")
    parser.add_argument("--out", default="eval")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--target_parsing",
        default="predicted",
        choices=["predicted", "truth"],
        help="truth: H_A renders onto the true target parsing (TS-GT); needs known targets",
    )
    parser.add_argument(
        "--precision",
        default="fp32",
        choices=PRECISIONS,
        help="the pipeline's precision; fp32 (default) is the reference of every published figure",
    )
    parser.add_argument(
        "--adapt_steps",
        default="0",
        help="fit the model to each source for this many steps first (spt.adapt; 0: no fitting); the unfitted "
        "model is then scored beside it on the same pairs",
    )
    parser.add_argument(
        "--adapt_config",
        default="{}",
        help="with --adapt_steps: AdaptConfig fields as JSON, e.g. '{\"fit_semantic\": false}' (spt.adapt)",
    )
    args = parser.parse_args(argv)
    try:
        args.adapt_steps = check_adapt_steps(_whole_or_text(args.adapt_steps))
    except ValueError as err:
        parser.error(f"--adapt_steps: {err}")
    try:
        args.adapt_config = adapt_config_from_json(args.adapt_config)
    except ValueError as err:
        parser.error(f"--adapt_config: {err}")
    if args.batch_size < 1:
        parser.error(f"--batch_size must be >= 1, got {args.batch_size}")
    if args.pairs.isascii() and args.pairs.isdigit() and not 1 <= int(args.pairs) <= MAX_PAIRS:
        parser.error(f"--pairs must be between 1 and {MAX_PAIRS:,} (or a PATN pairs CSV), got {args.pairs}")
    if args.seed < 0:
        parser.error(f"--seed must be a whole number >= 0, got {args.seed}")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        parser.error(f"--out {args.out} is a file; give a folder for the images and tables")
    if args.split != "test" and (args.photos or args.dataset != "synthetic"):
        parser.error(f"--split {args.split} is SyntheticPeople's; photos and --dataset {args.dataset} have no split")
    problem = device_problem(args.device)
    if problem:
        parser.error(f"--device {args.device}: {problem}")
    pipe = SPTPipeline.from_pretrained(args.model).to(args.device)
    pipe.set_progress_bar_config(disable=True)  # the fitting's bar inside the evaluation's own
    size = tuple(pipe.image_size)
    real_images, real_set, skipped = None, "", {}
    if args.photos:
        estimator = PersonEstimator(detector=detector_of(pipe))
        targets = _gallery_targets(size) if args.targets == "gallery" else _load_targets(args.targets, size)
        pairs, skipped = photo_pairs(args.photos, size, targets, estimator)
        if not pairs:
            raise SystemExit(
                f"no usable person in any photo of {args.photos}: " + "; ".join(f"{k}: {v}" for k, v in skipped.items())
            )
        if args.target_parsing == "truth":
            raise SystemExit("--target_parsing truth needs known targets; photos have none")
    elif args.dataset == "synthetic":
        if not (args.pairs.isascii() and args.pairs.isdigit()):
            raise SystemExit(f"--pairs for the synthetic benchmark is a number of pairs, got {args.pairs!r}")
        pairs = synthetic_pairs(size, int(args.pairs), args.seed, args.world, args.split)
        if args.fid == "on":
            real_images = synthetic_training_images(size, len(pairs), args.seed, args.world)
            real_set = f"SyntheticPeople ({args.world} world) training-split people"
    else:
        from ..data.fashion import evaluation_pairs

        if not args.data_dir:
            raise SystemExit(f"--dataset {args.dataset} needs --data_dir (the PATN-layout folder)")
        pairs = [Pair(*p) for p in evaluation_pairs(args.data_dir, args.pairs, size)]
    if args.target_parsing == "truth" and any(p.target.get("parsing") is None for p in pairs):
        raise SystemExit("--target_parsing truth needs the true target parsing of every pair")
    if args.target_parsing == "truth" and not pipe.uses_parsing:
        raise SystemExit(f"--target_parsing truth: {args.model} is the parsing-free Baseline, its H_A takes no parsing")
    features = lpips = checks = None
    if args.fid == "on":
        try:
            features = FeatureSets()
        except InceptionUnavailable as err:
            features = str(err)
    else:
        features = "--fid off"
    try:
        lpips = LPIPS.load("alex")
    except FileNotFoundError as err:
        lpips = str(err)
    if args.checks != "off":
        reason = mediapipe_available()
        if reason and args.checks == "on":
            raise SystemExit(f"--checks on: {reason}")
        checks = reason if reason else PhotoChecks(lpips if isinstance(lpips, LPIPS) else None)
    else:
        checks = "--checks off"
    result = evaluate(
        pipe,
        pairs,
        args.out,
        args.batch_size,
        true_parsing=args.target_parsing == "truth",
        precision=args.precision,
        baselines=tuple(args.baselines),
        features=features,
        real_images=real_images,
        real_set=real_set,
        lpips=lpips,
        checks=checks,
        adapt_steps=args.adapt_steps,
        adapt_config=args.adapt_config,
    )
    if skipped:
        result["skipped_photos"] = skipped
    # What was measured, so that a figure is never taken for another benchmark's (write_card.py checks it).
    result["benchmark"] = (
        {"photos": args.photos, "targets": args.targets}
        if args.photos
        else {"dataset": args.dataset, "pairs": len(pairs), "world": args.world, "split": args.split}
        if args.dataset == "synthetic"
        else {"dataset": args.dataset, "data_dir": args.data_dir, "pairs": len(pairs)}
    )
    if args.adapt_steps:
        result["adapt"] = {"steps": args.adapt_steps, "config": dataclasses.asdict(args.adapt_config)}
    os.makedirs(args.out, exist_ok=True)
    if args.photos:
        _photo_grid(pairs, len(targets), args.out).save(os.path.join(args.out, "grid.png"))
    with atomic_write(os.path.join(args.out, "metrics.json")) as handle:
        json.dump(result, handle, indent=2)
    parsing = ", true target parsing" if args.target_parsing == "truth" else ""
    what = (
        f"{len(pairs) // max(1, len(targets))} photos of {args.photos} x {len(targets)} target poses"
        if args.photos
        else f"{args.dataset} ({result['pairs']} pairs{parsing})"
    )
    if args.split != "test":
        what += f", {args.split} split"
    if args.adapt_steps:
        what += f", fitted to each source for {args.adapt_steps} steps"
    table = markdown_table(result, f"{args.model} on {what}")
    if skipped:
        table += "\nPhotos without a usable person: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()) + "\n"
    with atomic_write(os.path.join(args.out, "metrics.md")) as handle:
        handle.write(table)
    print(table)
    return result
