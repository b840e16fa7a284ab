"""The spt Space.

At this stage it browses SyntheticPeople, the embedded dataset the models are trained and measured on:
pick a person and a pose, see the image, its COCO-18 skeleton and its SPT-10 parsing, and the same
person in other poses (the ground truth that unsupervised training never sees). Pose transfer,
texture transfer and layout editing join it with the SPT pipeline.

Run: ``python app.py`` (a Hugging Face Space runs the same file).
"""

from __future__ import annotations

import numpy as np
import gradio as gr

from spt.data.synthetic import SPLITS, SyntheticPeople
from spt.parsing import SPT10_LABELS, legend
from spt.pose import draw_skeleton, keypoints_to_json, rescale_keypoints

SIZES = {"128 x 128 (SyntheticPeople)": (128, 128), "256 x 176 (DeepFashion)": (256, 176), "128 x 64 (Market-1501)": (128, 64)}
MAX_ID = 100_000
DISPLAY_HEIGHT = 384


def _people(split: str, size_name: str, seed: int) -> SyntheticPeople:
    if size_name not in SIZES:
        raise gr.Error(f"Unknown size {size_name!r}; choose one of: {', '.join(SIZES)}")
    if split not in SPLITS:
        raise gr.Error(f"Unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    return SyntheticPeople(SIZES[size_name], int(seed), split)


def _check_id(value, what: str) -> int:
    if value is None or not float(value).is_integer() or not 0 <= int(value) < MAX_ID:
        raise gr.Error(f"{what} must be a whole number from 0 to {MAX_ID - 1}, got {value!r}")
    return int(value)


def _enlarge(image: np.ndarray) -> np.ndarray:
    """Nearest-neighbour upscale of an image or mask, so that small renders stay crisp on screen."""
    factor = max(1, DISPLAY_HEIGHT // image.shape[0])
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def browse(split: str, size_name: str, seed: int, identity_id, pose_id):
    """Render one person in one pose; return the views the page shows."""
    people = _people(split, size_name, seed)
    identity_id = _check_id(identity_id, "Person id")
    pose_id = _check_id(pose_id, "Pose id")
    sample = people.render(identity_id, pose_id)
    image = sample["image"]
    big = _enlarge(image)
    annotations = [
        (_enlarge(sample["parsing"] == label).astype(np.float32), name)
        for label, name in enumerate(SPT10_LABELS)
        if label and (sample["parsing"] == label).any()
    ]
    skeleton = draw_skeleton(big, rescale_keypoints(sample["keypoints"], image.shape[:2], big.shape[:2]))
    others = [
        (_enlarge(people.render(identity_id, pose_id + k)["image"]), f"pose {pose_id + k}") for k in range(1, 5)
    ]
    pose = people.pose(pose_id)
    info = f"person {identity_id}, pose {pose_id}: {pose.activity}, view yaw {pose.yaw:.0f} deg"
    return big, skeleton, (big, annotations), others, keypoints_to_json(sample["keypoints"], people.size), info


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="spt: Semantic Parsing Transformation") as demo:
        gr.Markdown(
            "# spt: Semantic Parsing Transformation\n"
            "Unsupervised person image generation (Song et al., CVPR 2019). "
            "This page browses **SyntheticPeople**, the procedural dataset the models are trained and measured on: "
            "every person can be rendered in any pose, so the true target image is known."
        )
        with gr.Row():
            split = gr.Dropdown(list(SPLITS), value="test", label="Split")
            size_name = gr.Dropdown(list(SIZES), value=next(iter(SIZES)), label="Image size")
            seed = gr.Number(value=0, precision=0, label="Dataset seed")
            identity_id = gr.Number(value=0, precision=0, label="Person id", minimum=0, maximum=MAX_ID - 1)
            pose_id = gr.Number(value=0, precision=0, label="Pose id", minimum=0, maximum=MAX_ID - 1)
        with gr.Row():
            show = gr.Button("Show", variant="primary")
            shuffle = gr.Button("Random person and pose")
        info = gr.Markdown()
        with gr.Row():
            image = gr.Image(label="Image", type="numpy", interactive=False)
            skeleton = gr.Image(label="Pose (COCO-18 keypoints)", type="pil", interactive=False)
            parsing = gr.AnnotatedImage(label="Parsing (SPT-10)", color_map=dict(legend()), show_legend=True)
        others = gr.Gallery(label="The same person in other poses", columns=4, height="auto")
        keypoints = gr.Code(label="Keypoints JSON", language="json")

        outputs = [image, skeleton, parsing, others, keypoints, info]
        inputs = [split, size_name, seed, identity_id, pose_id]
        show.click(browse, inputs, outputs, api_name="browse")
        rng = np.random.default_rng()

        def random_ids():
            return int(rng.integers(0, 1000)), int(rng.integers(0, 1000))

        shuffle.click(random_ids, None, [identity_id, pose_id], api_name=False).then(browse, inputs, outputs, api_name=False)
        demo.load(browse, inputs, outputs, api_name=False)
    return demo


demo = build_demo()

if __name__ == "__main__":
    demo.queue(default_concurrency_limit=4).launch()
