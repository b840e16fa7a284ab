"""Who a person is and what they wear: identities drawn from continuous parameters, per split."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SPLITS = {"train": 1, "test": 2, "validation": 3}
_IDENTITY, _POSE = 11, 12
TEXTURES = ("solid", "stripes", "checks", "dots", "noise")
LOWER_KINDS = ("long_pants", "shorts", "skirt")
HAIR_STYLES = ("short", "long", "bun", "cropped")


def _clip(x, low, high):
    """np.clip without its Python-level dispatch, which dominates on the small arrays painted here."""
    return np.minimum(np.maximum(x, low), high)


def _rng(seed: int, split: str, kind: int, index: int) -> np.random.Generator:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    if index < 0:
        raise ValueError(f"ids are non-negative, got {index}")
    return np.random.default_rng([int(seed), SPLITS[split], kind, int(index)])


@dataclass
class Texture:
    """A 2D pattern evaluated in a part's own (u across, v along) coordinates, in body-height units."""

    kind: str
    color_a: np.ndarray
    color_b: np.ndarray
    period: float
    angle: float
    phase: float
    waves: np.ndarray  # (3, 3): frequency u, frequency v, phase of the smooth-noise waves

    def __call__(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        if self.kind == "solid":
            return np.broadcast_to(self.color_a, u.shape + (3,))
        c, s = math.cos(self.angle), math.sin(self.angle)
        a = (u * c + v * s) * (1.0 / self.period)
        if self.kind == "stripes":
            t = _clip(np.sin(2 * math.pi * a + self.phase) * 3.0 + 0.5, 0.0, 1.0)
        elif self.kind == "checks":
            b = (v * c - u * s) * (1.0 / self.period)
            t = _clip(np.sin(math.pi * a + self.phase) * np.sin(math.pi * b) * 4.0 + 0.5, 0.0, 1.0)
        elif self.kind == "dots":
            b = (v * c - u * s) * (1.0 / self.period)
            du = a - np.floor(a) - 0.5
            dv = b - np.floor(b) - 0.5
            t = _clip((0.3 - np.sqrt(du * du + dv * dv)) * 8.0 + 0.5, 0.0, 1.0)
        else:  # smooth noise: a few waves summed
            w = self.waves
            acc = np.sin(u * w[0, 0] + v * w[0, 1] + w[0, 2])
            acc = acc + np.sin(u * w[1, 0] + v * w[1, 1] + w[1, 2])
            acc = acc + np.sin(u * w[2, 0] + v * w[2, 1] + w[2, 2])
            t = _clip(acc * 0.35 + 0.5, 0.0, 1.0)
        t = t[..., None]
        return self.color_a * (1.0 - t) + self.color_b * t


def _color(rng: np.random.Generator, saturation=(0.2, 0.9), value=(0.15, 0.95)) -> np.ndarray:
    """A random RGB colour in [0, 1] from HSV ranges."""
    h = rng.random()
    s = rng.uniform(*saturation)
    v = rng.uniform(*value)
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb, dtype=np.float32)


def _texture(rng: np.random.Generator, kinds=TEXTURES, p=None) -> Texture:
    kind = str(rng.choice(kinds, p=p))
    a = _color(rng)
    b = _color(rng)
    if np.abs(a - b).sum() < 0.5:  # keep patterns visible
        b = _clip(1.0 - a, 0, 1).astype(np.float32)
    return Texture(
        kind=kind,
        color_a=a,
        color_b=b,
        period=float(rng.uniform(0.035, 0.08)),
        angle=float(rng.choice([0.0, math.pi / 2, rng.uniform(0, math.pi)])),
        phase=float(rng.uniform(0, 2 * math.pi)),
        waves=np.concatenate([rng.uniform(-60, 60, (3, 2)), rng.uniform(0, 2 * math.pi, (3, 1))], 1),
    )


@dataclass
class Identity:
    """Everything that stays the same across poses. Lengths in body-height units."""

    identity_id: int
    shoulder: float  # half width between shoulder joints
    hip: float  # half width between hip joints
    torso: float  # mid-hip to neck
    upper_arm: float
    forearm: float
    thigh: float
    shin: float
    head: float  # head radius
    girth: float  # multiplies limb and torso thickness
    skin: np.ndarray
    hair_style: str
    hair_color: np.ndarray
    hairline: float  # -1 (low) .. 1 (high) on the head sphere
    hair_length: float
    hat: Texture | None
    sunglasses: bool
    upper: Texture
    sleeves: float  # fraction of the arm covered: ~0.4 short, 1 long
    coat: bool
    untucked: float  # how far the upper garment reaches below the waist
    lower_kind: str
    lower: Texture
    lower_length: float  # shorts / skirt length as a fraction of the leg
    shoes: np.ndarray
    background: Texture
    background_kind: str
    floor: np.ndarray


def sample_identity(rng: np.random.Generator, identity_id: int = 0) -> Identity:
    scale = rng.uniform(0.92, 1.08, 8)
    lower_kind = str(rng.choice(LOWER_KINDS, p=[0.45, 0.25, 0.3]))
    skin_tone = rng.uniform(0.25, 1.0)
    skin = np.array([0.95, 0.78, 0.62], dtype=np.float32) * skin_tone + np.array([0.25, 0.12, 0.05]) * (1 - skin_tone)
    style = str(rng.choice(HAIR_STYLES, p=[0.35, 0.35, 0.15, 0.15]))
    hair_color = np.array(
        rng.choice([[0.08, 0.06, 0.05], [0.35, 0.2, 0.1], [0.75, 0.6, 0.3], [0.55, 0.55, 0.55], [0.6, 0.2, 0.1]]),
        dtype=np.float32,
    ) * rng.uniform(0.8, 1.2)
    sleeves = float(rng.choice([rng.uniform(0.25, 0.55), rng.uniform(0.9, 1.0), 0.0], p=[0.45, 0.45, 0.1]))
    background_kind = str(rng.choice(["plain", "textured"], p=[0.5, 0.5]))
    return Identity(
        identity_id=int(identity_id),
        shoulder=0.105 * scale[0],
        hip=0.062 * scale[1],
        torso=0.30 * scale[2],
        upper_arm=0.165 * scale[3],
        forearm=0.145 * scale[3],
        thigh=0.235 * scale[4],
        shin=0.225 * scale[4],
        head=0.062 * scale[5],
        girth=float(rng.uniform(0.95, 1.4)),
        skin=_clip(skin, 0, 1).astype(np.float32),
        hair_style=style,
        hair_color=_clip(hair_color, 0, 1).astype(np.float32),
        hairline=float(rng.uniform(0.05, 0.45)),
        hair_length=float(rng.uniform(0.08, 0.2)),
        hat=_texture(rng, ("solid", "stripes")) if rng.random() < 0.12 else None,
        sunglasses=bool(rng.random() < 0.1),
        upper=_texture(rng, p=[0.25, 0.25, 0.2, 0.15, 0.15]),
        sleeves=sleeves,
        coat=bool(rng.random() < 0.12),
        untucked=float(rng.uniform(0.0, 0.08)),
        lower_kind=lower_kind,
        lower=_texture(rng, p=[0.4, 0.2, 0.15, 0.1, 0.15]),
        lower_length={"long_pants": 1.0, "shorts": rng.uniform(0.35, 0.6), "skirt": rng.uniform(0.3, 0.75)}[lower_kind],
        shoes=_color(rng, value=(0.05, 0.7)),
        background=_texture(rng, ("stripes", "checks", "noise", "dots")),
        background_kind=background_kind,
        floor=_color(rng, saturation=(0.0, 0.3), value=(0.3, 0.9)),
    )
