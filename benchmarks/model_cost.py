"""Parameters, MACs and latency per image of the SPT networks for each preset, beside the device's peak.

    python benchmarks/model_cost.py                      # tiny, small and paper at 256x256 (H_S at 128x128)
    python benchmarks/model_cost.py --size 128 128 --presets small --batch 8 --device cuda

MACs are counted by torch's FlopCounterMode (FLOPs / 2) for one image through H_S and H_A; latency is the
median wall time of H_S then H_A on tensors (no PIL), per image, under ``torch.inference_mode``, for the
reference path (fp32) and the pipeline's fast path (``precision="auto"``: bf16 autocast where the hardware
runs bf16 natively). The same run measures the peak: a 256-channel 3x3 convolution at 64x64 (batch 1 on a
CPU, 16 on a GPU) in fp32 and in bf16, and each latency is also given as a fraction of the peak of its own
precision, so that the figures are ratios from one run on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from spt.models.appearance import render_appearance
from spt.models.semantic import predict_parsing_logits
from spt.parsing import to_onehot
from spt.pipeline import SPTPipeline, bf16_is_native


def dummy_inputs(size, batch, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    h, w = size
    kp = torch.stack([torch.rand(batch, 18, generator=g) * (w - 1), torch.rand(batch, 18, generator=g) * (h - 1)], -1)
    kp_t = kp.flip(0)
    image = torch.rand(batch, 3, h, w, generator=g) * 2 - 1
    labels = torch.randint(0, 10, (batch, h, w), generator=g)
    return image.to(device), kp.to(device), kp_t.to(device), to_onehot(labels).to(device)


def forward(pipe, image, kp_s, kp_t, onehot, precision="fp32"):
    with torch.inference_mode(), pipe.precision_context(precision):
        logits = predict_parsing_logits(pipe.semantic_generator, onehot, kp_s, kp_t, pipe.semantic_size)
        target = to_onehot(logits.argmax(1))
        return render_appearance(pipe.appearance_generator, image, kp_s, onehot, kp_t, target)


def conv_peak(device: str, bf16: bool, batch: int, repeats: int = 10) -> float:
    """GFLOP/s of a 256-channel 3x3 convolution at 64x64: what this device reaches on the networks' main op."""
    conv = torch.nn.Conv2d(256, 256, 3, padding=1).to(device).eval()
    x = torch.randn(batch, 256, 64, 64, device=device)
    flops = 2 * 256 * 256 * 9 * 64 * 64 * batch
    with torch.inference_mode(), torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
        for _ in range(3):
            conv(x)
        times = []
        for _ in range(repeats):
            sync(device)
            start = time.perf_counter()
            conv(x)
            sync(device)
            times.append(time.perf_counter() - start)
    return flops / min(times) / 1e9


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


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


def latency(pipe, size, batch, device, repeats, precision) -> float:
    """Median milliseconds per image."""
    inputs = dummy_inputs(size, batch, device)
    forward(pipe, *inputs, precision=precision)  # warm-up
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        forward(pipe, *inputs, precision=precision)
        sync(device)
        times.append((time.perf_counter() - start) / batch)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["tiny", "small", "paper"])
    parser.add_argument("--size", nargs=2, type=int, default=[256, 256], metavar=("H", "W"))
    parser.add_argument(
        "--semantic-size",
        nargs=2,
        type=int,
        default=None,
        metavar=("H", "W"),
        help="H_S resolution (default: half of --size, as the paper's DeepFashion setting)",
    )
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    size = tuple(args.size)
    semantic = tuple(args.semantic_size) if args.semantic_size else (size[0] // 2, size[1] // 2)
    device = args.device
    peak_batch = 1 if device == "cpu" else 16
    peaks = {"fp32": conv_peak(device, False, peak_batch), "fast": conv_peak(device, True, peak_batch)}
    fast_is_bf16 = bf16_is_native(torch.device(device))
    if not fast_is_bf16:
        peaks["fast"] = peaks["fp32"]
    name = torch.cuda.get_device_name() if device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"{name}; image {size[0]}x{size[1]}, H_S at {semantic[0]}x{semantic[1]}, batch {args.batch}")
    print(
        f"peak (256-ch 3x3 conv at 64x64, batch {peak_batch}): fp32 {peaks['fp32']:.0f} GFLOP/s, "
        f"bf16 {conv_peak(device, True, peak_batch):.0f} GFLOP/s; the fast path is "
        f"{'bf16 autocast' if fast_is_bf16 else 'fp32 (no native bf16 here)'}"
    )
    print(
        "| preset | H_S params (M) | H_A params (M) | H_S GMACs | H_A GMACs | fp32 ms/image | % of fp32 peak | "
        "fast ms/image | % of its peak | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for preset in args.presets:
        pipe = SPTPipeline.from_preset(preset, image_size=size, semantic_size=semantic, pose_detector=False)
        pipe.semantic_generator.eval()
        pipe.appearance_generator.eval()
        m_s, m_a = macs(pipe, size)
        pipe.to(device)
        ms = {
            path: latency(pipe, size, args.batch, device, args.repeats, "fp32" if path == "fp32" else "auto")
            for path in ("fp32", "fast")
        }
        share = {path: 2 * (m_s + m_a) / (ms[path] / 1000) / peaks[path] * 100 for path in ms}
        print(
            f"| {preset} | {params(pipe.semantic_generator):.2f} | {params(pipe.appearance_generator):.2f} | "
            f"{m_s:.2f} | {m_a:.2f} | {ms['fp32']:.1f} | {share['fp32']:.0f}% | {ms['fast']:.1f} | "
            f"{share['fast']:.0f}% | {ms['fp32'] / ms['fast']:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
