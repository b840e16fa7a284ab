"""Skeletons drawn in OpenPose's colours."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .keypoints import SKELETON, SKELETON_COLORS, is_present, validate_keypoints


def draw_skeleton(
    image: Image.Image | np.ndarray | None,
    keypoints,
    size: tuple[int, int] | None = None,
    *,
    line_width: int | None = None,
    radius: int | None = None,
) -> Image.Image:
    """The OpenPose-coloured skeleton over ``image`` (or over black of ``size`` when image is None)."""
    if image is None:
        if size is None:
            raise ValueError("draw_skeleton needs an image or a size")
        canvas = Image.new("RGB", (size[1], size[0]))
    elif isinstance(image, np.ndarray):
        canvas = Image.fromarray(image).convert("RGB")
    else:
        canvas = image.convert("RGB").copy()
    kp = validate_keypoints(keypoints)
    height = canvas.height
    line_width = max(1, round(height / 64)) if line_width is None else line_width
    radius = max(1, round(height / 80)) if radius is None else radius
    draw = ImageDraw.Draw(canvas)
    present = is_present(kp)
    for (a, b), color in zip(SKELETON, SKELETON_COLORS):
        if present[a] and present[b]:
            draw.line([tuple(kp[a]), tuple(kp[b])], fill=color, width=line_width)
    for i, (x, y) in enumerate(kp):
        if present[i]:
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=SKELETON_COLORS[i])
    return canvas
