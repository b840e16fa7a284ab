"""How well a pose detector finds the joints of clean, held-out images: PCKh@0.5 overall and per joint.

The pose loss steers H_A with the detector Φ and the evaluation reads the outputs' pose with it, so Φ must be
right on real images of the training world before either means anything. ``held_out_people`` draws people and
poses the training never saw (SyntheticPeople's ``validation`` split, a stream of its own); ``detector_scores`` runs
any detector over them: ``PoseDetector`` (our Φ) or a callable image -> keypoints such as BlazePose.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.synthetic import make_people
from ..pose import KEYPOINT_NAMES
from ..processor import uint8_to_tensor
from .metrics import pckh_joints

HELD_OUT_SPLIT = "validation"


def held_out_people(
    size: tuple[int, int], count: int = 256, seed: int = 0, split: str = HELD_OUT_SPLIT, world: str = "2d"
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` SyntheticPeople renders (of ``world``) of held-out people in held-out poses: images
    (N, H, W, 3) uint8 and keypoints (N, 18, 2)."""
    people = make_people(world, tuple(size), seed=seed, split=split)
    samples = [people.render(i, 2 * i + 1) for i in range(count)]
    return np.stack([s["image"] for s in samples]), np.stack([s["keypoints"] for s in samples]).astype(np.float32)


@torch.no_grad()
def detect(detector, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Keypoints (N, 18, 2) of (N, H, W, 3) uint8 images by a ``PoseDetector``, or by a callable that maps one
    image to its keypoints or to (keypoints, anything), as ``spt.estimation``'s front-ends do."""
    if isinstance(detector, torch.nn.Module):
        device, dtype = detector.device, detector.dtype
        was_training = detector.training
        detector.eval()
        found = [
            detector.detect(uint8_to_tensor(images[i : i + batch_size]).to(device, dtype)).float().cpu().numpy()
            for i in range(0, len(images), batch_size)
        ]
        detector.train(was_training)
        return np.concatenate(found)
    answers = [detector(image) for image in images]
    return np.stack([np.asarray(a[0] if isinstance(a, tuple) else a, np.float32) for a in answers])


def detector_scores(detector, images: np.ndarray, keypoints: np.ndarray) -> dict:
    """PCKh@0.5 pooled over joints (``pckh``), per joint (``per_joint``), and how many joints were scored."""
    found = detect(detector, images)
    correct = np.zeros(len(KEYPOINT_NAMES))
    total = np.zeros(len(KEYPOINT_NAMES))
    for k in range(len(images)):
        ok, present = pckh_joints(found[k], keypoints[k])
        correct += ok
        total += present
    per_joint = {name: (float(c / t) if t else None) for name, c, t in zip(KEYPOINT_NAMES, correct, total)}
    return {
        "pckh": float(correct.sum() / max(1, total.sum())),
        "per_joint": per_joint,
        "joints": int(total.sum()),
        "images": len(images),
    }
