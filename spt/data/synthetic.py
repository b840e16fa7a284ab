"""SyntheticPeople: procedural people with exact pose, parsing and the true image in any other pose.

The embedded default dataset: with no real person dataset reachable offline, the whole method is
trained, measured and demonstrated on it. It is built to be hard in the ways that matter for SPT:

* an **identity** is drawn from continuous parameters: body proportions, skin tone, hair style and
  colour, hat and sunglasses, upper clothes (short/long sleeves, tucked or not, a coat), lower clothes
  (long or short pants, a skirt), shoes, and clothing textures (solid, stripes, checks, dots, smooth
  noise). Textures live in each body part's own coordinates, so they follow the part when it moves:
  one identity in two poses wears visibly the same clothes;
* a **pose** is a 3D kinematic chain with joint limits (standing, walking, arms raised or bent,
  crossing the torso) seen from any yaw (front, side, back; face joints missing where not visible),
  at varied scale and position;
* rendering paints parts far-to-near (the far arm behind the torso, the near one in front),
  anti-aliased through signed distances, with a face (eyes, mouth) in front views and a plain or
  textured background per identity (one photo shoot per person, as in DeepFashion).

Each sample has the RGB image, COCO-18 keypoints, the parsing rendered in LIP-20 and merged to
SPT-10, and its identity and pose ids. ``render(identity_id, pose_id)`` is deterministic for a seed,
so the ground truth of any (person, pose) pair is available for evaluation, while training never sees
it. Train and test identities come from separate random streams: test people are never seen in
training.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..parsing import merge_to_spt10
from ..pose import NUM_KEYPOINTS

# LIP-20 label indices used by the renderer.
L_BG, L_HAT, L_HAIR, L_SUNGLASSES, L_UPPER, L_COAT, L_PANTS, L_SKIRT, L_FACE = 0, 1, 2, 4, 5, 7, 9, 12, 13
L_LARM, L_RARM, L_LLEG, L_RLEG, L_LSHOE, L_RSHOE = 14, 15, 16, 17, 18, 19

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


# --------------------------------------------------------------------------------------------------
# Identity: who the person is (and what they wear)
# --------------------------------------------------------------------------------------------------

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
        kind=kind, color_a=a, color_b=b,
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
        shoulder=0.105 * scale[0], hip=0.062 * scale[1], torso=0.30 * scale[2],
        upper_arm=0.165 * scale[3], forearm=0.145 * scale[3], thigh=0.235 * scale[4], shin=0.225 * scale[4],
        head=0.062 * scale[5], girth=float(rng.uniform(0.95, 1.4)),
        skin=_clip(skin, 0, 1).astype(np.float32),
        hair_style=style, hair_color=_clip(hair_color, 0, 1).astype(np.float32),
        hairline=float(rng.uniform(0.05, 0.45)), hair_length=float(rng.uniform(0.08, 0.2)),
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


# --------------------------------------------------------------------------------------------------
# Pose: a kinematic chain with joint limits, seen from a yaw
# --------------------------------------------------------------------------------------------------

# Joint limits in degrees: (low, high).
LIMITS = {
    "shoulder_flex": (-50, 175), "shoulder_abduct": (0, 175), "elbow": (0, 150), "elbow_dir": (-30, 100),
    "hip_flex": (-35, 95), "hip_abduct": (-5, 40), "knee": (0, 125),
    "lean": (-12, 12), "bend": (-10, 25), "head_yaw": (-35, 35), "head_tilt": (-15, 15),
}
ACTIVITIES = ("standing", "walking", "arms_raised", "arms_bent", "free")


@dataclass
class Pose:
    """Joint angles in degrees (per side: index 0 right, 1 left), the view yaw and placement."""

    pose_id: int
    activity: str
    yaw: float  # 0 faces the camera, 90 shows the person's right side... 180 the back
    shoulder_flex: np.ndarray
    shoulder_abduct: np.ndarray
    elbow: np.ndarray
    elbow_dir: np.ndarray
    hip_flex: np.ndarray
    hip_abduct: np.ndarray
    knee: np.ndarray
    lean: float
    bend: float
    head_yaw: float
    head_tilt: float
    fill: float  # body height as a fraction of the frame height; above 1 a close-up that crops the legs
    offset: np.ndarray  # (x, y) placement in [-1, 1] of the free room
    arm_spread: np.ndarray = field(default_factory=lambda: np.zeros(2))

    def clipped(self) -> "Pose":
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            setattr(self, name, _clip(value, low, high) if isinstance(value, np.ndarray) else float(_clip(value, low, high)))
        return self


def walking_cycle(num_frames: int = 16, yaw: float = 0.0, stride: float = 28.0) -> list[Pose]:
    """One gait cycle as ``num_frames`` poses (for animations): each hip swings as a sine, half a cycle apart,
    the knee bends while its leg swings forward, and the arms swing against the legs."""
    if num_frames < 2:
        raise ValueError(f"a walking cycle needs at least 2 frames, got {num_frames}")
    poses = []
    for k in range(num_frames):
        phase = 2 * math.pi * k / num_frames + np.array([0.0, math.pi])  # right, left
        hip_flex = stride * np.sin(phase)
        poses.append(Pose(
            pose_id=k, activity="walking", yaw=float(yaw),
            shoulder_flex=-0.8 * hip_flex, shoulder_abduct=np.full(2, 8.0), elbow=15 + 10 * np.cos(phase) ** 2,
            elbow_dir=np.full(2, 30.0), hip_flex=hip_flex, hip_abduct=np.full(2, 3.0),
            knee=5 + 40 * np.maximum(np.cos(phase), 0), lean=0.0, bend=3.0, head_yaw=0.0, head_tilt=0.0,
            fill=0.9, offset=np.zeros(2),
        ).clipped())
    return poses


def sample_pose(rng: np.random.Generator, pose_id: int = 0) -> Pose:
    activity = str(rng.choice(ACTIVITIES, p=[0.2, 0.3, 0.15, 0.2, 0.15]))
    view = rng.random()
    if view < 0.45:
        yaw = rng.normal(0, 15)
    elif view < 0.75:
        yaw = rng.choice([-1, 1]) * rng.uniform(30, 105)
    else:
        yaw = 180 + rng.normal(0, 20)
    u = lambda low, high, n=2: rng.uniform(low, high, n)  # noqa: E731
    flex, abduct, elbow, elbow_dir = u(-10, 15), u(4, 18), u(0, 25), u(0, 60)
    hip_flex, hip_abduct, knee = u(-5, 8), u(0, 8), u(0, 10)
    if activity == "walking":
        stride = rng.uniform(15, 35)
        hip_flex = np.array([stride, -0.6 * stride]) * rng.choice([-1, 1]) + u(-4, 4)
        knee = np.where(hip_flex < 0, rng.uniform(15, 45, 2), rng.uniform(0, 15, 2))
        flex = -0.9 * hip_flex + u(-8, 8)
        elbow = u(5, 40)
    elif activity == "arms_raised":
        raised = rng.random(2) < np.array([0.8, 0.6])
        raised[rng.integers(2)] = True
        flex = np.where(raised, u(-10, 170), flex)
        abduct = np.where(raised, u(40, 175), abduct)
        elbow = np.where(raised, u(0, 100), elbow)
    elif activity == "arms_bent":
        bent = rng.random(2) < 0.75
        bent[rng.integers(2)] = True
        flex = np.where(bent, u(-20, 70), flex)
        abduct = np.where(bent, u(5, 55), abduct)
        elbow = np.where(bent, u(60, 150), elbow)
        elbow_dir = np.where(bent, u(20, 100), elbow_dir)  # toward the midline: hands on hips, arms crossed
    elif activity == "free":
        flex, abduct, elbow, elbow_dir = u(-50, 175), u(0, 120), u(0, 150), u(-30, 100)
        hip_flex, hip_abduct, knee = u(-25, 60), u(-5, 35), u(0, 90)
    return Pose(
        pose_id=int(pose_id), activity=activity, yaw=float(yaw),
        shoulder_flex=flex, shoulder_abduct=abduct, elbow=elbow, elbow_dir=elbow_dir,
        hip_flex=hip_flex, hip_abduct=hip_abduct, knee=knee,
        lean=float(rng.normal(0, 4)), bend=float(rng.normal(3, 5)),
        head_yaw=float(rng.normal(0, 12)), head_tilt=float(rng.normal(0, 6)),
        fill=float(rng.uniform(0.84, 0.98) if rng.random() < 0.8 else rng.uniform(1.2, 1.8)),
        offset=rng.uniform(-1, 1, 2),
    ).clipped()


def _rot_x(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rot_z(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


@dataclass
class Skeleton3D:
    """Joint positions in camera space (x right, y down, z toward the camera), body-height units."""

    joints: np.ndarray  # (18, 3) COCO order
    head_center: np.ndarray
    head_axes: np.ndarray  # (3, 3) rows: head's left, down, forward
    body_axes: np.ndarray  # (3, 3) rows: body's left, down, forward (camera space)
    feet: np.ndarray  # (2, 3) toe points, right then left
    hands: np.ndarray  # (2, 3)


def build_skeleton(identity: Identity, pose: Pose) -> Skeleton3D:
    """Forward kinematics: body frame X = person's left, Y = down, Z = forward; then the view yaw."""
    ident = identity
    upper = _rot_z(-pose.lean) @ _rot_x(pose.bend)  # lean sideways, bend forward
    neck = upper @ np.array([0.0, -ident.torso, 0.0])
    joints = np.zeros((NUM_KEYPOINTS, 3))
    joints[1] = neck
    sides = (-1.0, 1.0)  # right, left along X
    hands, feet = np.zeros((2, 3)), np.zeros((2, 3))
    for k, side in enumerate(sides):
        shoulder = neck + upper @ np.array([side * ident.shoulder, 0.015, 0.0])
        a, f = math.radians(pose.shoulder_abduct[k]), math.radians(pose.shoulder_flex[k])
        d_up = upper @ np.array([side * math.sin(a), math.cos(a) * math.cos(f), math.cos(a) * math.sin(f)])
        psi = math.radians(pose.elbow_dir[k])
        bend = math.cos(psi) * (upper @ np.array([0, 0, 1.0])) + math.sin(psi) * (upper @ np.array([-side, 0, 0.0]))
        bend = bend - d_up * float(bend @ d_up)
        if np.linalg.norm(bend) < 1e-3:
            bend = np.array([0.0, -1.0, 0.0])
        e = math.radians(pose.elbow[k])
        d_fore = math.cos(e) * d_up + math.sin(e) * _unit(bend)
        elbow = shoulder + d_up * ident.upper_arm
        wrist = elbow + d_fore * ident.forearm
        base = 2 if k == 0 else 5
        joints[base], joints[base + 1], joints[base + 2] = shoulder, elbow, wrist
        hands[k] = wrist + d_fore * 0.03

        hip = np.array([side * ident.hip, 0.0, 0.0])
        a, f = math.radians(pose.hip_abduct[k]), math.radians(pose.hip_flex[k])
        d_thigh = np.array([side * math.sin(a), math.cos(a) * math.cos(f), math.cos(a) * math.sin(f)])
        back = np.array([0.0, 0.0, -1.0]) - d_thigh * (-d_thigh[2])
        q = math.radians(pose.knee[k])
        d_shin = math.cos(q) * d_thigh + math.sin(q) * _unit(back)
        knee = hip + d_thigh * ident.thigh
        ankle = knee + d_shin * ident.shin
        base = 8 if k == 0 else 11
        joints[base], joints[base + 1], joints[base + 2] = hip, knee, ankle
        feet[k] = ankle + np.array([0.0, 0.025, 0.075])

    head_rot = upper @ _rot_y(pose.head_yaw) @ _rot_x(pose.head_tilt)
    head_center = neck + head_rot @ np.array([0.0, -(0.045 + ident.head), 0.005])
    left, down, fwd = head_rot[:, 0], head_rot[:, 1], head_rot[:, 2]
    r = ident.head
    joints[0] = head_center + r * (0.95 * fwd + 0.2 * down)  # nose
    joints[14] = head_center + r * (0.8 * fwd - 0.38 * left - 0.1 * down)  # right eye
    joints[15] = head_center + r * (0.8 * fwd + 0.38 * left - 0.1 * down)
    joints[16] = head_center + r * (-0.95 * left + 0.1 * down)  # right ear
    joints[17] = head_center + r * (0.95 * left + 0.1 * down)

    view = _rot_y(pose.yaw)
    to_cam = lambda p: p @ view.T  # noqa: E731
    body_axes = np.stack([upper[:, 0], upper[:, 1], upper[:, 2]])
    return Skeleton3D(
        joints=to_cam(joints), head_center=to_cam(head_center), head_axes=to_cam(head_rot.T),
        body_axes=to_cam(body_axes), feet=to_cam(feet), hands=to_cam(hands),
    )


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------

class _Canvas:
    """An RGB float image and a LIP-20 label map painted far-to-near with anti-aliased coverage."""

    def __init__(self, background: np.ndarray):
        self.image = background.copy()
        self.labels = np.zeros(background.shape[:2], dtype=np.uint8)
        self.height, self.width = background.shape[:2]

    def window(self, lo_x, hi_x, lo_y, hi_y):
        x0, x1 = max(int(math.floor(lo_x)), 0), min(int(math.ceil(hi_x)) + 1, self.width)
        y0, y1 = max(int(math.floor(lo_y)), 0), min(int(math.ceil(hi_y)) + 1, self.height)
        if x0 >= x1 or y0 >= y1:
            return None
        xs = np.arange(x0, x1, dtype=np.float32)[None, :]
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        return (slice(y0, y1), slice(x0, x1)), xs, ys

    def paint(self, where, coverage, colors, labels):
        cov = coverage[..., None]
        region = self.image[where]
        region += (colors - region) * cov
        lab = self.labels[where]
        np.copyto(lab, labels, where=coverage >= 0.5, casting="unsafe")


@dataclass
class _Item:
    depth: float
    draw: object  # callable(canvas)


class SyntheticPeople:
    """The generator. ``render(identity_id, pose_id)`` gives one deterministic sample.

    Args:
        size: (height, width) of the images, e.g. (128, 128), (256, 176) or (128, 64).
        seed: the dataset's seed; identities and poses are functions of (seed, split, id).
        split: "train", "validation" or "test"; each split has its own people and poses.
    """

    def __init__(self, size: tuple[int, int] = (128, 128), seed: int = 0, split: str = "train"):
        height, width = int(size[0]), int(size[1])
        if height < 32 or width < 16:
            raise ValueError(f"size must be at least 32x16 (HxW), got {size}")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
        self.size = (height, width)
        self.seed = int(seed)
        self.split = split

    def identity(self, identity_id: int) -> Identity:
        return sample_identity(_rng(self.seed, self.split, _IDENTITY, identity_id), identity_id)

    def pose(self, pose_id: int) -> Pose:
        return sample_pose(_rng(self.seed, self.split, _POSE, pose_id), pose_id)

    def pair(self, index: int) -> tuple[dict, dict]:
        """Benchmark pair ``index``: person ``index`` in pose 2 x index (source) and 2 x index + 1 (target), so
        that pairs never share a pose (the evaluation, validation grids and model-free baselines)."""
        ident = self.identity(index)
        return self.render(ident, self.pose(2 * index)), self.render(ident, self.pose(2 * index + 1))

    def render(self, identity: int | Identity, pose: int | Pose) -> dict:
        """One sample: ``image`` (H, W, 3) uint8, ``keypoints`` (18, 2) float32 (x, y; -1 missing),
        ``parsing`` (H, W) SPT-10 uint8, ``parsing_lip`` (H, W) LIP-20 uint8, ``identity_id``, ``pose_id``,
        ``yaw`` (degrees)."""
        ident = self.identity(identity) if not isinstance(identity, Identity) else identity
        pose = self.pose(pose) if not isinstance(pose, Pose) else pose
        skel = build_skeleton(ident, pose)
        to_px = self._placement(ident, skel, pose)
        background = self._background(ident)
        canvas = _Canvas(background)
        for item in sorted(self._items(ident, skel, to_px), key=lambda it: it.depth):
            item.draw(canvas)
        image = _clip(canvas.image * 255.0 + 0.5, 0, 255).astype(np.uint8)
        keypoints = self._keypoints(skel, to_px)
        return {
            "image": image,
            "keypoints": keypoints,
            "parsing": merge_to_spt10(canvas.labels, "lip20"),
            "parsing_lip": canvas.labels,
            "identity_id": ident.identity_id,
            "pose_id": pose.pose_id,
            "yaw": pose.yaw,
        }

    def background(self, identity: int | Identity) -> np.ndarray:
        """The identity's background alone, (H, W, 3) uint8 (what a sample shows where the parsing is 0)."""
        ident = self.identity(identity) if not isinstance(identity, Identity) else identity
        return _clip(self._background(ident) * 255.0 + 0.5, 0, 255).astype(np.uint8)

    # ---------------------------------------------------------------------------------------------

    def _placement(self, ident: Identity, skel: Skeleton3D, pose: Pose):
        """Scale (px per body unit) and offset that fit the body in the frame at the pose's fill."""
        height, width = self.size
        pts = np.concatenate([skel.joints[:, :2], skel.feet[:, :2], skel.hands[:, :2],
                              skel.head_center[None, :2] + [[0, -1.5 * ident.head]]])
        lo, hi = pts.min(0), pts.max(0)
        margin = 0.06
        extent_y = hi[1] - lo[1] + 2 * margin
        extent_x = hi[0] - lo[0] + 2 * margin
        if pose.fill > 1:  # close-up: the head near the top, the legs leave the frame
            scale = pose.fill * height / max(extent_y, 0.9)
            room_x = max(width - extent_x * scale, 0.0)
            ox = room_x / 2 * (1 + 0.5 * pose.offset[0]) - (lo[0] - margin) * scale + min(width - extent_x * scale, 0) / 2
            oy = -(lo[1] - margin) * scale + 0.03 * height * (1 + pose.offset[1])
            return scale, np.array([ox, oy])
        scale = min(pose.fill * height / extent_y, 0.97 * width / extent_x, pose.fill * height / 0.9)
        room_x = width - extent_x * scale
        room_y = height - extent_y * scale
        ox = (room_x / 2) * (1 + 0.8 * pose.offset[0]) - (lo[0] - margin) * scale
        oy = (room_y / 2) * (1 + 0.8 * pose.offset[1]) - (lo[1] - margin) * scale
        return scale, np.array([ox, oy])

    def _background(self, ident: Identity) -> np.ndarray:
        height, width = self.size
        ys = np.linspace(0, 1, height, dtype=np.float32)[:, None]
        xs = np.linspace(0, width / height, width, dtype=np.float32)[None, :]
        base = ident.background.color_a * 0.5 + 0.45
        if ident.background_kind == "plain":
            shade = (1.0 - 0.15 * ys)[..., None]
            return np.broadcast_to(base * shade, (height, width, 3)).astype(np.float32).copy()
        tex = ident.background
        wall = Texture(tex.kind, tex.color_a, tex.color_b, tex.period * 2.5, tex.angle, tex.phase, tex.waves / 3)
        img = wall(np.broadcast_to(xs, (height, width)), np.broadcast_to(ys, (height, width))).astype(np.float32)
        horizon = 0.8 + 0.1 * math.sin(ident.identity_id)
        floor = (ys > horizon)[..., None]
        return np.where(floor, ident.floor * (0.8 + 0.2 * ys[..., None]), img * 0.8 + 0.15).astype(np.float32)

    def _keypoints(self, skel: Skeleton3D, to_px) -> np.ndarray:
        scale, offset = to_px
        kp = (skel.joints[:, :2] * scale + offset).astype(np.float32)
        # A face joint is seen when its outward normal faces the camera (z toward the viewer).
        normals = skel.joints[[0, 14, 15, 16, 17]] - skel.head_center
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        visible = normals[:, 2] > np.array([0.15, 0.3, 0.3, -0.35, -0.35])
        kp[[0, 14, 15, 16, 17]] = np.where(visible[:, None], kp[[0, 14, 15, 16, 17]], -1.0)
        height, width = self.size
        outside = (kp[:, 0] < 0) | (kp[:, 1] < 0) | (kp[:, 0] > width - 1) | (kp[:, 1] > height - 1)
        kp[outside] = -1.0
        return kp

    def _items(self, ident: Identity, skel: Skeleton3D, to_px) -> list[_Item]:
        scale, offset = to_px
        px = lambda p: np.asarray(p[:2], dtype=np.float64) * scale + offset  # noqa: E731
        j = skel.joints
        g = ident.girth
        items: list[_Item] = []
        upper_label = L_COAT if ident.coat else L_UPPER

        # Arms: skin below the sleeve. Sleeve fraction covers the upper arm first, then the forearm.
        for k, (base, arm_label) in enumerate(((2, L_RARM), (5, L_LARM))):
            shoulder, elbow, wrist = j[base], j[base + 1], j[base + 2]
            s_upper = min(ident.sleeves / 0.5, 1.0)
            s_fore = max((ident.sleeves - 0.5) / 0.5, 0.0)
            items.append(self._limb(px(shoulder), px(elbow), 0.034 * g * scale, 0.027 * g * scale, scale,
                                    (shoulder[2] + elbow[2]) / 2, ident.upper, ident.skin, s_upper, upper_label, arm_label))
            items.append(self._limb(px(elbow), px(wrist), 0.026 * g * scale, 0.02 * g * scale, scale,
                                    (elbow[2] + wrist[2]) / 2 + 1e-3, ident.upper, ident.skin, s_fore, upper_label, arm_label))
            items.append(self._limb(px(wrist), px(skel.hands[k]), 0.02 * scale, 0.018 * scale, scale,
                                    skel.hands[k][2] + 2e-3, None, ident.skin, 0.0, arm_label, arm_label))

        # Legs: pants (or skin under shorts and skirts); shoes.
        pants_on_leg = ident.lower_length if ident.lower_kind != "skirt" else 0.0
        for k, (base, leg_label, shoe_label) in enumerate(((8, L_RLEG, L_RSHOE), (11, L_LLEG, L_LSHOE))):
            hip, knee, ankle = j[base], j[base + 1], j[base + 2]
            s_thigh = min(pants_on_leg / 0.5, 1.0)
            s_shin = max((pants_on_leg - 0.5) / 0.5, 0.0)
            items.append(self._limb(px(hip), px(knee), 0.05 * g * scale, 0.038 * g * scale, scale,
                                    (hip[2] + knee[2]) / 2, ident.lower, ident.skin, s_thigh, L_PANTS, leg_label))
            items.append(self._limb(px(knee), px(ankle), 0.036 * g * scale, 0.027 * g * scale, scale,
                                    (knee[2] + ankle[2]) / 2 + 1e-3, ident.lower, ident.skin, s_shin, L_PANTS, leg_label))
            items.append(self._limb(px(ankle), px(skel.feet[k]), 0.026 * scale, 0.028 * scale, scale,
                                    skel.feet[k][2] + 2e-3, None, ident.shoes, 0.0, shoe_label, shoe_label, shade=0.5))

        # Torso: chest (upper garment) and pelvis (lower garment, or the untucked hem).
        yaw = math.atan2(skel.body_axes[2][0], skel.body_axes[2][2])  # body's forward seen from the camera
        cy, sy = abs(math.cos(yaw)), abs(math.sin(yaw))
        depth = 0.075 * g
        neck = j[1]
        mid_hip = (j[8] + j[11]) / 2
        waist = mid_hip + (neck - mid_hip) * 0.18
        hem = mid_hip + (neck - mid_hip) * (0.18 - ident.untucked / max(ident.torso, 1e-3))
        half = lambda w: w * cy + depth * sy  # noqa: E731  projected half width of a body slice
        shoulder_w = half(ident.shoulder + 0.03 * g)
        waist_w = half(ident.hip + 0.035 * g)
        hip_w = half(ident.hip + 0.05 * g)
        chest_bottom = hem if ident.untucked > 0.0 else waist
        items.append(self._quad(px(neck + skel.body_axes[1] * 0.01), px(chest_bottom), shoulder_w * scale,
                                half(ident.hip + 0.04 * g) * scale, scale, 0.0, ident.upper, upper_label, shade=0.35))
        crotch = mid_hip + skel.body_axes[1] * 0.05
        if ident.lower_kind == "skirt":
            items.append(self._skirt(ident, skel, px, scale))
        items.append(self._quad(px(waist), px(crotch), waist_w * scale, hip_w * scale, scale, 1e-3,
                                ident.lower, L_SKIRT if ident.lower_kind == "skirt" else L_PANTS, shade=0.3))
        if ident.coat:  # a coat reaches down over the hips
            coat_end = mid_hip + (mid_hip - neck) * 0.45
            items.append(self._quad(px(waist), px(coat_end), waist_w * 1.05 * scale, hip_w * 1.25 * scale, scale,
                                    2e-3, ident.upper, L_COAT, shade=0.3))

        # Head, neck, hair, face details, accessories.
        hc = skel.head_center
        items.append(self._limb(px(neck), px(hc), 0.024 * g * scale, 0.024 * g * scale, scale, hc[2] - 0.02,
                                None, ident.skin * 0.93, 0.0, L_FACE, L_FACE))
        items.append(_Item(hc[2] + 3e-3, lambda c: self._draw_head(c, ident, skel, px(hc), scale)))
        if ident.hair_style in ("long", "bun"):
            back = hc - skel.head_axes[2] * ident.head * 0.6
            if ident.hair_style == "long":
                end = back + skel.head_axes[1] * (ident.head + ident.hair_length)
                items.append(self._limb(px(back), px(end), ident.head * 1.05 * scale, ident.head * 0.8 * scale, scale,
                                        back[2] - 0.05 * abs(skel.head_axes[2][2]), None, ident.hair_color, 0.0,
                                        L_HAIR, L_HAIR, shade=0.4))
            else:
                bun = hc - skel.head_axes[2] * ident.head * 0.9 - skel.head_axes[1] * ident.head * 0.6
                items.append(self._limb(px(bun), px(bun) + 0.01, ident.head * 0.5 * scale, ident.head * 0.5 * scale,
                                        scale, bun[2], None, ident.hair_color, 0.0, L_HAIR, L_HAIR, shade=0.4))
        return items

    # Part painters --------------------------------------------------------------------------------

    def _limb(self, p, q, r0, r1, scale, depth, texture, skin, covered, cloth_label, skin_label, shade=0.35):
        """A tapered capsule from p to q; the first ``covered`` fraction (along the bone) is cloth."""
        p = np.asarray(p, dtype=np.float64)
        q = np.asarray(q, dtype=np.float64)

        def draw(canvas: _Canvas):
            r = max(r0, r1)
            win = canvas.window(min(p[0], q[0]) - r - 1, max(p[0], q[0]) + r + 1,
                                min(p[1], q[1]) - r - 1, max(p[1], q[1]) + r + 1)
            if win is None:
                return
            where, xs, ys = win
            d = q - p
            length2 = max(float(d @ d), 1e-6)
            length = math.sqrt(length2)
            rx, ry = xs - p[0], ys - p[1]
            along = (rx * d[0] + ry * d[1]) / length2
            t = _clip(along, 0.0, 1.0)
            cross = (rx * d[1] - ry * d[0]) / length
            dist = np.sqrt((rx - t * d[0]) ** 2 + (ry - t * d[1]) ** 2)
            radius = r0 + (r1 - r0) * t
            coverage = _clip(radius - dist + 0.5, 0.0, 1.0)
            if not coverage.any():
                return
            rel = _clip(cross / np.maximum(radius, 1e-3), -1, 1)
            light = (1.0 - shade * rel * rel)[..., None]
            if texture is None or covered <= 0:
                colors = skin * light
                labels = skin_label
            else:
                inv = 1.0 / scale
                cloth = texture(cross * inv, along * (length * inv)) * light
                is_cloth = along <= covered
                colors = np.where(is_cloth[..., None], cloth, skin * light) if covered < 1 else cloth
                labels = np.where(is_cloth, cloth_label, skin_label) if covered < 1 else cloth_label
            canvas.paint(where, coverage, colors, labels)

        return _Item(depth, draw)

    def _quad(self, top, bottom, half_top, half_bottom, scale, depth, texture, label, shade=0.3):
        """A trapezoid around the axis top->bottom, textured in its own (across, along) coordinates."""
        top = np.asarray(top, dtype=np.float64)
        bottom = np.asarray(bottom, dtype=np.float64)

        def draw(canvas: _Canvas):
            d = bottom - top
            length = max(math.hypot(d[0], d[1]), 1e-6)
            axis = d / length
            normal = np.array([-axis[1], axis[0]])
            r = max(half_top, half_bottom)
            win = canvas.window(min(top[0], bottom[0]) - r - 1, max(top[0], bottom[0]) + r + 1,
                                min(top[1], bottom[1]) - r - 1, max(top[1], bottom[1]) + r + 1)
            if win is None:
                return
            where, xs, ys = win
            rx, ry = xs - top[0], ys - top[1]
            along = rx * axis[0] + ry * axis[1]
            cross = rx * normal[0] + ry * normal[1]
            t = _clip(along / length, 0.0, 1.0)
            half = half_top + (half_bottom - half_top) * t
            sdf = np.maximum(np.abs(cross) - half, np.maximum(-along, along - length))
            coverage = _clip(0.5 - sdf, 0.0, 1.0)
            if not coverage.any():
                return
            rel = _clip(cross / np.maximum(half, 1e-3), -1, 1)
            light = (1.0 - shade * rel * rel)[..., None]
            colors = texture(cross / scale, along / scale) * light
            canvas.paint(where, coverage, colors, label)

        return _Item(depth, draw)

    def _skirt(self, ident: Identity, skel: Skeleton3D, px, scale) -> _Item:
        """A skirt from the waist to ``lower_length`` of the thighs, flaring with the legs' spread."""
        j = skel.joints
        mid_hip = (j[8] + j[11]) / 2
        waist = mid_hip + (j[1] - mid_hip) * 0.18
        length = ident.lower_length * (ident.thigh + ident.shin)
        hems = []
        for hip, knee, ankle in ((j[8], j[9], j[10]), (j[11], j[12], j[13])):
            along = min(length, ident.thigh)
            p = hip + _unit(knee - hip) * along
            if length > ident.thigh:
                p = knee + _unit(ankle - knee) * (length - ident.thigh)
            hems.append(px(p))
        hems = np.array(hems)
        top = px(waist)
        bottom = hems.mean(0)
        spread = np.linalg.norm(hems[0] - hems[1]) / 2
        yaw = math.atan2(skel.body_axes[2][0], skel.body_axes[2][2])
        base = (ident.hip + 0.05 * ident.girth) * abs(math.cos(yaw)) + 0.08 * ident.girth * abs(math.sin(yaw))
        half_top = base * scale
        half_bottom = max(half_top * 1.25, spread + 0.055 * ident.girth * scale)
        depth = max(j[9][2], j[12][2], j[8][2], j[11][2]) + 0.01
        return self._quad(top, bottom, half_top, half_bottom, scale, depth, ident.lower, L_SKIRT, shade=0.25)

    def _draw_head(self, canvas: _Canvas, ident: Identity, skel: Skeleton3D, center, scale):
        """Head ellipse split into face and hair on the 3D head sphere; eyes and mouth in front views."""
        r = ident.head * scale
        ry = r * 1.15
        win = canvas.window(center[0] - r - 2, center[0] + r + 2, center[1] - ry - 2, center[1] + ry + 2)
        if win is None:
            return
        where, xs, ys = win
        nx = (xs - center[0]) / r
        ny = (ys - center[1]) / ry
        rho = np.sqrt(nx * nx + ny * ny)
        coverage = _clip((1.0 - rho) * r + 0.5, 0.0, 1.0)
        nz = np.sqrt(_clip(1.0 - rho * rho, 0.0, 1.0))
        # Surface normal in head coordinates: project the camera-space normal onto the head axes.
        left, down, fwd = skel.head_axes
        n_fwd = nx * fwd[0] + ny * fwd[1] + nz * fwd[2]
        n_up = -(nx * down[0] + ny * down[1] + nz * down[2])
        n_side = nx * left[0] + ny * left[1] + nz * left[2]
        style = ident.hair_style
        line = {"cropped": 0.55, "short": ident.hairline, "long": ident.hairline - 0.1, "bun": ident.hairline}[style]
        hair = (n_up > line) | (n_fwd < {"cropped": -0.5, "short": -0.2, "long": 0.0, "bun": -0.15}[style])
        if style == "long":
            hair |= (np.abs(n_side) > 0.75) & (n_up > -0.5)
        light = (0.75 + 0.25 * nz)[..., None]
        colors = np.where(hair[..., None], ident.hair_color * light, ident.skin * light)
        labels = np.where(hair, L_HAIR, L_FACE).astype(np.uint8)

        # Face details where the front of the head faces the camera.
        if fwd[2] > 0.15:
            for eye_side in (-1.0, 1.0):
                e_dir = 0.8 * fwd + eye_side * 0.38 * left - 0.1 * down
                e_dir = e_dir / np.linalg.norm(e_dir)
                if e_dir[2] > 0.2:
                    ex, ey = center[0] + e_dir[0] * r, center[1] + e_dir[1] * ry
                    eye = ((xs - ex) ** 2 + (ys - ey) ** 2) < (0.14 * r) ** 2 + 0.3
                    colors = np.where(eye[..., None], np.array([0.08, 0.06, 0.05]), colors)
            m_dir = _unit(0.85 * fwd + 0.5 * down)
            mx, my = center[0] + m_dir[0] * r, center[1] + m_dir[1] * ry
            mouth = (((xs - mx) / (0.3 * r)) ** 2 + ((ys - my) / (0.09 * r + 0.5)) ** 2) < 1.0
            colors = np.where(mouth[..., None], np.array([0.6, 0.15, 0.15]), colors)
            if ident.sunglasses:
                g_dir = _unit(0.85 * fwd - 0.1 * down)
                gx, gy = center[0] + g_dir[0] * r, center[1] + g_dir[1] * ry
                glasses = (((xs - gx) / (0.7 * r)) ** 2 + ((ys - gy) / (0.16 * r + 0.5)) ** 2) < 1.0
                colors = np.where(glasses[..., None], np.array([0.05, 0.05, 0.08]), colors)
                labels = np.where(glasses & (coverage > 0), L_SUNGLASSES, labels).astype(np.uint8)
        if ident.hat is not None:
            hat = n_up > 0.45
            colors = np.where(hat[..., None], ident.hat(nx * 0.05, ny * 0.05) * light, colors)
            labels = np.where(hat, L_HAT, labels).astype(np.uint8)
        canvas.paint(where, coverage, colors, labels)


# --------------------------------------------------------------------------------------------------
# datasets.Dataset, pairs, CLI
# --------------------------------------------------------------------------------------------------

def dataset_features():
    from datasets import Array2D, Features, Image as ImageFeature, Value

    return Features({
        "image": ImageFeature(),
        "parsing": ImageFeature(),
        "parsing_lip": ImageFeature(),
        "keypoints": Array2D(shape=(NUM_KEYPOINTS, 2), dtype="float32"),
        "identity_id": Value("int32"),
        "pose_id": Value("int32"),
        "yaw": Value("float32"),
    })


def _records(num_identities, poses_per_identity, size, seed, split, progress):
    from tqdm.auto import tqdm

    people = SyntheticPeople(size, seed, split)
    total = num_identities * poses_per_identity
    with tqdm(total=total, desc=f"SyntheticPeople {split}", disable=not progress, unit="img") as bar:
        for identity_id in range(num_identities):
            ident = people.identity(identity_id)
            for k in range(poses_per_identity):
                sample = people.render(ident, identity_id * poses_per_identity + k)
                sample["image"] = Image.fromarray(sample["image"])
                sample["parsing"] = Image.fromarray(sample["parsing"], mode="L")
                sample["parsing_lip"] = Image.fromarray(sample["parsing_lip"], mode="L")
                yield sample
                bar.update(1)


def make_dataset(
    num_identities: int,
    poses_per_identity: int,
    size: tuple[int, int] = (128, 128),
    seed: int = 0,
    split: str = "train",
    progress: bool = False,
):
    """SyntheticPeople as a ``datasets.Dataset``.

    Columns: ``image`` and ``parsing`` (SPT-10 label values) / ``parsing_lip`` (LIP-20) as Image
    features, ``keypoints`` (18, 2) float32, ``identity_id``, ``pose_id``, ``yaw``. Sample
    ``i * poses_per_identity + k`` is identity ``i`` in pose ``i * poses_per_identity + k``.
    ``save_to_disk`` and ``push_to_hub`` work on the result.
    """
    from datasets import Dataset

    if num_identities < 1 or poses_per_identity < 1:
        raise ValueError(f"need at least one identity and one pose, got {num_identities} x {poses_per_identity}")
    records = list(_records(num_identities, poses_per_identity, tuple(size), seed, split, progress))
    columns = {name: [r[name] for r in records] for name in dataset_features()}
    return Dataset.from_dict(columns, features=dataset_features(), split=split)


def make_pairs(identity_ids, num_pairs: int | None = None, seed: int = 0) -> list[tuple[int, int]]:
    """(source, target) row pairs of the same identity in different rows (so different poses).

    ``identity_ids`` is the dataset's ``identity_id`` column (or the dataset itself). With ``num_pairs``
    None, every ordered pair within each identity; else that many, drawn without replacement,
    deterministic for ``seed``.
    """
    if hasattr(identity_ids, "column_names"):
        identity_ids = identity_ids["identity_id"]
    ids = np.asarray(list(identity_ids))
    groups: dict[int, list[int]] = {}
    for row, ident in enumerate(ids.tolist()):
        groups.setdefault(ident, []).append(row)
    pairs = [(a, b) for rows in groups.values() for a in rows for b in rows if a != b]
    if not pairs:
        raise ValueError("no identity appears in two rows: pairs need at least two poses per identity")
    if num_pairs is None or num_pairs >= len(pairs):
        return pairs
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pairs), size=num_pairs, replace=False)
    return [pairs[i] for i in sorted(chosen)]


def sample_grid(people: SyntheticPeople, identity_ids, poses_per_identity: int = 4) -> Image.Image:
    """A figure: per identity, each pose as image | skeleton overlay | SPT-10 parsing overlay."""
    from ..parsing import overlay
    from ..pose import draw_skeleton

    height, width = people.size
    cols = poses_per_identity * 3
    grid = Image.new("RGB", (cols * width + (poses_per_identity - 1) * 4, len(identity_ids) * height), "white")
    for row, ident in enumerate(identity_ids):
        for k in range(poses_per_identity):
            s = people.render(ident, ident * poses_per_identity + k)
            x0 = k * (3 * width + 4)
            grid.paste(Image.fromarray(s["image"]), (x0, row * height))
            grid.paste(draw_skeleton(s["image"], s["keypoints"]), (x0 + width, row * height))
            grid.paste(overlay(s["image"], s["parsing"], 0.7), (x0 + 2 * width, row * height))
    return grid


def write_examples(out_dir: str, people: SyntheticPeople, identity_ids, poses_per_identity: int = 2) -> list[str]:
    """Write ``<name>.png``, ``<name>.json`` (keypoints) and ``<name>_parsing.png`` per sample."""
    from ..parsing import save_parsing
    from ..pose import save_keypoints_json

    os.makedirs(out_dir, exist_ok=True)
    names = []
    for ident in identity_ids:
        for k in range(poses_per_identity):
            s = people.render(ident, ident * poses_per_identity + k)
            name = f"synthetic_{people.split}_id{ident:04d}_pose{s['pose_id']:04d}"
            Image.fromarray(s["image"]).save(os.path.join(out_dir, f"{name}.png"))
            save_keypoints_json(os.path.join(out_dir, f"{name}.json"), s["keypoints"], people.size)
            save_parsing(os.path.join(out_dir, f"{name}_parsing.png"), s["parsing"])
            names.append(name)
    return names


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m spt.data.synthetic", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write a datasets.Dataset here (save_to_disk)")
    parser.add_argument("--identities", type=int, default=200)
    parser.add_argument("--poses", type=int, default=8, help="poses per identity")
    parser.add_argument("--size", type=int, nargs=2, default=(128, 128), metavar=("H", "W"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="train", choices=sorted(SPLITS))
    parser.add_argument("--grid", help="also write a PNG grid of samples (image | skeleton | parsing)")
    parser.add_argument("--examples", help="also write example files (image, keypoints JSON, parsing PNG) here")
    args = parser.parse_args(argv)
    if not (args.out or args.grid or args.examples):
        parser.error("nothing to do: give --out, --grid or --examples")
    people = SyntheticPeople(tuple(args.size), args.seed, args.split)
    if args.grid:
        sample_grid(people, list(range(min(args.identities, 6))), 4).save(args.grid)
        print(f"wrote {args.grid}")
    if args.examples:
        names = write_examples(args.examples, people, list(range(min(args.identities, 4))), 2)
        print(f"wrote {len(names)} examples to {args.examples}")
    if args.out:
        ds = make_dataset(args.identities, args.poses, tuple(args.size), args.seed, args.split, progress=True)
        ds.save_to_disk(args.out)
        print(f"wrote {len(ds)} samples to {args.out}")


if __name__ == "__main__":
    main()
