"""The page's callbacks: each takes the components' values and returns a named tuple whose field names are
the names of the components it updates (``app.py`` wires the outputs from those names), and turns bad input
into a ``gr.Error`` (``user_errors``)."""

from __future__ import annotations

import time
from typing import NamedTuple

import gradio as gr
import numpy as np

from ..data.synthetic import SPLITS
from ..parsing import PALETTE
from ..pose import mirror_keypoints
from .errors import user_errors
from .model import fit_to_photo, model_size, run_pipeline
from .motions import motion_poses, render_animation
from .sources import (
    Person,
    browse_views,
    describe_upload,
    gallery_pose,
    read_keypoints_text,
    synthetic_person,
    target_from_text,
    uploaded_person,
)
from .views import clicked_joint, decode_layout, enlarge, parsing_view, source_views, target_view


class SourceUpdate(NamedTuple):
    """The selected source person and its two views."""

    source: Person
    source_skeleton: np.ndarray
    source_parsing: tuple


class UploadUpdate(NamedTuple):
    """An uploaded (or edited) source, its views, what was estimated or is missing, and the id boxes, which
    follow the source shown (empty for an upload: it is no SyntheticPeople person)."""

    source: Person
    source_skeleton: np.ndarray
    source_parsing: tuple
    upload_note: str
    person_id: int | None
    pose_id: int | None


class TargetUpdate(NamedTuple):
    """The edited target pose and its views."""

    target: list
    target_skeleton: np.ndarray
    target_json: str


class NewTarget(NamedTuple):
    """A newly chosen target pose (also kept as the one Reset returns to) and its views."""

    target: list
    target_original: list
    target_skeleton: np.ndarray
    target_json: str


class Generation(NamedTuple):
    """One pose transfer: the predicted parsing (annotated and as labels), the image, the time it took."""

    out_parsing: tuple
    out_image: np.ndarray
    last_parsing: np.ndarray
    timing: str


class TextureViews(NamedTuple):
    a_view: np.ndarray
    b_view: np.ndarray
    ab_view: np.ndarray


class LayoutUpdate(NamedTuple):
    edited_image: np.ndarray
    edited_parsing: tuple


class BrowseViews(NamedTuple):
    image: np.ndarray
    skeleton: np.ndarray
    parsing: tuple
    others: list
    keypoints: str
    info: str


BROWSE_WORLDS = {"3D (clothed bodies, photo textures)": "3d", "2D (flat people)": "2d"}
SIZES = {
    "128 x 128 (SyntheticPeople)": (128, 128),
    "256 x 176 (DeepFashion)": (256, 176),
    "128 x 64 (Market-1501)": (128, 64),
}


# Uploaded photos are fitted by default: on real photos the fitted model keeps the person's build (docs/adapt.md).
FIT_BY_DEFAULT = True


def fitted_for(source: Person, target_poses: list, fit_photo: bool, progress=None):
    """The pipeline fitted to ``source`` when it is an uploaded photo and ``fit_photo`` is on (``fit_to_photo``),
    with a note of the time it took; (None, "") otherwise (SyntheticPeople's test people are what the model
    was trained on: nothing to fit)."""
    if not fit_photo or source.person_id is not None:
        return None, ""
    fitted, seconds = fit_to_photo(source, target_poses, progress)
    if fitted.adapt_fell_back:
        return None, "; fitting to the photo failed (a loss turned non-finite): unfitted model"
    return fitted, f"; fitted to the photo in {seconds:.1f} s ({len(fitted.adapt_losses)} steps)"


@user_errors
def generate(source: Person, target_keypoints, fit_photo: bool = FIT_BY_DEFAULT, progress=gr.Progress()):
    """Pose transfer for the page: the predicted parsing (annotated), the generated image, the timing. An
    uploaded photo is fitted first when ``fit_photo`` is on (``fitted_for``)."""
    if source is None:
        raise gr.Error("Choose a source person first")
    if target_keypoints is None:
        raise gr.Error("Choose a target pose first (click one in the pose gallery)")
    target = np.asarray(target_keypoints, np.float32)
    fitted, note = fitted_for(source, [target], fit_photo, progress)
    start = time.perf_counter()
    image, parsing = run_pipeline(source, target, pipe=fitted)
    seconds = time.perf_counter() - start
    return Generation(parsing_view(parsing), enlarge(image), parsing, f"generated in {seconds * 1000:.0f} ms{note}")


@user_errors
def generate_api(
    photo: str,
    keypoints: str | None,
    parsing: str | None,
    scheme: str,
    target_pose: str,
    fit_to_photo: bool = FIT_BY_DEFAULT,
) -> np.ndarray:
    """API (``/generate``): the person of an uploaded photo (keypoints and parsing optional, estimated when
    absent) in ``target_pose`` (keypoints JSON, a PATN CSV row, or a pose-gallery index 0-11), the model fitted
    to the photo first unless ``fit_to_photo`` is False; returns the generated image (a PNG file to the client)."""
    target = target_from_text(target_pose, model_size())  # cheap checks first: a bad pose costs no photo estimation
    source, _ = uploaded_person(photo, keypoints, parsing, scheme or "spt10")
    fitted, _ = fitted_for(source, [target], fit_to_photo is not False)
    image, _ = run_pipeline(source, target, pipe=fitted)
    return image  # Gradio writes it to its own cache, which delete_cache empties


@user_errors
def texture_transfer(person_a, pose_a, person_b, pose_b):
    """Paper Fig. 9: A's clothes rendered on B's pose and layout."""
    size = model_size()
    a, b = synthetic_person(person_a, pose_a, size), synthetic_person(person_b, pose_b, size)
    image, _ = run_pipeline(a, b.keypoints, target_parsing=b.parsing)
    return TextureViews(enlarge(a.image), enlarge(b.image), enlarge(image))


@user_errors
def regenerate_from_layout(source: Person, target_keypoints, editor_value):
    if source is None or target_keypoints is None:
        raise gr.Error("Generate once in the Pose transfer tab first")
    labels = decode_layout(editor_value, source.size)
    image, _ = run_pipeline(source, np.asarray(target_keypoints, np.float32), target_parsing=labels)
    return LayoutUpdate(enlarge(image), parsing_view(labels))


@user_errors
def animate(
    source: Person,
    target_keypoints,
    motion: str,
    frames: int,
    sequence_path=None,
    fit_photo: bool = FIT_BY_DEFAULT,
    progress=gr.Progress(),
):
    """An animated GIF of the source person following a motion, one pipeline call per frame; an uploaded photo
    is fitted once for all the frames when ``fit_photo`` is on."""
    if source is None:
        raise gr.Error("Choose a source person in the Pose transfer tab first")
    frames = int(frames)
    if not 2 <= frames <= 48:
        raise gr.Error("Frames must be between 2 and 48")
    poses = motion_poses(motion, source, target_keypoints, frames, sequence_path)
    fitted, _ = fitted_for(source, poses, fit_photo, progress)
    return render_animation(source, poses, progress, fitted)


@user_errors
def pick_source(person_id, pose_id):
    source = synthetic_person(person_id, pose_id, model_size())
    return SourceUpdate(source, *source_views(source))


@user_errors
def pick_upload(image_path, keypoints_path, parsing_path, scheme):
    source, note = uploaded_person(image_path, keypoints_path, parsing_path, scheme)
    return UploadUpdate(source, *source_views(source), describe_upload(source, note), source.person_id, source.pose_id)


@user_errors
def place_source_joint(source: Person, joint: str, evt: gr.SelectData):
    """Click on the source image: the chosen joint goes there; a rough parsing is redrawn from the new pose."""
    if source is None:
        raise gr.Error("Choose a source person first")
    source = source.with_keypoints(clicked_joint(source.keypoints, joint, evt, source.size))
    return UploadUpdate(
        source,
        *source_views(source),
        describe_upload(source, f"{joint.capitalize()} placed by hand."),
        source.person_id,
        source.pose_id,
    )


@user_errors
def select_pose(evt: gr.SelectData):
    size = model_size()
    kp = gallery_pose(evt.index, size)
    return NewTarget(kp.tolist(), kp.tolist(), *target_view(kp, size))


@user_errors
def move_joint(keypoints, joint: str, evt: gr.SelectData):
    if keypoints is None:
        raise gr.Error("Choose a target pose first")
    size = model_size()
    kp = clicked_joint(keypoints, joint, evt, size)
    return TargetUpdate(kp.tolist(), *target_view(kp, size))


@user_errors
def mirror_pose(keypoints):
    if keypoints is None:
        raise gr.Error("Choose a target pose first")
    size = model_size()
    kp = mirror_keypoints(np.asarray(keypoints, np.float32), size[1])
    return TargetUpdate(kp.tolist(), *target_view(kp, size))


@user_errors
def reset_pose(original):
    if original is None:
        raise gr.Error("Choose a target pose first")
    return TargetUpdate(original, *target_view(original, model_size()))


@user_errors
def paste_pose(text):
    size = model_size()
    kp = read_keypoints_text(text, size)
    return NewTarget(kp.tolist(), kp.tolist(), *target_view(kp, size))


@user_errors
def to_editor(parsing):
    if parsing is None:
        raise gr.Error("Generate first")
    return enlarge(PALETTE[np.asarray(parsing)])


@user_errors
def browse(split: str, size_name: str, seed: int, identity_id, pose_id, world_name: str | None = None):
    """The dataset browser: one person in one pose, with skeleton, parsing and other poses; ``world_name`` one
    of ``BROWSE_WORLDS`` (default: the world the served model was trained on)."""
    if world_name is not None and world_name not in BROWSE_WORLDS:
        raise gr.Error(f"Unknown world {world_name!r}; choose one of: {', '.join(BROWSE_WORLDS)}")
    if size_name not in SIZES:
        raise gr.Error(f"Unknown size {size_name!r}; choose one of: {', '.join(SIZES)}")
    if split not in SPLITS:
        raise gr.Error(f"Unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    if seed is None or isinstance(seed, bool) or not float(seed).is_integer() or seed < 0:
        raise gr.Error(f"Dataset seed must be a whole number from 0 up, got {seed!r}")
    world = BROWSE_WORLDS[world_name] if world_name else None
    return BrowseViews(*browse_views(split, SIZES[size_name], int(seed), identity_id, pose_id, world))
