"""Clothes and hair that stand off the body, for the 3D world (``world3d``, from its second version on).

The first 3D world painted every garment on the skin, so H_S never saw a coat wider than a chest or trousers
wider than a leg. Here a person's ``Outfit`` says what stands off the body, and all of it is built in the rest
pose and skinned with the body, so the same person keeps the same clothes in every pose and the parsing stays
what each pixel shows:

* **Standoff.** Garment and hair faces are pushed out along the rest mesh's normals (``inflate``): a loose
  shirt by millimetres, a coat by centimetres, a puffer jacket by several; trousers by their looseness at the
  hip plus a flare growing to the ankle (wide legs); hair by its volume (curly hair unevenly).
* **Shapes that leave the body.** A coat's or jacket's hem below the waist (to the hip, the thigh or the knee;
  closed, or open at the front over the shirt beneath), a hood lying on the upper back, a scarf round the
  neck, a bun, a hat over the hair: each a tube of rings in the rest pose skinned to the bones it follows.

Labels are LIP-20 (``render``'s ``L_*``): a coat over the hips is coat (SPT-10 upper clothes), a hood is coat,
a scarf scarf (upper clothes), a hat hat (SPT-10 hair).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .body3d import RestBody
from .identity import _color

L_SCARF = 11
# Surfaces added to the world's (skin .. lips are 0..7): the shirt under an open coat, a scarf's and hat's colour.
S_INNER, S_ACCESSORY = 8, 9


@dataclass(frozen=True)
class Outfit:
    """What stands off one person's body (metres, in the rest pose), the same in every pose."""

    upper: float  # the upper garment's standoff (torso and sleeves)
    lower: float  # trousers' standoff at the hip
    flare: float  # trousers' extra standoff at the ankle
    hem: float  # a coat's length below the waist, share of waist-to-ankle (0: none)
    open_front: bool  # the coat is open: the shirt beneath shows down the front
    hood: bool
    scarf: bool
    hair: float  # hair's standoff from the scalp
    curly: bool  # hair's standoff uneven
    bun: bool
    hat: bool
    inner: np.ndarray  # RGB of the shirt under an open coat
    accessory: np.ndarray  # RGB of the scarf and the hat
    seed: int  # curly hair's pattern


def sample_outfit(rng: np.random.Generator, upper_kind: str, lower_kind: str, hair_style: str) -> Outfit:
    """An outfit for a person whose garments and hair are already drawn (``world3d.sample_person``)."""
    coat = upper_kind == "coat"
    style = str(rng.choice(("jacket", "coat", "long", "puffer"), p=[0.3, 0.3, 0.2, 0.2]))
    hem = {
        "jacket": rng.uniform(0.08, 0.18),
        "coat": rng.uniform(0.25, 0.42),
        "long": rng.uniform(0.5, 0.68),
        "puffer": rng.uniform(0.06, 0.3),
    }[style]
    coat_standoff = rng.uniform(0.035, 0.06) if style == "puffer" else rng.uniform(0.012, 0.03)
    upper = coat_standoff if coat else rng.uniform(0.003, 0.012) if upper_kind == "dress" else rng.uniform(0.004, 0.022)
    wide = rng.random() < 0.3
    lower = rng.uniform(0.004, 0.025) if lower_kind != "skirt" else 0.0
    flare = (rng.uniform(0.02, 0.055) if wide else rng.uniform(0.0, 0.01)) if lower_kind != "skirt" else 0.0
    open_front = bool(rng.random() < (0.2 if style == "puffer" else 0.45))
    hood = bool(rng.random() < 0.3)
    scarf = bool(rng.random() < 0.12)
    curly = bool(rng.random() < 0.2)
    hair = rng.uniform(0.02, 0.04) if curly else rng.uniform(0.004, 0.02)
    bun = bool(rng.random() < 0.3)
    hat = bool(rng.random() < 0.12)
    inner = _color(rng)
    accessory = _color(rng)
    seed = int(rng.integers(0, 2**31))
    return Outfit(
        upper=float(upper),
        lower=float(lower),
        flare=float(flare),
        hem=float(hem) if coat else 0.0,
        open_front=coat and open_front,
        hood=coat and hood,
        scarf=scarf,
        hair=float(hair) if hair_style != "bald" else 0.0,
        curly=curly and hair_style != "bald",
        bun=bun and hair_style == "long",
        hat=hat,
        inner=inner,
        accessory=accessory,
        seed=seed,
    )


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit normals (V, 3) of a mesh whose faces wind outward (Anny's do: its volume is positive)."""
    v = vertices
    n = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    out = np.zeros_like(v)
    for k in range(3):
        np.add.at(out, faces[:, k], n)
    return out / np.linalg.norm(out, axis=1, keepdims=True).clip(1e-12)


def inflate(rest: RestBody, faces: np.ndarray, thickness: np.ndarray) -> torch.Tensor:
    """The rest vertices pushed out along their normals by the largest ``thickness`` (F,) of the faces they
    belong to: a garment's border slopes down to the skin over one ring of faces, as a cuff does."""
    v = rest.vertices.numpy()
    per_vertex = np.zeros(len(v))
    for k in range(3):
        np.maximum.at(per_vertex, faces[:, k], thickness)
    return torch.from_numpy(v + vertex_normals(v, faces) * per_vertex[:, None])


def ring_tube(centre, radii, heights, theta) -> np.ndarray:
    """Rings (R, S, 3) round a vertical axis at ``centre`` (x, y): ring k at height ``heights[k]`` with radii
    ``radii[k]`` = (rx, ry), points at angles ``theta`` (0 at the back, +Y; pi at the front)."""
    return np.stack(
        [
            np.stack([centre[0] + rx * np.sin(theta), centre[1] + ry * np.cos(theta), np.full_like(theta, z)], 1)
            for (rx, ry), z in zip(radii, heights)
        ]
    )


def curls(count: int, seed: int) -> np.ndarray:
    """Per-face factors (count,) in [0.4, 1.6] that make curly hair's standoff uneven, fixed per person."""
    return np.random.default_rng(seed).uniform(0.4, 1.6, count)


__all__ = ["Outfit", "sample_outfit", "inflate", "vertex_normals", "ring_tube", "L_SCARF", "S_INNER", "S_ACCESSORY"]
