"""The Animate tab: pose sequences (a walking cycle, a morph to the target and back, or an upload)."""

from __future__ import annotations

import json

import gradio as gr
import numpy as np
from PIL import Image

from ..data.synthetic import walking_cycle
from ..pose import keypoints_from_json, rescale_keypoints, validate_keypoints
from .errors import output_path
from .model import run_pipeline
from .sources import Person, people
from .views import enlarge

MOTIONS = ("walking cycle", "to the target pose and back", "uploaded keypoint sequence")


def read_pose_sequence(path: str, size: tuple[int, int]) -> list[np.ndarray]:
    """Poses from a JSON file: a list of poses (each 18 [x, y] pairs or {"keypoints": ...}), or
    {"frames": [...]}; coordinates in the model's frame unless a "size" says otherwise."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise gr.Error(f"The keypoint sequence must be a JSON file: {err}") from None
    frames = data.get("frames") if isinstance(data, dict) else data
    if not isinstance(frames, list) or not 2 <= len(frames) <= 64:
        raise gr.Error('The keypoint sequence must hold 2 to 64 poses: [pose, pose, ...] or {"frames": [...]}')
    frame_size = tuple(data.get("size", size)) if isinstance(data, dict) else size
    poses = []
    for k, pose in enumerate(frames):
        try:
            kp = validate_keypoints(keypoints_from_json(pose), frame_size, name=f"pose {k}")
        except ValueError as err:
            raise gr.Error(f"Bad keypoints in the sequence (pose {k}): {err}") from None
        poses.append(rescale_keypoints(kp, frame_size, size))
    return poses


def motion_poses(motion: str, source: Person, target_keypoints, frames: int, sequence_path) -> list[np.ndarray]:
    size = source.size
    if motion == "walking cycle":
        test = people("test", size)
        view = test.pose(source.pose_id).yaw if source.pose_id is not None else 0.0
        person = source.person_id if source.person_id is not None else 0
        return [test.render(person, pose)["keypoints"] for pose in walking_cycle(frames, yaw=view)]
    if motion == "uploaded keypoint sequence":
        if not sequence_path:
            raise gr.Error("Upload the keypoint sequence (a JSON list of poses) first")
        return read_pose_sequence(sequence_path, size)
    if motion != "to the target pose and back":
        raise gr.Error(f"Unknown motion {motion!r}; choose one of: {', '.join(MOTIONS)}")
    if target_keypoints is None:
        raise gr.Error("Choose a target pose in the Pose transfer tab first")
    start, end = np.asarray(source.keypoints), np.asarray(target_keypoints, np.float32)
    both = (start[:, 0] >= 0) & (end[:, 0] >= 0)
    poses = []
    for t in np.concatenate([np.linspace(0, 1, frames), np.linspace(1, 0, frames)[1:-1]]):
        # Joints present at both ends move linearly; the others appear or vanish halfway.
        pose = np.where(both[:, None], (1 - t) * start + t * end, end if t > 0.5 else start).astype(np.float32)
        pose[~both & ((end[:, 0] < 0) if t > 0.5 else (start[:, 0] < 0))] = -1
        poses.append(pose)
    return poses


def render_animation(source: Person, poses: list[np.ndarray], progress, pipe=None) -> str:
    """One generation per pose (with ``pipe``, a pipeline fitted to the photo, when given), saved as an animated GIF
    (in the Space's output folder); returns its path."""
    images = [
        Image.fromarray(enlarge(run_pipeline(source, pose, pipe=pipe)[0]))
        for pose in progress.tqdm(poses, desc="rendering")
    ]
    path = output_path("animation.gif")
    images[0].save(path, save_all=True, append_images=images[1:], duration=90, loop=0)
    return path
