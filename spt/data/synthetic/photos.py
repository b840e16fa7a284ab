"""Real photographs that ship in an installed package, cut into clothing textures and backgrounds.

Only scikit-image's data folder (a dependency, so every machine renders the same pool) and none of its
people: ``astronaut`` and ``camera`` are the real stills the evaluation checks on (``benchmarks/real_stills.sh``),
so they never reach training. Grey photos are tinted when used.
"""

from __future__ import annotations

import functools
import os

import numpy as np
from PIL import Image

# Texture-like photos (fabric stand-ins) and scene-like photos (backgrounds). No people.
TEXTURE_PHOTOS = (
    "brick.png",
    "grass.png",
    "gravel.png",
    "coffee.png",
    "chelsea.png",
    "rocket.jpg",
    "hubble_deep_field.jpg",
    "ihc.png",
    "retina.jpg",
    "color.png",
    "moon.png",
    "coins.png",
    "cell.png",
    "text.png",
    "page.png",
    "motorcycle_left.png",
)
SCENE_PHOTOS = (
    "motorcycle_left.png",
    "motorcycle_right.png",
    "rocket.jpg",
    "coffee.png",
    "chelsea.png",
    "brick.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "moon.png",
    "coins.png",
)
EXCLUDED = ("astronaut.png", "camera.png")  # people: real-photo checks only


@functools.lru_cache(maxsize=None)
def load_photo(name: str) -> np.ndarray:
    """A scikit-image photo as float32 (H, W, 3) in [0, 1] (grey ones repeated to RGB)."""
    if name in EXCLUDED:
        raise ValueError(f"{name} shows a person: it is kept for the real-photo checks, never for rendering")
    import skimage.data

    path = os.path.join(os.path.dirname(skimage.data.__file__), name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"scikit-image's data has no {name} (looked in {path})")
    image = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return image


@functools.lru_cache(maxsize=None)
def _photo_mean(name: str) -> float:
    return float(load_photo(name).mean())


def mirror_index(index: np.ndarray, length: int) -> np.ndarray:
    """Integer coordinates folded into [0, length) by mirroring, so tiled photos have no seams."""
    period = 2 * length
    index = np.mod(index, period)
    return np.where(index >= length, period - 1 - index, index)


class PhotoTexture:
    """A photo crop tiled by mirroring over (u, v) surface coordinates, optionally tinted.

    ``scale``: photo pixels per unit of (u, v); ``origin``: where (0, 0) falls in the photo; ``tint`` RGB
    multiplier (grey photos become coloured cloth).
    """

    def __init__(self, name: str, scale: float, origin: tuple[float, float], tint: np.ndarray, contrast: float = 1.0):
        self.name, self.scale, self.origin = name, float(scale), (float(origin[0]), float(origin[1]))
        self.tint = np.asarray(tint, dtype=np.float32)
        self.contrast = float(contrast)

    def __call__(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        photo = load_photo(self.name)
        h, w = photo.shape[:2]
        x = mirror_index(np.floor(u * self.scale + self.origin[0]).astype(np.int64), w)
        y = mirror_index(np.floor(v * self.scale + self.origin[1]).astype(np.int64), h)
        colour = photo[y, x]
        mean = _photo_mean(self.name)  # the whole photo's, so a pixel's colour does not depend on the view
        colour = (colour - mean) * self.contrast + mean
        return np.clip(colour * self.tint, 0.0, 1.0)
