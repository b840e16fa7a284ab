"""Poses: a 3D kinematic chain with joint limits, seen from a yaw, and the walking cycle."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...pose import NUM_KEYPOINTS
from .identity import Identity, _clip

# Joint limits in degrees: (low, high).
LIMITS = {
    "shoulder_flex": (-50, 175),
    "shoulder_abduct": (0, 175),
    "elbow": (0, 150),
    "elbow_dir": (-30, 100),
    "hip_flex": (-35, 95),
    "hip_abduct": (-5, 40),
    "knee": (0, 125),
    "lean": (-12, 12),
    "bend": (-10, 25),
    "head_yaw": (-35, 35),
    "head_tilt": (-15, 15),
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
            setattr(
                self, name, _clip(value, low, high) if isinstance(value, np.ndarray) else float(_clip(value, low, high))
            )
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
        poses.append(
            Pose(
                pose_id=k,
                activity="walking",
                yaw=float(yaw),
                shoulder_flex=-0.8 * hip_flex,
                shoulder_abduct=np.full(2, 8.0),
                elbow=15 + 10 * np.cos(phase) ** 2,
                elbow_dir=np.full(2, 30.0),
                hip_flex=hip_flex,
                hip_abduct=np.full(2, 3.0),
                knee=5 + 40 * np.maximum(np.cos(phase), 0),
                lean=0.0,
                bend=3.0,
                head_yaw=0.0,
                head_tilt=0.0,
                fill=0.9,
                offset=np.zeros(2),
            ).clipped()
        )
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
        pose_id=int(pose_id),
        activity=activity,
        yaw=float(yaw),
        shoulder_flex=flex,
        shoulder_abduct=abduct,
        elbow=elbow,
        elbow_dir=elbow_dir,
        hip_flex=hip_flex,
        hip_abduct=hip_abduct,
        knee=knee,
        lean=float(rng.normal(0, 4)),
        bend=float(rng.normal(3, 5)),
        head_yaw=float(rng.normal(0, 12)),
        head_tilt=float(rng.normal(0, 6)),
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
        joints=to_cam(joints),
        head_center=to_cam(head_center),
        head_axes=to_cam(head_rot.T),
        body_axes=to_cam(body_axes),
        feet=to_cam(feet),
        hands=to_cam(hands),
    )
