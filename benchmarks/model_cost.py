"""Parameters, MACs and latency per image of the SPT networks for each preset.

    python benchmarks/model_cost.py                      # tiny, small and paper at 256x256 (H_S at 128x128)
    python benchmarks/model_cost.py --size 128 128 --presets small --batch 8

MACs are counted by torch's FlopCounterMode (FLOPs / 2) for one image through H_S and H_A; latency is the
median wall time of the whole pipeline call on tensors (no PIL), per image, on CPU and on CUDA when present.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from spt.parsing import to_onehot
from spt.pipeline import SPTPipeline, predict_parsing_logits, render_appearance


def dummy_inputs(size, batch, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    h, w = size
    kp = torch.stack([torch.rand(batch, 18, generator=g) * (w - 1), torch.rand(batch, 18, generator=g) * (h - 1)], -1)
    kp_t = kp.flip(0)
    image = torch.rand(batch, 3, h, w, generator=g) * 2 - 1
    labels = torch.randint(0, 10, (batch, h, w), generator=g)
    return image.to(device), kp.to(device), kp_t.to(device), to_onehot(labels).to(device)


def forward(pipe, image, kp_s, kp_t, onehot):
    logits = predict_parsing_logits(pipe.semantic_generator, onehot, kp_s, kp_t, pipe.semantic_size)
    target = to_onehot(logits.argmax(1))
    return render_appearance(pipe.appearance_generator, image, kp_s, onehot, kp_t, target)


def params(module) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e6


def macs(pipe, size) -> tuple[float, float]:
    image, kp_s, kp_t, onehot = dummy_inputs(size, 1, "cpu")
    counts = []
    for part in ("semantic", "appearance"):
        with FlopCounterMode(display=False) as counter:
            if part == "semantic":
                predict_parsing_logits(pipe.semantic_generator, onehot, kp_s, kp_t, pipe.semantic_size)
            else:
                render_appearance(pipe.appearance_generator, image, kp_s, onehot, kp_t, onehot)
        counts.append(counter.get_total_flops() / 2 / 1e9)
    return counts[0], counts[1]


@torch.no_grad()
def latency(pipe, size, batch, device, repeats) -> float:
    pipe.to(device)
    inputs = dummy_inputs(size, batch, device)
    forward(pipe, *inputs)  # warm-up
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        forward(pipe, *inputs)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) / batch)
    pipe.to("cpu")
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["tiny", "small", "paper"])
    parser.add_argument("--size", nargs=2, type=int, default=[256, 256], metavar=("H", "W"))
    parser.add_argument("--semantic-size", nargs=2, type=int, default=None, metavar=("H", "W"),
                        help="H_S resolution (default: half of --size, as the paper's DeepFashion setting)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    size = tuple(args.size)
    semantic = tuple(args.semantic_size) if args.semantic_size else (size[0] // 2, size[1] // 2)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"image {size[0]}x{size[1]}, H_S at {semantic[0]}x{semantic[1]}, batch {args.batch}, "
          f"threads {torch.get_num_threads()}")
    header = "| preset | H_S params (M) | H_A params (M) | H_S GMACs | H_A GMACs | " + " | ".join(
        f"{d} ms/image" for d in devices) + " |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for preset in args.presets:
        pipe = SPTPipeline.from_preset(preset, image_size=size, semantic_size=semantic, pose_detector=False)
        pipe.semantic_generator.eval()
        pipe.appearance_generator.eval()
        m_s, m_a = macs(pipe, size)
        lat = [latency(pipe, size, args.batch, d, args.repeats) for d in devices]
        print(f"| {preset} | {params(pipe.semantic_generator):.2f} | {params(pipe.appearance_generator):.2f} | "
              f"{m_s:.2f} | {m_a:.2f} | " + " | ".join(f"{v:.1f}" for v in lat) + " |")


if __name__ == "__main__":
    main()
