"""The benchmark runner: generate every test pair of a benchmark, score, save images and tables.

    python -m spt.evaluation --model pretrained/spt-synthetic --dataset synthetic --out eval/ [--pairs 500]

SyntheticPeople's benchmark is a fixed test split of held-out people: pair i is test person i in poses
2i (source) and 2i+1 (target), rendered at the model's size, with the true target image and parsing.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from ..data.synthetic import SyntheticPeople
from ..parsing import PALETTE
from ..pose import is_present, torso_scale
from .distribution import DistributionScores, MetricsUnavailable, PerceptualDistance
from .metrics import mask_ssim, mean_iou, pixel_accuracy, psnr, ssim

@dataclass
class Pair:
    name: str
    source: dict
    target: dict


def synthetic_pairs(size: tuple[int, int], num_pairs: int, seed: int = 0) -> list[Pair]:
    """The SyntheticPeople benchmark: test person i, pose 2i -> pose 2i+1."""
    people = SyntheticPeople(size, seed=seed, split="test")
    return [Pair(f"{i:05d}", *people.pair(i)) for i in range(num_pairs)]


def pckh(detected: np.ndarray, truth: np.ndarray, alpha: float = 0.5) -> tuple[int, int]:
    """Correct and total joints for PCKh@alpha: a detected joint is correct within alpha x head size of the
    truth. COCO-18 has no head-top joint, so the head size is twice the neck-to-nose distance when both are
    visible, else 0.6 x the torso scale. Only joints visible in the truth count."""
    t = torch.from_numpy(truth)[None]
    present = is_present(t)[0].numpy()
    if present[0] and present[1]:
        head = 2 * float(np.linalg.norm(truth[0] - truth[1]))
    else:
        head = 0.6 * float(torso_scale(t)[0])
    ok = is_present(torch.from_numpy(detected)[None])[0].numpy()
    dist = np.linalg.norm(detected - truth, axis=-1)
    correct = present & ok & (dist <= alpha * head)
    return int(correct.sum()), int(present.sum())


@dataclass
class Scores:
    rows: list[dict] = field(default_factory=list)
    pck: list[tuple[int, int]] = field(default_factory=list)

    def summary(self) -> dict:
        out = {}
        for key in ("ssim", "ssim_51", "mask_ssim", "psnr", "parsing_accuracy", "parsing_miou"):
            values = [r[key] for r in self.rows if r.get(key) is not None]
            out[key] = float(np.mean(values)) if values else None
        correct, total = sum(c for c, _ in self.pck), sum(t for _, t in self.pck)
        out["pckh"] = correct / total if total else None
        out["pairs"] = len(self.rows)
        return out


def evaluate(pipe, pairs: list[Pair], out_dir: str | None = None, batch_size: int = 16, progress: bool = True,
             true_parsing: bool = False, distribution: DistributionScores | str | None = None,
             perceptual: PerceptualDistance | str | None = None, precision: str = "fp32") -> dict:
    """Generate and score every pair; save generated images and a sample grid under ``out_dir``.

    ``true_parsing`` feeds H_A the true target parsing instead of H_S's prediction (the paper's TS-GT upper
    bound, possible where the truth is known); the parsing scores are then not reported, nor for the
    parsing-free Baseline, which predicts none.
    ``distribution`` computes FID/IS/mask-IS (a ``DistributionScores``), or is the reason they are not (a
    string); ``perceptual`` likewise LPIPS (a ``PerceptualDistance``). ``precision`` is the pipeline's: the
    published figures are fp32, the reference."""
    scores = Scores()
    if out_dir:
        os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    for start in tqdm(range(0, len(pairs), batch_size), desc="evaluating", disable=not progress):
        chunk = pairs[start:start + batch_size]
        out = pipe([p.source["image"] for p in chunk], [p.target["keypoints"] for p in chunk],
                   source_pose=[p.source["keypoints"] for p in chunk], source_parsing=[p.source["parsing"] for p in chunk],
                   target_parsing=[p.target["parsing"] for p in chunk] if true_parsing else None, output_type="np",
                   precision=precision)
        generated = (out.images * 255).round().astype(np.uint8)
        fake = torch.from_numpy(out.images).permute(0, 3, 1, 2)  # (B, 3, H, W) in [0, 1]
        detected = None
        if pipe.pose_detector is not None:
            detected = pipe.pose_detector.detect(fake.to(pipe.device, pipe.dtype) * 2 - 1).cpu().numpy()
        real = torch.from_numpy(np.stack([p.target["image"] for p in chunk])).permute(0, 3, 1, 2).float() / 255
        if isinstance(distribution, DistributionScores):
            person = torch.from_numpy(np.stack([p.target["parsing"] > 0 for p in chunk]))[:, None]
            distribution.update(fake, real, person)
        if isinstance(perceptual, PerceptualDistance):
            perceptual.update(fake, real)
        for k, pair in enumerate(chunk):
            truth = pair.target["image"]
            person = pair.target["parsing"] > 0
            row = {
                "pair": pair.name,
                "ssim": ssim(generated[k], truth),
                "ssim_51": ssim(generated[k], truth, win_size=51) if min(truth.shape[:2]) >= 51 else None,
                "mask_ssim": mask_ssim(generated[k], truth, person),
                "psnr": psnr(generated[k], truth),
            }
            if out.target_parsing is not None and not true_parsing:
                row["parsing_accuracy"] = pixel_accuracy(out.target_parsing[k], pair.target["parsing"])
                row["parsing_miou"] = mean_iou(out.target_parsing[k], pair.target["parsing"])
            scores.rows.append(row)
            if detected is not None:
                scores.pck.append(pckh(detected[k], pair.target["keypoints"]))
            if out_dir:
                Image.fromarray(generated[k]).save(os.path.join(out_dir, "images", f"{pair.name}.png"))
        if out_dir and start == 0:
            _grid(chunk, generated, out.target_parsing).save(os.path.join(out_dir, "grid.png"))
    summary = scores.summary()
    if isinstance(distribution, DistributionScores):
        summary |= distribution.compute()
    else:
        reason = f"not computed: {distribution}" if distribution else "not computed"
        summary |= {"fid": reason, "is": reason, "mask_is": reason}
    if isinstance(perceptual, PerceptualDistance):
        summary["lpips"] = perceptual.compute()
    else:
        summary["lpips"] = f"not computed: {perceptual}" if perceptual else "not computed"
    return summary | {"per_pair": scores.rows}


def _grid(pairs: list[Pair], generated: np.ndarray, parsing: np.ndarray | None) -> Image.Image:
    """source | predicted parsing (black if none) | generated | truth | true parsing, one row per pair (first batch)."""
    h, w = generated.shape[1:3]
    rows = pairs[:8]
    grid = Image.new("RGB", (5 * w, len(rows) * h))
    for r, pair in enumerate(rows):
        predicted = PALETTE[parsing[r]] if parsing is not None else np.zeros_like(generated[r])
        tiles = [pair.source["image"], predicted, generated[r], pair.target["image"], PALETTE[pair.target["parsing"]]]
        for c, tile in enumerate(tiles):
            grid.paste(Image.fromarray(tile), (c * w, r * h))
    return grid


def markdown_table(summary: dict, title: str) -> str:
    def fmt(value):
        if value is None:
            return "n/a"
        return value if isinstance(value, str) else f"{value:.3f}"

    names = [("SSIM (PATN, sigma 1.5)", "ssim"), ("SSIM (win 51, GFLA/PIDM)", "ssim_51"), ("mask-SSIM", "mask_ssim"),
             ("PSNR (dB)", "psnr"), ("parsing accuracy", "parsing_accuracy"), ("parsing mIoU", "parsing_miou"),
             ("PCKh@0.5", "pckh"), ("FID", "fid"), ("LPIPS", "lpips"), ("IS", "is"), ("mask-IS", "mask_is")]
    lines = [f"### {title}", "", "| metric | value |", "| --- | --- |"]
    lines += [f"| {label} | {fmt(summary.get(key))} |" for label, key in names]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    from ..pipeline import SPTPipeline

    parser = argparse.ArgumentParser(prog="python -m spt.evaluation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a pipeline folder or a Hub repo id")
    parser.add_argument("--dataset", default="synthetic", choices=["synthetic", "deepfashion", "market"])
    parser.add_argument("--data_dir", help="the PATN-layout folder (deepfashion/market)")
    parser.add_argument("--pairs", default="500", help="number of SyntheticPeople pairs, or a PATN pairs CSV")
    parser.add_argument("--out", default="eval")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--target_parsing", default="predicted", choices=["predicted", "truth"],
                        help="truth: H_A renders onto the true target parsing (TS-GT); needs known targets")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "auto"],
                        help="the pipeline's precision; fp32 (default) is the reference of every published figure")
    args = parser.parse_args(argv)
    pipe = SPTPipeline.from_pretrained(args.model).to(args.device)
    if args.dataset == "synthetic":
        if not args.pairs.isdigit():
            raise SystemExit("--pairs for the synthetic benchmark is a number of pairs")
        pairs = synthetic_pairs(pipe.image_size, int(args.pairs), args.seed)
    else:
        from ..data.fashion import evaluation_pairs

        if not args.data_dir:
            raise SystemExit(f"--dataset {args.dataset} needs --data_dir (the PATN-layout folder)")
        pairs = [Pair(*p) for p in evaluation_pairs(args.data_dir, args.pairs, pipe.image_size)]
    if args.target_parsing == "truth" and any(p.target.get("parsing") is None for p in pairs):
        raise SystemExit("--target_parsing truth needs the true target parsing of every pair")
    if args.target_parsing == "truth" and not pipe.uses_parsing:
        raise SystemExit(f"--target_parsing truth: {args.model} is the parsing-free Baseline, its H_A takes no parsing")
    try:
        distribution = DistributionScores(splits=min(10, len(pairs)))
    except MetricsUnavailable as err:
        distribution = str(err)
    try:
        perceptual = PerceptualDistance()
    except MetricsUnavailable as err:
        perceptual = str(err)
    result = evaluate(pipe, pairs, args.out, args.batch_size, true_parsing=args.target_parsing == "truth",
                      distribution=distribution, perceptual=perceptual, precision=args.precision)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "metrics.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
    parsing = ", true target parsing" if args.target_parsing == "truth" else ""
    table = markdown_table(result, f"{args.model} on {args.dataset} ({result['pairs']} pairs{parsing})")
    with open(os.path.join(args.out, "metrics.md"), "w", encoding="utf-8") as handle:
        handle.write(table)
    print(table)
    return result
