"""The spt Space: pose transfer, texture transfer, layout editing and animation with SPT.

Offline on the embedded checkpoint (``pretrained/spt-synthetic``); ``SPT_MODEL=<folder or Hub id>`` loads
another. This file is the page and its wiring; the callbacks, the served model, the source people (test
people, examples, uploads estimated by ``spt.estimation``), the views and the motions are in ``spt/space/``.
``gradio_client`` users call ``/generate`` (uploads), ``/texture_transfer`` and ``/browse``.
Run: ``python app.py`` (a Hugging Face Space runs the same file).
"""

from __future__ import annotations

import functools
import os

import gradio as gr

from spt.data.synthetic import SPLITS, WORLD_DESCRIPTIONS
from spt.parsing import SPT10_LABELS, legend
from spt.pose import KEYPOINT_NAMES
from spt.space.callbacks import (
    BROWSE_WORLDS,
    FIT_BY_DEFAULT,
    SIZES,
    BrowseViews,
    Generation,
    LayoutUpdate,
    NewTarget,
    SourceUpdate,
    TargetUpdate,
    TextureViews,
    UploadUpdate,
    animate,
    browse,
    generate,
    generate_api,
    mirror_pose,
    move_joint,
    paste_pose,
    pick_source,
    pick_upload,
    place_source_joint,
    regenerate_from_layout,
    reset_pose,
    select_pose,
    texture_transfer,
    to_editor,
)
from spt.space.errors import MAX_UPLOAD, BusyAnswer, UploadedFile, on_page
from spt.space.model import served_world
from spt.space.motions import MOTIONS
from spt.space.sources import MAX_ID, example_label, example_uploads, gallery_pose, pose_gallery
from spt.space.views import swatch_labels_js, target_view

# The Space's files (pretrained/, examples/) are beside this file, wherever the spt package is installed.
os.environ.setdefault("SPT_SPACE_ROOT", os.path.dirname(os.path.abspath(__file__)))

# On-page height of the image views, so that tall, narrow people do not stretch to the column width.
VIEW_HEIGHT = 420
IMAGE_VIEW = {"interactive": False, "height": VIEW_HEIGHT, "format": "png"}  # lossless: the model's pixels, not WebP


def build_demo() -> gr.Blocks:
    colors = dict(legend())
    default_world = next(
        name for name, world in BROWSE_WORLDS.items() if world == ("2d" if served_world() == "2d" else "3d")
    )
    # Uploads and outputs in Gradio's cache are deleted after an hour (checked every 10 minutes).
    with gr.Blocks(title="spt: Semantic Parsing Transformation", delete_cache=(600, 3600)) as demo:
        gr.Markdown(
            "# spt: Semantic Parsing Transformation\n"
            "Unsupervised pose-guided person generation (Song et al., CVPR 2019): H_S predicts the target "
            "parsing, H_A renders the person onto it. The default model was trained on "
            f"**{WORLD_DESCRIPTIONS[served_world()]}**, "
            "whose held-out people you can pick below, or an example, or your own photo (its keypoints and parsing are "
            "estimated when you do not upload them)."
        )
        source = gr.State()
        target = gr.State()
        target_original = gr.State()
        last_parsing = gr.State()
        with gr.Tabs(selected="pose") as tabs:
            with gr.Tab("Pose transfer", id="pose"):
                with gr.Row():
                    with gr.Column():
                        gr.Markdown("**1. Source person** (SyntheticPeople test split)")
                        with gr.Row():
                            # No minimum/maximum: Gradio would refuse -1 with a failed event (an error box over the
                            # views), and no precision: it would round 2.5 silently. The handler refuses both with a
                            # message that names the field, as a toast.
                            person_id = gr.Number(value=3, label="Person id")
                            pose_id = gr.Number(value=0, label="Pose id")
                        use_person = gr.Button("Use this person")
                        source_skeleton = gr.Image(
                            label="Source with its pose (click to place the chosen joint)", **IMAGE_VIEW
                        )
                        source_joint = gr.Dropdown(list(KEYPOINT_NAMES), value="neck", label="Source joint to place")
                        source_parsing = gr.AnnotatedImage(
                            label="Source parsing (SPT-10)", color_map=colors, height=VIEW_HEIGHT
                        )
                        with gr.Accordion("…or an example, or your own photo", open=False):
                            up_image = UploadedFile(label="Photo (PNG/JPEG)", type="filepath")
                            up_keypoints = UploadedFile(
                                label="Keypoints (COCO-18 or OpenPose JSON; optional: estimated when absent)",
                                type="filepath",
                            )
                            up_parsing = UploadedFile(
                                label="Parsing (PNG label map; optional: estimated when absent)", type="filepath"
                            )
                            up_scheme = gr.Dropdown(["spt10", "lip20", "atr18"], value="spt10", label="Parsing labels")
                            use_upload = gr.Button("Use the upload")
                            upload_note = gr.Markdown()
                            upload_inputs = [up_image, up_keypoints, up_parsing, up_scheme]
                            example_rows = example_uploads()
                            if example_rows:
                                gr.Examples(
                                    example_rows,
                                    upload_inputs,
                                    [source, source_skeleton, source_parsing, upload_note, person_id, pose_id],
                                    on_page(pick_upload, UploadUpdate),
                                    run_on_click=True,
                                    label="Examples (examples/)",
                                    api_name=False,
                                    example_labels=[example_label(r[0]) for r in example_rows],
                                )
                    with gr.Column():
                        gr.Markdown("**2. Target pose**: click one; then edit it (pick a joint, click where it goes)")
                        poses = gr.Gallery(label="Poses", columns=6, height=220, allow_preview=False)
                        target_skeleton = gr.Image(label="Target pose (click to move the selected joint)", **IMAGE_VIEW)
                        with gr.Row():
                            joint = gr.Dropdown(list(KEYPOINT_NAMES), value="right_wrist", label="Joint to move")
                            mirror = gr.Button("Mirror")
                            reset = gr.Button("Reset")
                        with gr.Accordion("Keypoints (paste JSON or a PATN CSV row)", open=False):
                            target_json = gr.Code(label="Target keypoints", language="json")
                            use_pasted = gr.Button("Use pasted keypoints")
                    with gr.Column():
                        gr.Markdown("**3. Generate**")
                        fit_photo = gr.Checkbox(
                            value=FIT_BY_DEFAULT,
                            label="Fit the model to an uploaded photo first",
                            info="A few seconds of SPT's own unpaired training on your photo alone, so the person "
                            "keeps their build and clothes; never on the test people (docs/adapt.md).",
                        )
                        go = gr.Button("Generate", variant="primary")
                        timing = gr.Markdown()
                        out_parsing = gr.AnnotatedImage(
                            label="Predicted target parsing (H_S)", color_map=colors, height=VIEW_HEIGHT
                        )
                        out_image = gr.Image(label="Generated (H_A)", elem_id="generated", **IMAGE_VIEW)
            with gr.Tab("Texture transfer", id="texture"):
                gr.Markdown("Paper Fig. 9: the clothes of person A on the pose and layout of person B.")
                with gr.Row():
                    a_id = gr.Number(value=5, step=1, label="Person A (appearance)")
                    a_pose = gr.Number(value=0, step=1, label="A's pose")
                    b_id = gr.Number(value=8, step=1, label="Person B (layout)")
                    b_pose = gr.Number(value=3, step=1, label="B's pose")
                    swap = gr.Button("Transfer", variant="primary")
                with gr.Row():
                    a_view = gr.Image(label="A", **IMAGE_VIEW)
                    b_view = gr.Image(label="B", **IMAGE_VIEW)
                    ab_view = gr.Image(label="A's clothes on B", elem_id="texture-result", **IMAGE_VIEW)
            with gr.Tab("Edit layout", id="edit"):
                gr.Markdown(
                    "Paper Fig. 10: paint on the predicted parsing with the legend's colours (e.g. lengthen "
                    "sleeves with the upper-clothes colour, or turn pants into a skirt), then regenerate."
                )
                gr.HighlightedText(
                    value=[(name, name) for name in SPT10_LABELS],
                    color_map=colors,
                    label="Legend",
                    show_legend=False,
                    show_inline_category=False,
                )
                with gr.Row():
                    editor = gr.ImageEditor(
                        label="Target parsing",
                        type="numpy",
                        brush=gr.Brush(colors=[c for _, c in legend()], color_mode="fixed"),
                    )
                    with gr.Column():
                        regenerate = gr.Button("Regenerate from this layout", variant="primary")
                        edited_image = gr.Image(
                            label="Generated from the edited layout", elem_id="edited-image", **IMAGE_VIEW
                        )
                        edited_parsing = gr.AnnotatedImage(label="Layout used", color_map=colors, height=VIEW_HEIGHT)
            with gr.Tab("Animate", id="animate"):
                gr.Markdown(
                    "The source person of the Pose transfer tab in motion: a walking cycle, a morph to the "
                    "target pose and back, or your own keypoint sequence (a JSON list of poses)."
                )
                with gr.Row():
                    motion = gr.Radio(list(MOTIONS), value=MOTIONS[0], label="Motion")
                    frames = gr.Slider(2, 48, value=12, step=1, label="Frames (2 to 48; per cycle, or each way)")
                    sequence = UploadedFile(label="Keypoint sequence (JSON)", type="filepath")
                    render = gr.Button("Render animation", variant="primary")
                animation = gr.Image(label="Animation (GIF)", type="filepath", elem_id="animation", **IMAGE_VIEW)
            with gr.Tab("Browse SyntheticPeople", id="browse"):
                with gr.Row():
                    world_name = gr.Dropdown(list(BROWSE_WORLDS), value=default_world, label="World")
                    split = gr.Dropdown(list(SPLITS), value="test", label="Split")
                    size_name = gr.Dropdown(list(SIZES), value=next(iter(SIZES)), label="Image size")
                    seed = gr.Number(value=0, step=1, label="Dataset seed")
                    identity_id = gr.Number(value=0, step=1, label="Person id", minimum=0, maximum=MAX_ID - 1)
                    b_pose_id = gr.Number(value=0, step=1, label="Pose id", minimum=0, maximum=MAX_ID - 1)
                show = gr.Button("Show")
                info = gr.Markdown()
                with gr.Row():
                    image = gr.Image(label="Image", type="numpy", elem_id="browse-image", **IMAGE_VIEW)
                    skeleton = gr.Image(label="Pose (COCO-18 keypoints)", **IMAGE_VIEW)
                    parsing = gr.AnnotatedImage(label="Parsing (SPT-10)", color_map=colors, height=VIEW_HEIGHT)
                others = gr.Gallery(label="The same person in other poses", columns=4, height="auto")
                keypoints = gr.Code(label="Keypoints JSON", language="json")

        # Outputs are wired by name: each callback returns a named tuple whose fields name the components.
        ui = locals()

        def to(update) -> list:
            return [ui[name] for name in update._fields]

        # Pose transfer. Page events report bad input as a toast (on_page); only the API events raise.
        use_person.click(on_page(pick_source, SourceUpdate), [person_id, pose_id], to(SourceUpdate), api_name=False)
        use_upload.click(on_page(pick_upload, UploadUpdate), upload_inputs, to(UploadUpdate), api_name=False)
        source_skeleton.select(
            on_page(place_source_joint, UploadUpdate), [source, source_joint], to(UploadUpdate), api_name=False
        )
        poses.select(on_page(select_pose, NewTarget), None, to(NewTarget), api_name=False)
        target_skeleton.select(on_page(move_joint, TargetUpdate), [target, joint], to(TargetUpdate), api_name=False)
        mirror.click(on_page(mirror_pose, TargetUpdate), [target], to(TargetUpdate), api_name=False)
        reset.click(on_page(reset_pose, TargetUpdate), [target_original], to(TargetUpdate), api_name=False)
        use_pasted.click(on_page(paste_pose, NewTarget), [target_json], to(NewTarget), api_name=False)
        # A failed generation clears the outputs and says why where the time was, so nothing stale stays.
        go.click(
            on_page(
                generate,
                Generation,
                out_parsing=lambda _: None,
                out_image=lambda _: None,
                timing=lambda message: f"**Not generated:** {message}",
            ),
            [source, target, fit_photo],
            to(Generation),
            api_name=False,
        ).then(to_editor, [last_parsing], [editor], api_name=False)
        # The other tabs
        swap.click(texture_transfer, [a_id, a_pose, b_id, b_pose], to(TextureViews), api_name="texture_transfer")
        regenerate.click(
            on_page(regenerate_from_layout, LayoutUpdate), [source, target, editor], to(LayoutUpdate), api_name=False
        )
        render.click(
            on_page(animate), [source, target, motion, frames, sequence, fit_photo], [animation], api_name=False
        )
        browse_inputs = [split, size_name, seed, identity_id, b_pose_id, world_name]
        show.click(browse, browse_inputs, to(BrowseViews), api_name="browse")
        # API-only endpoint (gradio_client): generation from uploaded files.
        api_in = [UploadedFile(visible=False, type="filepath") for _ in range(3)] + [
            gr.Textbox("spt10", visible=False),
            gr.Textbox(visible=False),
            gr.Checkbox(FIT_BY_DEFAULT, visible=False),
        ]
        api_out = gr.Image(visible=False, type="filepath", format="png")  # lossless, as before
        gr.Button(visible=False).click(generate_api, api_in, [api_out], api_name="generate")

        @functools.lru_cache(maxsize=1)
        def worked_example():
            """What the page opens on, the same for every visitor: computed once (``python app.py`` does it before
            serving, so the first visitor does not wait for it)."""
            first = pick_source(person_id.value, pose_id.value)
            size = first.source.size
            kp = gallery_pose(7, size)  # a full-body pose: every joint visible
            generated = generate(first.source, kp)
            return (
                *first,
                pose_gallery(size),
                *NewTarget(kp.tolist(), kp.tolist(), *target_view(kp, size)),
                *generated,
                to_editor(generated.last_parsing),
                *texture_transfer(a_id.value, a_pose.value, b_id.value, b_pose.value),
            )

        def start(request: gr.Request):
            """The page opens on the worked example, on the tab named by ``?tab=`` (deep links)."""
            tab = (request.query_params.get("tab") if request else None) or "pose"
            return gr.Tabs(selected=tab), *worked_example()

        demo.load(
            start,
            None,
            [tabs, *to(SourceUpdate), poses, *to(NewTarget), *to(Generation), editor, *to(TextureViews)],
            api_name=False,
        )
        demo.load(browse, browse_inputs, to(BrowseViews), api_name=False)
        demo.warm_up = worked_example
    # Visitors are served in order; two generations run at once (CPU Spaces have two cores).
    return demo.queue(default_concurrency_limit=2, max_size=64)


demo = build_demo()


def launch(**kwargs):
    """Serve the page with the Space's limits (upload size), its words for a full queue and the names of the
    layout editor's swatches; ``python app.py`` calls this."""
    from starlette.middleware import Middleware

    return demo.launch(
        max_file_size=MAX_UPLOAD, app_kwargs={"middleware": [Middleware(BusyAnswer)]}, js=swatch_labels_js(), **kwargs
    )


def check_model() -> None:
    """Load the served model before serving, so a bad ``SPT_MODEL`` stops the server with the reason instead of
    failing on the first visit."""
    from spt.space.model import load_pipeline

    try:
        load_pipeline()
    except gr.Error as err:
        raise SystemExit(f"app.py: cannot serve the model: {err.message}") from None


if __name__ == "__main__":
    check_model()
    demo.warm_up()  # the worked example the page opens on, before the first visitor asks for it
    launch()
