"""Rendering: parts painted far-to-near, anti-aliased through signed distances, with parsing and keypoints."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...parsing import merge_to_spt10
from .identity import _IDENTITY, _POSE, SPLITS, Identity, Texture, _clip, _rng, sample_identity
from .kinematics import Pose, Skeleton3D, _unit, build_skeleton, sample_pose

# LIP-20 label indices used by the renderer.
L_BG, L_HAT, L_HAIR, L_SUNGLASSES, L_UPPER, L_COAT, L_PANTS, L_SKIRT, L_FACE = 0, 1, 2, 4, 5, 7, 9, 12, 13
L_LARM, L_RARM, L_LLEG, L_RLEG, L_LSHOE, L_RSHOE = 14, 15, 16, 17, 18, 19


FACE_JOINTS = [0, 14, 15, 16, 17]  # nose, eyes, ears
_FACING = np.array([0.15, 0.3, 0.3, -0.35, -0.35])  # ears stay visible further round, as OpenPose reports them


def seen_keypoints(keypoints: np.ndarray, facing: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Keypoints (18, 2) pixels with what a camera does not see marked missing (-1): a face joint whose outward
    normal faces away (``facing``: its cosine with the direction to the camera, nose/eyes/ears), and any joint
    outside the (height, width) frame."""
    kp = keypoints.copy()
    kp[FACE_JOINTS] = np.where((facing > _FACING)[:, None], kp[FACE_JOINTS], -1.0)
    height, width = size
    outside = (kp[:, 0] < 0) | (kp[:, 1] < 0) | (kp[:, 0] > width - 1) | (kp[:, 1] > height - 1)
    kp[outside] = -1.0
    return kp


def fit_frame(lo, hi, margin: float, reference: float, fill: float, offset, size: tuple[int, int]):
    """Scale (pixels per unit) and offset (2,) that frame a person whose extent is [lo, hi] (x, y) with a
    ``margin``: ``fill`` of the frame's height for a standing person of height ``reference`` (both worlds'
    units), placed by ``offset`` in [-1, 1] within the free room. ``fill`` above 1 is a close-up: the head
    near the top and the legs leaving the frame."""
    height, width = size
    extent_y = hi[1] - lo[1] + 2 * margin
    extent_x = hi[0] - lo[0] + 2 * margin
    if fill > 1:
        scale = fill * height / max(extent_y, reference)
        room_x = max(width - extent_x * scale, 0.0)
        ox = room_x / 2 * (1 + 0.5 * offset[0]) - (lo[0] - margin) * scale + min(width - extent_x * scale, 0) / 2
        oy = -(lo[1] - margin) * scale + 0.03 * height * (1 + offset[1])
        return scale, np.array([ox, oy])
    scale = min(fill * height / extent_y, 0.97 * width / extent_x, fill * height / reference)
    room_x = width - extent_x * scale
    room_y = height - extent_y * scale
    ox = (room_x / 2) * (1 + 0.8 * offset[0]) - (lo[0] - margin) * scale
    oy = (room_y / 2) * (1 + 0.8 * offset[1]) - (lo[1] - margin) * scale
    return scale, np.array([ox, oy])


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

    def around_segment(self, p, q, r):
        """``window`` over the segment p->q grown by ``r`` (and a pixel of anti-aliasing)."""
        return self.window(
            min(p[0], q[0]) - r - 1, max(p[0], q[0]) + r + 1, min(p[1], q[1]) - r - 1, max(p[1], q[1]) + r + 1
        )

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


class PeopleWorld:
    """What every SyntheticPeople world shares: its size, seed and split, the pose stream (pose ``i`` is the same
    in every world) and the benchmark pairs. A world adds ``identity(id)``, ``render(identity, pose)`` and
    ``background(identity)``."""

    world = ""

    def __init__(self, size: tuple[int, int], seed: int = 0, split: str = "train"):
        height, width = int(size[0]), int(size[1])
        if height < 32 or width < 16:
            raise ValueError(f"size must be at least 32x16 (HxW), got {size}")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
        self.size = (height, width)
        self.seed = int(seed)
        self.split = split

    def pose(self, pose_id: int) -> Pose:
        return sample_pose(_rng(self.seed, self.split, _POSE, pose_id), pose_id)

    def pair(self, index: int) -> tuple[dict, dict]:
        """Benchmark pair ``index``: person ``index`` in pose 2 x index (source) and 2 x index + 1 (target), so
        that pairs never share a pose (the evaluation, validation grids and model-free baselines)."""
        ident = self.identity(index)
        return self.render(ident, self.pose(2 * index)), self.render(ident, self.pose(2 * index + 1))


class SyntheticPeople(PeopleWorld):
    """The generator. ``render(identity_id, pose_id)`` gives one deterministic sample.

    Args:
        size: (height, width) of the images, e.g. (128, 128), (256, 176) or (128, 64).
        seed: the dataset's seed; identities and poses are functions of (seed, split, id).
        split: "train", "validation" or "test"; each split has its own people and poses.
    """

    world = "2d"

    def __init__(self, size: tuple[int, int] = (128, 128), seed: int = 0, split: str = "train"):
        super().__init__(size, seed, split)

    def identity(self, identity_id: int) -> Identity:
        return sample_identity(_rng(self.seed, self.split, _IDENTITY, identity_id), identity_id)

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
        pts = np.concatenate(
            [
                skel.joints[:, :2],
                skel.feet[:, :2],
                skel.hands[:, :2],
                skel.head_center[None, :2] + [[0, -1.5 * ident.head]],
            ]
        )
        return fit_frame(pts.min(0), pts.max(0), 0.06, 0.9, pose.fill, pose.offset, self.size)

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
        # The face joints' outward normals; z points toward the viewer.
        normals = skel.joints[FACE_JOINTS] - skel.head_center
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        return seen_keypoints(kp, normals[:, 2], self.size)

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
            items.append(
                self._limb(
                    px(shoulder),
                    px(elbow),
                    0.034 * g * scale,
                    0.027 * g * scale,
                    scale,
                    (shoulder[2] + elbow[2]) / 2,
                    ident.upper,
                    ident.skin,
                    s_upper,
                    upper_label,
                    arm_label,
                )
            )
            items.append(
                self._limb(
                    px(elbow),
                    px(wrist),
                    0.026 * g * scale,
                    0.02 * g * scale,
                    scale,
                    (elbow[2] + wrist[2]) / 2 + 1e-3,
                    ident.upper,
                    ident.skin,
                    s_fore,
                    upper_label,
                    arm_label,
                )
            )
            items.append(
                self._limb(
                    px(wrist),
                    px(skel.hands[k]),
                    0.02 * scale,
                    0.018 * scale,
                    scale,
                    skel.hands[k][2] + 2e-3,
                    None,
                    ident.skin,
                    0.0,
                    arm_label,
                    arm_label,
                )
            )

        # Legs: pants (or skin under shorts and skirts); shoes.
        pants_on_leg = ident.lower_length if ident.lower_kind != "skirt" else 0.0
        for k, (base, leg_label, shoe_label) in enumerate(((8, L_RLEG, L_RSHOE), (11, L_LLEG, L_LSHOE))):
            hip, knee, ankle = j[base], j[base + 1], j[base + 2]
            s_thigh = min(pants_on_leg / 0.5, 1.0)
            s_shin = max((pants_on_leg - 0.5) / 0.5, 0.0)
            items.append(
                self._limb(
                    px(hip),
                    px(knee),
                    0.05 * g * scale,
                    0.038 * g * scale,
                    scale,
                    (hip[2] + knee[2]) / 2,
                    ident.lower,
                    ident.skin,
                    s_thigh,
                    L_PANTS,
                    leg_label,
                )
            )
            items.append(
                self._limb(
                    px(knee),
                    px(ankle),
                    0.036 * g * scale,
                    0.027 * g * scale,
                    scale,
                    (knee[2] + ankle[2]) / 2 + 1e-3,
                    ident.lower,
                    ident.skin,
                    s_shin,
                    L_PANTS,
                    leg_label,
                )
            )
            items.append(
                self._limb(
                    px(ankle),
                    px(skel.feet[k]),
                    0.026 * scale,
                    0.028 * scale,
                    scale,
                    skel.feet[k][2] + 2e-3,
                    None,
                    ident.shoes,
                    0.0,
                    shoe_label,
                    shoe_label,
                    shade=0.5,
                )
            )

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
        items.append(
            self._quad(
                px(neck + skel.body_axes[1] * 0.01),
                px(chest_bottom),
                shoulder_w * scale,
                half(ident.hip + 0.04 * g) * scale,
                scale,
                0.0,
                ident.upper,
                upper_label,
                shade=0.35,
            )
        )
        crotch = mid_hip + skel.body_axes[1] * 0.05
        if ident.lower_kind == "skirt":
            items.append(self._skirt(ident, skel, px, scale))
        items.append(
            self._quad(
                px(waist),
                px(crotch),
                waist_w * scale,
                hip_w * scale,
                scale,
                1e-3,
                ident.lower,
                L_SKIRT if ident.lower_kind == "skirt" else L_PANTS,
                shade=0.3,
            )
        )
        if ident.coat:  # a coat reaches down over the hips
            coat_end = mid_hip + (mid_hip - neck) * 0.45
            items.append(
                self._quad(
                    px(waist),
                    px(coat_end),
                    waist_w * 1.05 * scale,
                    hip_w * 1.25 * scale,
                    scale,
                    2e-3,
                    ident.upper,
                    L_COAT,
                    shade=0.3,
                )
            )

        # Head, neck, hair, face details, accessories.
        hc = skel.head_center
        items.append(
            self._limb(
                px(neck),
                px(hc),
                0.024 * g * scale,
                0.024 * g * scale,
                scale,
                hc[2] - 0.02,
                None,
                ident.skin * 0.93,
                0.0,
                L_FACE,
                L_FACE,
            )
        )
        items.append(_Item(hc[2] + 3e-3, lambda c: self._draw_head(c, ident, skel, px(hc), scale)))
        if ident.hair_style in ("long", "bun"):
            back = hc - skel.head_axes[2] * ident.head * 0.6
            if ident.hair_style == "long":
                end = back + skel.head_axes[1] * (ident.head + ident.hair_length)
                items.append(
                    self._limb(
                        px(back),
                        px(end),
                        ident.head * 1.05 * scale,
                        ident.head * 0.8 * scale,
                        scale,
                        back[2] - 0.05 * abs(skel.head_axes[2][2]),
                        None,
                        ident.hair_color,
                        0.0,
                        L_HAIR,
                        L_HAIR,
                        shade=0.4,
                    )
                )
            else:
                bun = hc - skel.head_axes[2] * ident.head * 0.9 - skel.head_axes[1] * ident.head * 0.6
                items.append(
                    self._limb(
                        px(bun),
                        px(bun) + 0.01,
                        ident.head * 0.5 * scale,
                        ident.head * 0.5 * scale,
                        scale,
                        bun[2],
                        None,
                        ident.hair_color,
                        0.0,
                        L_HAIR,
                        L_HAIR,
                        shade=0.4,
                    )
                )
        return items

    # Part painters --------------------------------------------------------------------------------

    def _limb(self, p, q, r0, r1, scale, depth, texture, skin, covered, cloth_label, skin_label, shade=0.35):
        """A tapered capsule from p to q; the first ``covered`` fraction (along the bone) is cloth."""
        p = np.asarray(p, dtype=np.float64)
        q = np.asarray(q, dtype=np.float64)

        def draw(canvas: _Canvas):
            r = max(r0, r1)
            win = canvas.around_segment(p, q, r)
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
            win = canvas.around_segment(top, bottom, r)
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
