"""What the page shows: enlarged images, skeletons, annotated parsings, and clicks on them."""

from __future__ import annotations

import json

import gradio as gr
import numpy as np

from ..parsing import PALETTE, SPT10_LABELS
from ..pose import KEYPOINT_NAMES, draw_skeleton, keypoints_to_json, rescale_keypoints

DISPLAY_HEIGHT = 384  # the height, in screen pixels, images are enlarged to (by a whole factor, no blur)


def factor(height: int) -> int:
    """How many screen pixels show one model pixel."""
    return max(1, DISPLAY_HEIGHT // height)


def enlarge(image: np.ndarray) -> np.ndarray:
    """Nearest-neighbour upscale of an image or mask, so that small renders stay crisp on screen."""
    k = factor(image.shape[0])
    return image.repeat(k, axis=0).repeat(k, axis=1)


def skeleton_view(keypoints: np.ndarray, size: tuple[int, int], image: np.ndarray | None = None) -> np.ndarray:
    big = (size[0] * factor(size[0]), size[1] * factor(size[0]))
    canvas = enlarge(image) if image is not None else None
    return np.asarray(draw_skeleton(canvas, rescale_keypoints(keypoints, size, big), big if canvas is None else None))


def parsing_view(labels: np.ndarray, image: np.ndarray | None = None):
    """(base image, [(mask, label name)]) for gr.AnnotatedImage, enlarged."""
    base = enlarge(image if image is not None else PALETTE[labels])
    return base, [
        (enlarge(labels == k).astype(np.float32), name)
        for k, name in enumerate(SPT10_LABELS)
        if k and (labels == k).any()
    ]


def source_views(source):
    """The source's skeleton over its image, and its annotated parsing."""
    return (skeleton_view(source.keypoints, source.size, source.image), parsing_view(source.parsing, source.image))


def target_view(keypoints, size: tuple[int, int]):
    kp = np.asarray(keypoints, np.float32)
    return skeleton_view(kp, size), keypoints_to_json(kp, size)


def clicked_joint(keypoints, joint: str, evt: gr.SelectData, size: tuple[int, int]) -> np.ndarray:
    """``keypoints`` with ``joint`` moved to the pixel clicked on an enlarged view (model pixels, clamped)."""
    if joint not in KEYPOINT_NAMES:
        raise gr.Error(f"Choose which joint to move (one of {', '.join(KEYPOINT_NAMES)})")
    k = factor(size[0])
    kp = np.asarray(keypoints, np.float32).copy()
    x, y = evt.index
    kp[KEYPOINT_NAMES.index(joint)] = [
        min(max((x + 0.5) / k - 0.5, 0), size[1] - 1),
        min(max((y + 0.5) / k - 0.5, 0), size[0] - 1),
    ]
    return kp


def decode_layout(editor_value, size: tuple[int, int]) -> np.ndarray:
    """An edited (enlarged, palette-coloured) parsing back to labels: nearest palette colour, sampled at the
    centre of each model pixel."""
    if editor_value is None:
        raise gr.Error("Generate once in the Pose transfer tab first: its parsing appears here to edit")
    image = editor_value.get("composite") if isinstance(editor_value, dict) else editor_value
    if image is None:
        raise gr.Error("The layout editor is empty")
    rgb = np.asarray(image)[..., :3].astype(np.int32)
    h, w = size
    ys = ((np.arange(h) + 0.5) * rgb.shape[0] / h).astype(int)
    xs = ((np.arange(w) + 0.5) * rgb.shape[1] / w).astype(int)
    samples = rgb[ys][:, xs]
    distance = ((samples[..., None, :] - PALETTE[None, None].astype(np.int32)) ** 2).sum(-1)
    return distance.argmin(-1).astype(np.uint8)


def swatch_labels_js() -> str:
    """The page-load script that names the layout editor's colour swatches: Gradio's brush palette takes colours
    only, so each swatch gets its SPT-10 label as tooltip and accessible name, whenever the palette is drawn."""
    names = {f"rgb({r}, {g}, {b})": name for name, (r, g, b) in zip(SPT10_LABELS, PALETTE.tolist())}
    return (
        "() => { const names = " + json.dumps(names) + ";"
        " const label = () => document.querySelectorAll('.swatch button.color').forEach(b => {"
        " const name = names[b.style.backgroundColor];"
        " if (name && b.title !== name) { b.title = name; b.setAttribute('aria-label', name); } });"
        " new MutationObserver(label).observe(document.body, {childList: true, subtree: true}); label(); }"
    )
