"""Checks of a generated person that need no true target image, for photos where none exists.

For one output (generated from a source image and parsing, asked for a target pose, with the target parsing
the method predicted) ``PhotoChecks`` measures:

* **pose kept** (``pose_pckh``): BlazePose (``spt.estimation.MediaPipePose``, independent of our detector)
  on the output; PCKh@0.5 of its joints against the asked pose. A joint it does not see is a miss.
* **shape kept** (``shape_iou``): IoU of BlazePose's person mask on the output with the person of the
  method's target parsing.
* **appearance kept**: ``delta_e_<region>``, the CIELAB distance (CIE76) between the mean colours of a
  region in the source and in the output (each region read from that image's own parsing): upper clothes,
  lower clothes (pants and skirt), hair and skin (face and arms); a region absent from either is skipped.
  ``lpips_person``: LPIPS-alex between the source person and the output person, each cut to the box of its
  parsing's person and resized to the model's size.

Outputs are small (128x64 for the embedded model): BlazePose sees them enlarged to at least 256 rows.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image
from skimage.color import rgb2lab

from ..estimation import MediaPipePose
from ..parsing import FACE, HAIR, LEFT_ARM, PANTS, RIGHT_ARM, SKIRT, UPPER_CLOTHES
from ..pose import rescale_keypoints
from ..processor import resize_labels, uint8_to_tensor
from .lpips import LPIPS
from .metrics import pckh

REGIONS = {"upper": (UPPER_CLOTHES,), "lower": (PANTS, SKIRT), "hair": (HAIR,), "skin": (FACE, LEFT_ARM, RIGHT_ARM)}
CHECKS = ("pose_pckh", "shape_iou", *(f"delta_e_{r}" for r in REGIONS), "lpips_person")
MIN_ROWS = 256


def person_box(parsing: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), exclusive ends, of the person in a label map; None when there is none."""
    rows, cols = np.nonzero(parsing > 0)
    if not len(rows):
        return None
    return rows.min(), rows.max() + 1, cols.min(), cols.max() + 1


def person_crop(image: np.ndarray, parsing: np.ndarray, size: tuple[int, int]) -> np.ndarray | None:
    box = person_box(parsing)
    if box is None:
        return None
    top, bottom, left, right = box
    return np.asarray(Image.fromarray(image[top:bottom, left:right]).resize((size[1], size[0]), Image.BICUBIC))


def region_delta_e(
    source: np.ndarray, source_parsing: np.ndarray, output: np.ndarray, output_parsing: np.ndarray
) -> dict[str, float | None]:
    """Per region, the CIE76 distance between the mean Lab colours of the source's and the output's pixels."""
    lab_s, lab_o = rgb2lab(source), rgb2lab(output)
    out = {}
    for region, labels in REGIONS.items():
        ms, mo = np.isin(source_parsing, labels), np.isin(output_parsing, labels)
        out[f"delta_e_{region}"] = (
            float(np.linalg.norm(lab_s[ms].mean(0) - lab_o[mo].mean(0))) if ms.any() and mo.any() else None
        )
    return out


def enlarged_detection(pose, image: np.ndarray, min_rows: int = MIN_ROWS) -> tuple[np.ndarray, np.ndarray | None]:
    """Keypoints and person mask of a small image by ``pose`` (e.g. ``MediaPipePose``), run on the image
    enlarged (bicubic) to at least ``min_rows`` rows and mapped back to its pixels."""
    h, w = image.shape[:2]
    scale = max(1, math.ceil(min_rows / h))
    big = np.asarray(Image.fromarray(image).resize((w * scale, h * scale), Image.BICUBIC)) if scale > 1 else image
    keypoints, mask = pose(big)
    if scale > 1:
        keypoints = rescale_keypoints(keypoints, big.shape[:2], (h, w))
        mask = resize_labels(mask.astype(np.uint8), (h, w)) > 0 if mask is not None else None
    return keypoints, mask


class PhotoChecks:
    """``PhotoChecks()(source, source_parsing, output, output_parsing, target_keypoints)`` -> dict of the
    module's checks (``pose_correct``/``pose_total`` count joints for a pooled PCKh)."""

    def __init__(self, lpips: LPIPS | None = None, pose: MediaPipePose | None = None):
        self.lpips = lpips or LPIPS.load("alex")
        self.pose = pose or MediaPipePose()

    @torch.no_grad()
    def __call__(
        self,
        source: np.ndarray,
        source_parsing: np.ndarray,
        output: np.ndarray,
        output_parsing: np.ndarray,
        target_keypoints: np.ndarray,
    ) -> dict:
        found, mask = enlarged_detection(self.pose, output)
        correct, total = pckh(found, np.asarray(target_keypoints, np.float32))
        person = output_parsing > 0
        iou = float((mask & person).sum() / max(1, (mask | person).sum())) if mask is not None else 0.0
        row = {
            "pose_pckh": correct / total if total else None,
            "pose_correct": correct,
            "pose_total": total,
            "shape_iou": iou,
        }
        row |= region_delta_e(source, source_parsing, output, output_parsing)
        size = output.shape[:2]
        a, b = person_crop(source, source_parsing, size), person_crop(output, output_parsing, size)
        row["lpips_person"] = (
            float(self.lpips(uint8_to_tensor(a)[None], uint8_to_tensor(b)[None])[0])
            if a is not None and b is not None
            else None
        )
        return row
