"""Why the pose_detector stage collapsed, one suspect at a time.

    python benchmarks/pose_stage_diagnosis.py --out runs/pose_diag/today.json                      # the old recipe
    python benchmarks/pose_stage_diagnosis.py --foreground 10 --out runs/pose_diag/fg10.json        # one change

The pose_detector stage's objective outside the trainer, so that each suspect is one flag, including those the
trainer does not expose (warm-up, heatmap sigma, normalisation, depth): the small preset's detector, batches of 16
from 1,200 SyntheticPeople training people x 6 poses at 128x64, Adam, the linear schedule (constant for half the
steps, then to 0), bf16 autocast, gradient clipping. It logs the loss, the gradient norm and the mean heatmap
peak every 10 steps, and ends with PCKh@0.5 on 128 held-out validation people at the detection threshold (0.3)
and without one (the argmax of every heatmap), and their mean peak. The old recipe is the defaults.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from spt import losses as L  # noqa: E402
from spt.data.synthetic import SyntheticPeople  # noqa: E402
from spt.evaluation.detector import held_out_people  # noqa: E402
from spt.evaluation.metrics import pckh  # noqa: E402
from spt.models import PoseDetector  # noqa: E402
from spt.models.pose_net import keypoints_from_heatmaps  # noqa: E402
from spt.pose import default_sigma, pose_heatmaps  # noqa: E402
from spt.processor import uint8_to_tensor  # noqa: E402

SIZE = (128, 64)


def pool(cache: str) -> tuple[np.ndarray, np.ndarray]:
    if not os.path.isfile(cache):
        people = SyntheticPeople(SIZE, seed=0, split="train")
        samples = [people.render(i, j) for i in range(1200) for j in range(6)]
        os.makedirs(os.path.dirname(os.path.abspath(cache)), exist_ok=True)
        np.savez(
            cache,
            images=np.stack([s["image"] for s in samples]),
            keypoints=np.stack([s["keypoints"] for s in samples]).astype(np.float32),
        )
    with np.load(cache) as saved:
        return saved["images"], saved["keypoints"]


def held_out_scores(net, images, keypoints) -> dict:
    net.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        heat = net(uint8_to_tensor(images)).float()
    net.train()
    out = {"peak": float(heat.flatten(2).max(-1).values.mean())}
    for name, threshold in (("pckh", 0.3), ("pckh_argmax", -1.0)):
        found = keypoints_from_heatmaps(heat, threshold).numpy()
        counts = np.array([pckh(found[k], keypoints[k]) for k in range(len(found))])
        out[name] = float(counts[:, 0].sum() / counts[:, 1].sum())
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=700)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--beta1", type=float, default=0.5)
    parser.add_argument("--warmup", type=int, default=0, help="linear warm-up steps")
    parser.add_argument("--clip", type=float, default=10.0, help="gradient-norm clipping (0: none)")
    parser.add_argument("--foreground", type=float, default=0.0, help="heatmap MSE weighted by (1 + w P)")
    parser.add_argument("--sigma_scale", type=float, default=1.0, help="heatmap sigma x this")
    parser.add_argument("--base_channels", type=int, default=16)
    parser.add_argument("--res_blocks", type=int, default=4)
    parser.add_argument("--downsamples", type=int, default=2)
    parser.add_argument("--norm", default="instance", choices=["instance", "batch", "none"])
    parser.add_argument("--cache", default="runs/pose_diag/pool_128x64.npz")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    images, keypoints = pool(args.cache)
    test_images, test_keypoints = held_out_people(SIZE, 128)
    net = PoseDetector(
        base_channels=args.base_channels,
        num_res_blocks=args.res_blocks,
        num_downsamples=args.downsamples,
        norm=args.norm,
    )
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, betas=(args.beta1, 0.999))

    def factor(step):
        warm = min(1.0, (step + 1) / args.warmup) if args.warmup else 1.0
        return warm * min(1.0, max(0.0, (args.steps - step) / (args.steps / 2)))

    schedule = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    rng = np.random.default_rng(args.seed)
    sigma = default_sigma(SIZE[0]) * args.sigma_scale
    log, start = [], time.time()
    for step in range(args.steps):
        rows = rng.choice(len(images), 16, replace=False)
        target = pose_heatmaps(torch.from_numpy(keypoints[rows]), SIZE, sigma=sigma)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            predicted = net(uint8_to_tensor(images[rows]))
        loss = L.heatmap_loss(predicted, target, args.foreground)
        opt.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(net.parameters(), args.clip if args.clip > 0 else float("inf"))
        opt.step()
        schedule.step()
        if step % 10 == 0 or step == args.steps - 1:
            log.append(
                {
                    "step": step,
                    "loss": loss.item(),
                    "grad_norm": float(norm),
                    "peak": float(predicted.detach().float().flatten(2).max(-1).values.mean()),
                }
            )
    result = {
        "args": vars(args),
        "held_out": held_out_scores(net, test_images, test_keypoints),
        "final_loss": float(np.mean([r["loss"] for r in log[-10:]])),
        "seconds": time.time() - start,
        "log": log,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    print(json.dumps({"out": args.out, **result["held_out"], "final_loss": result["final_loss"]}))


if __name__ == "__main__":
    main()
