"""The spt Space: pose transfer, texture transfer, layout editing and animation with SPT.

It runs offline on the embedded checkpoint (``pretrained/spt-synthetic``); ``SPT_MODEL=<folder or Hub id>``
loads another. Source people come from SyntheticPeople's held-out test split (rendered at the model's size,
so the true target is known), from ``examples/``, or from an upload: a photo, with its keypoints (JSON) and
parsing (PNG) when the visitor has them; otherwise ``spt.estimation`` estimates them (MediaPipe's BlazePose
and person mask offline, the model's pose detector where mediapipe is missing; the parsing from a Hub human
parser, ``SPT_PARSER``, or offline a rough parsing inside the person). A photo without a usable person (neck,
a shoulder, a hip) is not generated from: the page says what is missing and lets the visitor place joints.
``gradio_client`` users call ``/generate`` (uploads), ``/texture_transfer`` and ``/browse``.

Run: ``python app.py`` (a Hugging Face Space runs the same file).
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
import time
import warnings

import gradio as gr
import numpy as np
from PIL import Image

from spt.estimation import FrontEndUnavailable, HubParsing, found_joints, missing_essentials, rough_parsing
from spt.data.fashion import resize_sample
from spt.data.synthetic import SPLITS, SyntheticPeople, walking_cycle
from spt.parsing import PALETTE, SPT10_LABELS, legend, load_parsing
from spt.pose import (
    KEYPOINT_NAMES, draw_skeleton, keypoints_from_json, keypoints_to_json, mirror_keypoints, parse_patn_row,
    pose_mask, rescale_keypoints, validate_keypoints,
)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = os.path.join(HERE, "pretrained", "spt-synthetic")
DISPLAY_HEIGHT = 384
# On-page height of the image views, so that tall, narrow people do not stretch to the column width.
VIEW_HEIGHT = 420
IMAGE_VIEW = {"interactive": False, "height": VIEW_HEIGHT}
MAX_ID = 100_000
NUM_POSES = 12
DEFAULT_PARSER = "mattmdjaga/segformer_b2_clothes"
EXAMPLES = os.path.join(HERE, "examples")
SIZES = {"128 x 128 (SyntheticPeople)": (128, 128), "256 x 176 (DeepFashion)": (256, 176), "128 x 64 (Market-1501)": (128, 64)}


MAX_UPLOAD = "20mb"  # per file; Gradio refuses larger uploads before any handler runs
OUTPUT_MINUTES = 30  # how long a generated file the Space wrote itself (animations) is kept
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\\/\s'\":,()]+)+[\\/]([^\\/\s'\":,()]+)")


def without_paths(text: str) -> str:
    """A message with every file path cut to its last name: the visitor sees no server folders."""
    return _PATH.sub(r"\1", text)


def user_errors(handler):
    """Turn what bad input raises inside a handler into a ``gr.Error`` the visitor can read (no server paths),
    instead of Gradio's generic "upstream app has raised an exception"."""

    @functools.wraps(handler)
    def wrapped(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except gr.Error as err:
            raise gr.Error(without_paths(str(err.message))) from None
        except Image.DecompressionBombError:
            raise gr.Error(f"The image is too large: upload one under {Image.MAX_IMAGE_PIXELS // 1_000_000} "
                           "megapixels") from None
        except (ValueError, OSError, KeyError, IndexError, TypeError) as err:
            raise gr.Error(without_paths(f"{err}" if isinstance(err, ValueError) else f"{type(err).__name__}: {err}")) from None

    return wrapped


def output_path(name: str) -> str:
    """A new file for a generated output in the Space's one output folder, where files older than
    ``OUTPUT_MINUTES`` are removed first (Gradio serves a copy from its own cache)."""
    folder = os.path.join(tempfile.gettempdir(), "spt-space-outputs")
    os.makedirs(folder, exist_ok=True)
    now = time.time()
    for old in os.scandir(folder):
        if now - old.stat().st_mtime > OUTPUT_MINUTES * 60:
            try:
                os.remove(old.path)
            except OSError:
                pass  # another worker removed it
    handle, path = tempfile.mkstemp(suffix="-" + name, dir=folder)
    os.close(handle)
    return path


# --------------------------------------------------------------------------------------------------
# Model and data
# --------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=2)
def load_pipeline(model: str | None = None):
    from spt.pipeline import SPTPipeline

    model = model or os.environ.get("SPT_MODEL") or DEFAULT_MODEL
    try:
        pipe = SPTPipeline.from_pretrained(model)
    except (ValueError, OSError) as err:
        raise gr.Error(f"Could not load the model {model!r}: {err}") from None
    if not pipe.uses_parsing:
        raise gr.Error(f"{model!r} is the parsing-free Baseline ablation; the Space shows and edits the predicted "
                       "parsing, so it needs an SPT model with H_S")
    return pipe


def model_size() -> tuple[int, int]:
    return load_pipeline().image_size


@functools.lru_cache(maxsize=4)
def _people(split: str, size: tuple[int, int], seed: int = 0) -> SyntheticPeople:
    return SyntheticPeople(size, seed, split)


def _check_id(value, what: str) -> int:
    if value is None or not float(value).is_integer() or not 0 <= int(value) < MAX_ID:
        raise gr.Error(f"{what} must be a whole number from 0 to {MAX_ID - 1}, got {value!r}")
    return int(value)


def _factor(height: int) -> int:
    return max(1, DISPLAY_HEIGHT // height)


def enlarge(image: np.ndarray) -> np.ndarray:
    """Nearest-neighbour upscale of an image or mask, so that small renders stay crisp on screen."""
    factor = _factor(image.shape[0])
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def skeleton_view(keypoints: np.ndarray, size: tuple[int, int], image: np.ndarray | None = None) -> np.ndarray:
    big = (size[0] * _factor(size[0]), size[1] * _factor(size[0]))
    canvas = enlarge(image) if image is not None else None
    return np.asarray(draw_skeleton(canvas, rescale_keypoints(keypoints, size, big), big if canvas is None else None))


def parsing_view(labels: np.ndarray, image: np.ndarray | None = None):
    """(base image, [(mask, label name)]) for gr.AnnotatedImage, enlarged."""
    base = enlarge(image if image is not None else PALETTE[labels])
    return base, [(enlarge(labels == k).astype(np.float32), name) for k, name in enumerate(SPT10_LABELS) if k and (labels == k).any()]


def synthetic_person(person_id, pose_id) -> dict:
    size = model_size()
    person_id, pose_id = _check_id(person_id, "Person id"), _check_id(pose_id, "Pose id")
    s = _people("test", size).render(person_id, pose_id)
    return {"image": s["image"], "keypoints": s["keypoints"], "parsing": s["parsing"], "person": person_id, "pose": pose_id}


@functools.lru_cache(maxsize=2)
def _gallery_keypoints(size: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """The pose gallery: held-out test people 1000+k in poses 1000+k, rendered once per model size."""
    people = _people("test", size)
    return tuple(people.render(1000 + k, 1000 + k)["keypoints"] for k in range(NUM_POSES))


def pose_gallery() -> list[tuple[np.ndarray, str]]:
    size = model_size()
    return [(skeleton_view(kp, size), f"pose {k}") for k, kp in enumerate(_gallery_keypoints(size))]


def gallery_pose(index: int) -> np.ndarray:
    return _gallery_keypoints(model_size())[index].copy()


# --------------------------------------------------------------------------------------------------
# Inputs from uploads
# --------------------------------------------------------------------------------------------------

def read_keypoints_text(text: str, size: tuple[int, int]) -> np.ndarray:
    """Keypoints from our JSON, OpenPose JSON, an 18x2 list, or one PATN CSV row; checked against the frame."""
    text = (text or "").strip()
    if not text:
        raise gr.Error("Paste keypoints: JSON ({\"keypoints\": [[x, y], ...]}) or a PATN CSV row (name: [ys]: [xs])")
    try:
        kp = keypoints_from_json(text) if text[0] in "{[" else parse_patn_row(text, where="pasted row")[1]
        return validate_keypoints(kp, size, name="keypoints")
    except ValueError as err:
        raise gr.Error(f"Bad keypoints: {err}") from None


@functools.lru_cache(maxsize=1)
def human_parser():
    """The Hub human parser (``SPT_PARSER``, an ATR-18 SegFormer by default) or the reason it cannot load."""
    repo_id = os.environ.get("SPT_PARSER", DEFAULT_PARSER)
    try:
        return HubParsing(repo_id, os.environ.get("SPT_PARSER_SCHEME", "atr18")), None
    except FrontEndUnavailable as err:
        return None, f"the human parser {repo_id} is unavailable: {str(err).split(';')[0]}"


SYNTHETIC_MODEL_NOTE = ("The default model was trained on SyntheticPeople only: on a photo it draws a rough "
                        "figure, not a photo-real person. Photo-real results need a model trained on real data "
                        "(README, Training; load it with `SPT_MODEL=<folder or Hub id>`).")


def uploaded_person(image_path, keypoints_path, parsing_path, scheme: str) -> tuple[dict, str]:
    """A source person from an upload: the photo, with its keypoints and parsing when given, else estimated
    (``spt.estimation``: BlazePose and the person mask, then the rough parsing or a Hub parser) on the full
    photo, which is then cut to the model's aspect around the person. Returns the person and a note on what
    was estimated; ``person_problem(person)`` says whether it can be generated from."""
    if not image_path:
        raise gr.Error("Upload a photo (PNG or JPEG) first")
    try:
        with Image.open(image_path) as im:
            image = np.asarray(im.convert("RGB"))
    except OSError:
        raise gr.Error(f"{os.path.basename(image_path)} is not an image: upload a PNG or JPEG photo") from None
    except Image.DecompressionBombError:
        raise gr.Error(f"{os.path.basename(image_path)} is too large: upload a photo under "
                       f"{Image.MAX_IMAGE_PIXELS // 1_000_000} megapixels") from None
    keypoints = parsing = None
    if keypoints_path:
        with open(keypoints_path, encoding="utf-8", errors="replace") as handle:
            keypoints = read_keypoints_text(handle.read(), image.shape[:2])
    if parsing_path:
        try:
            parsing = load_parsing(parsing_path, scheme)
        except (ValueError, OSError) as err:
            raise gr.Error(f"Bad parsing map: {err}") from None
        if parsing.shape != image.shape[:2]:
            raise gr.Error(f"The parsing is {parsing.shape[0]}x{parsing.shape[1]} but the photo is "
                           f"{image.shape[0]}x{image.shape[1]}: they must describe the same pixels")
    notes, mask, rough, centre = [], None, False, None
    if keypoints is None or parsing is None:
        try:
            estimate = load_pipeline().person_estimator()(image, keypoints=keypoints)
        except FrontEndUnavailable as err:
            raise gr.Error(f"Cannot estimate the pose here ({err}): upload the keypoints (JSON) too") from None
        centre, mask = estimate.bounding_box_centre(), estimate.mask
        if keypoints is None:
            keypoints = estimate.keypoints
            notes.append(estimate.summary())
        if parsing is None:
            parser, reason = human_parser()
            if parser is not None:
                parsing = parser(image)
                notes.append(f"parsing by the human parser {parser.name[4:]}")
            else:
                parsing, rough = estimate.parsing, True
                notes.append(f"rough parsing: body parts inside the person mask ({reason})")
    size = model_size()
    image, keypoints, parsing = resize_sample(image, keypoints, parsing, size, centre)
    if mask is not None:
        mask = resize_sample(np.zeros((*mask.shape, 3), np.uint8), None, mask.astype(np.uint8), size, centre)[2] > 0
    source = {"image": image, "keypoints": keypoints, "parsing": parsing, "mask": mask, "rough": rough,
              "person": "upload", "pose": "upload"}
    return source, "; ".join(notes)


def person_problem(source: dict) -> str | None:
    """None when ``source`` has its essential joints, else what is found and what is missing."""
    missing = missing_essentials(source["keypoints"])
    if not missing:
        return None
    found = found_joints(source["keypoints"])
    return (f"No usable person: {len(found)}/18 joints found ({', '.join(found) or 'none'}); missing: "
            f"{', '.join(missing)}. Place them by hand: choose a joint under the source image and click where it "
            "is on the photo, or upload the keypoints (JSON).")


# --------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------

def run_pipeline(source: dict, target_keypoints: np.ndarray, target_parsing: np.ndarray | None = None):
    problem = person_problem(source)
    if problem:
        raise gr.Error(problem)
    pipe = load_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = pipe(source["image"], target_keypoints, source_pose=source["keypoints"],
                       source_parsing=source["parsing"], target_parsing=target_parsing)
        except ValueError as err:
            raise gr.Error(str(err)) from None
    return np.asarray(out.images[0]), out.target_parsing[0]


@user_errors
def generate(source: dict, target_keypoints):
    """Pose transfer for the page: the predicted parsing (annotated), the generated image, the timing."""
    if source is None:
        raise gr.Error("Choose a source person first")
    if target_keypoints is None:
        raise gr.Error("Choose a target pose first (click one in the pose gallery)")
    start = time.perf_counter()
    image, parsing = run_pipeline(source, np.asarray(target_keypoints, np.float32))
    seconds = time.perf_counter() - start
    return parsing_view(parsing), enlarge(image), parsing, f"generated in {seconds * 1000:.0f} ms"


@user_errors
def generate_api(photo: str, keypoints: str | None, parsing: str | None, scheme: str, target_pose: str) -> np.ndarray:
    """API (``/generate``): the person of an uploaded photo (keypoints and parsing optional, estimated when
    absent) in ``target_pose`` (keypoints JSON, a PATN CSV row, or a pose-gallery index 0-11); returns the
    generated image (a PNG file to the client)."""
    source, _ = uploaded_person(photo, keypoints, parsing, scheme or "spt10")
    text = str(target_pose or "").strip()
    if text.isdigit():
        if not 0 <= int(text) < NUM_POSES:
            raise gr.Error(f"Pose index must be 0-{NUM_POSES - 1}, got {text}")
        target = gallery_pose(int(text))
    else:
        target = read_keypoints_text(text, model_size())
    image, _ = run_pipeline(source, target)
    return image  # Gradio writes it to its own cache, which delete_cache empties


@user_errors
def texture_transfer(person_a, pose_a, person_b, pose_b):
    """Paper Fig. 9: A's clothes rendered on B's pose and layout."""
    a, b = synthetic_person(person_a, pose_a), synthetic_person(person_b, pose_b)
    image, _ = run_pipeline(a, b["keypoints"], target_parsing=b["parsing"])
    return enlarge(a["image"]), enlarge(b["image"]), enlarge(image)


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


@user_errors
def regenerate_from_layout(source: dict, target_keypoints, editor_value):
    if source is None or target_keypoints is None:
        raise gr.Error("Generate once in the Pose transfer tab first")
    labels = decode_layout(editor_value, model_size())
    image, _ = run_pipeline(source, np.asarray(target_keypoints, np.float32), target_parsing=labels)
    return enlarge(image), parsing_view(labels)


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


def motion_poses(motion: str, source: dict, target_keypoints, frames: int, sequence_path) -> list[np.ndarray]:
    size = model_size()
    if motion == "walking cycle":
        person = source["person"] if isinstance(source["person"], int) else 0
        view = _people("test", size).pose(source["pose"]).yaw if isinstance(source["pose"], int) else 0.0
        people = _people("test", size)
        return [people.render(person, pose)["keypoints"] for pose in walking_cycle(frames, yaw=view)]
    if motion == "uploaded keypoint sequence":
        if not sequence_path:
            raise gr.Error("Upload the keypoint sequence (a JSON list of poses) first")
        return read_pose_sequence(sequence_path, size)
    if motion != "to the target pose and back":
        raise gr.Error(f"Unknown motion {motion!r}; choose one of: {', '.join(MOTIONS)}")
    if target_keypoints is None:
        raise gr.Error("Choose a target pose in the Pose transfer tab first")
    start, end = np.asarray(source["keypoints"]), np.asarray(target_keypoints, np.float32)
    both = (start[:, 0] >= 0) & (end[:, 0] >= 0)
    poses = []
    for t in np.concatenate([np.linspace(0, 1, frames), np.linspace(1, 0, frames)[1:-1]]):
        # Joints present at both ends move linearly; the others appear or vanish halfway.
        pose = np.where(both[:, None], (1 - t) * start + t * end, end if t > 0.5 else start).astype(np.float32)
        pose[~both & ((end[:, 0] < 0) if t > 0.5 else (start[:, 0] < 0))] = -1
        poses.append(pose)
    return poses


@user_errors
def animate(source: dict, target_keypoints, motion: str, frames: int, sequence_path=None, progress=gr.Progress()):
    """An animated GIF of the source person following a motion, one pipeline call per frame."""
    if source is None:
        raise gr.Error("Choose a source person in the Pose transfer tab first")
    frames = int(frames)
    if not 2 <= frames <= 48:
        raise gr.Error("Frames must be between 2 and 48")
    images = []
    for pose in progress.tqdm(motion_poses(motion, source, target_keypoints, frames, sequence_path), desc="rendering"):
        image, _ = run_pipeline(source, pose)
        images.append(Image.fromarray(enlarge(image)))
    path = output_path("animation.gif")
    images[0].save(path, save_all=True, append_images=images[1:], duration=90, loop=0)
    return path


# --------------------------------------------------------------------------------------------------
# Page callbacks
# --------------------------------------------------------------------------------------------------

def example_uploads() -> list[list[str]]:
    """Rows (photo, keypoints, parsing, scheme) for the files in ``examples/``."""
    if not os.path.isdir(EXAMPLES):
        return []
    rows = []
    for name in sorted(os.listdir(EXAMPLES)):
        stem, ext = os.path.splitext(name)
        files = [os.path.join(EXAMPLES, name), os.path.join(EXAMPLES, stem + ".json"),
                 os.path.join(EXAMPLES, stem + "_parsing.png")]
        if ext == ".png" and not stem.endswith("_parsing") and all(map(os.path.exists, files)):
            rows.append(files + ["spt10"])
    return rows


@user_errors
def pick_source(person_id, pose_id):
    source = synthetic_person(person_id, pose_id)
    return source, *source_views(source)


def source_views(source: dict):
    size = model_size()
    return (skeleton_view(source["keypoints"], size, source["image"]), parsing_view(source["parsing"], source["image"]))


def describe_upload(source: dict, note: str) -> str:
    """What was estimated, what is missing, and, with the embedded model, what it was trained on."""
    problem = person_problem(source)
    lines = [f"Estimated: {note}." if note else "", f"**{problem}**" if problem else "",
             SYNTHETIC_MODEL_NOTE if os.environ.get("SPT_MODEL", DEFAULT_MODEL) in ("", DEFAULT_MODEL) else ""]
    return "\n\n".join(line for line in lines if line)


@user_errors
def pick_upload(image_path, keypoints_path, parsing_path, scheme):
    source, note = uploaded_person(image_path, keypoints_path, parsing_path, scheme)
    return source, *source_views(source), describe_upload(source, note)


def clicked_joint(keypoints, joint: str, evt: gr.SelectData) -> np.ndarray:
    """``keypoints`` with ``joint`` moved to the pixel clicked on an enlarged view (model pixels, clamped)."""
    if joint not in KEYPOINT_NAMES:
        raise gr.Error(f"Choose which joint to move (one of {', '.join(KEYPOINT_NAMES)})")
    size = model_size()
    factor = _factor(size[0])
    kp = np.asarray(keypoints, np.float32).copy()
    x, y = evt.index
    kp[KEYPOINT_NAMES.index(joint)] = [min(max((x + 0.5) / factor - 0.5, 0), size[1] - 1),
                                       min(max((y + 0.5) / factor - 0.5, 0), size[0] - 1)]
    return kp


@user_errors
def place_source_joint(source: dict, joint: str, evt: gr.SelectData):
    """Click on the source image: the chosen joint goes there; a rough parsing is redrawn from the new pose."""
    if source is None:
        raise gr.Error("Choose a source person first")
    kp = clicked_joint(source["keypoints"], joint, evt)
    size = model_size()
    source = dict(source, keypoints=kp)
    if source.get("rough"):
        mask = source.get("mask")
        if mask is None or not mask.any():
            mask = pose_mask(kp, size)[0] > 0.5
        source["parsing"] = rough_parsing(kp, mask)
    return source, *source_views(source), describe_upload(source, f"{joint} placed by hand")


def target_view(keypoints):
    size = model_size()
    kp = np.asarray(keypoints, np.float32)
    return skeleton_view(kp, size), keypoints_to_json(kp, size)


@user_errors
def select_pose(evt: gr.SelectData):
    kp = gallery_pose(evt.index)
    return kp.tolist(), kp.tolist(), *target_view(kp)


@user_errors
def move_joint(keypoints, joint: str, evt: gr.SelectData):
    if keypoints is None:
        raise gr.Error("Choose a target pose first")
    kp = clicked_joint(keypoints, joint, evt)
    return kp.tolist(), *target_view(kp)


@user_errors
def mirror_pose(keypoints):
    if keypoints is None:
        raise gr.Error("Choose a target pose first")
    kp = mirror_keypoints(np.asarray(keypoints, np.float32), model_size()[1])
    return kp.tolist(), *target_view(kp)


@user_errors
def reset_pose(original):
    if original is None:
        raise gr.Error("Choose a target pose first")
    return original, *target_view(original)


@user_errors
def paste_pose(text):
    kp = read_keypoints_text(text, model_size())
    return kp.tolist(), kp.tolist(), *target_view(kp)


@user_errors
def to_editor(parsing):
    if parsing is None:
        raise gr.Error("Generate first")
    return enlarge(PALETTE[np.asarray(parsing)])


@user_errors
def browse(split: str, size_name: str, seed: int, identity_id, pose_id):
    """The dataset browser: one person in one pose, with skeleton, parsing and other poses."""
    if size_name not in SIZES:
        raise gr.Error(f"Unknown size {size_name!r}; choose one of: {', '.join(SIZES)}")
    if split not in SPLITS:
        raise gr.Error(f"Unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    people = _people(split, SIZES[size_name], int(seed))
    identity_id, pose_id = _check_id(identity_id, "Person id"), _check_id(pose_id, "Pose id")
    sample = people.render(identity_id, pose_id)
    image = sample["image"]
    big = enlarge(image)
    annotations = parsing_view(sample["parsing"], image)[1]
    skeleton = skeleton_view(sample["keypoints"], image.shape[:2], image)
    others = [(enlarge(people.render(identity_id, pose_id + k)["image"]), f"pose {pose_id + k}") for k in range(1, 5)]
    pose = people.pose(pose_id)
    info = f"person {identity_id}, pose {pose_id}: {pose.activity}, view yaw {pose.yaw:.0f} deg"
    return big, skeleton, (big, annotations), others, keypoints_to_json(sample["keypoints"], people.size), info


# --------------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------------

def build_demo() -> gr.Blocks:
    colors = dict(legend())
    # Uploads and outputs in Gradio's cache are deleted after an hour (checked every 10 minutes).
    with gr.Blocks(title="spt: Semantic Parsing Transformation", delete_cache=(600, 3600)) as demo:
        gr.Markdown(
            "# spt: Semantic Parsing Transformation\n"
            "Unsupervised pose-guided person generation (Song et al., CVPR 2019): H_S predicts the target "
            "parsing, H_A renders the person onto it. The default model was trained on **SyntheticPeople**, "
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
                            person_id = gr.Number(value=3, precision=0, label="Person id", minimum=0, maximum=MAX_ID - 1)
                            pose_id = gr.Number(value=0, precision=0, label="Pose id", minimum=0, maximum=MAX_ID - 1)
                        use_person = gr.Button("Use this person")
                        source_skeleton = gr.Image(label="Source with its pose (click to place the chosen joint)",
                                                   **IMAGE_VIEW)
                        source_joint = gr.Dropdown(list(KEYPOINT_NAMES), value="neck", label="Source joint to place")
                        source_parsing = gr.AnnotatedImage(label="Source parsing (SPT-10)", color_map=colors, height=VIEW_HEIGHT)
                        with gr.Accordion("…or an example, or your own photo", open=False):
                            up_image = gr.File(label="Photo (PNG/JPEG)", type="filepath")
                            up_keypoints = gr.File(label="Keypoints (COCO-18 or OpenPose JSON; optional: "
                                                         "estimated when absent)", type="filepath")
                            up_parsing = gr.File(label="Parsing (PNG label map; optional: estimated when absent)",
                                                 type="filepath")
                            up_scheme = gr.Dropdown(["spt10", "lip20", "atr18"], value="spt10", label="Parsing labels")
                            use_upload = gr.Button("Use the upload")
                            upload_note = gr.Markdown()
                            upload_io = ([up_image, up_keypoints, up_parsing, up_scheme],
                                         [source, source_skeleton, source_parsing, upload_note])
                            example_rows = example_uploads()
                            if example_rows:
                                gr.Examples(example_rows, upload_io[0], upload_io[1], pick_upload, run_on_click=True,
                                            label="Examples (examples/)", api_name=False,
                                            example_labels=[os.path.basename(r[0])[10:-4] for r in example_rows])
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
                        go = gr.Button("Generate", variant="primary")
                        timing = gr.Markdown()
                        out_parsing = gr.AnnotatedImage(label="Predicted target parsing (H_S)", color_map=colors, height=VIEW_HEIGHT)
                        out_image = gr.Image(label="Generated (H_A)", elem_id="generated", **IMAGE_VIEW)
            with gr.Tab("Texture transfer", id="texture"):
                gr.Markdown("Paper Fig. 9: the clothes of person A on the pose and layout of person B.")
                with gr.Row():
                    a_id = gr.Number(value=5, precision=0, label="Person A (appearance)")
                    a_pose = gr.Number(value=0, precision=0, label="A's pose")
                    b_id = gr.Number(value=8, precision=0, label="Person B (layout)")
                    b_pose = gr.Number(value=3, precision=0, label="B's pose")
                    swap = gr.Button("Transfer", variant="primary")
                with gr.Row():
                    a_view = gr.Image(label="A", **IMAGE_VIEW)
                    b_view = gr.Image(label="B", **IMAGE_VIEW)
                    ab_view = gr.Image(label="A's clothes on B", elem_id="texture-result", **IMAGE_VIEW)
            with gr.Tab("Edit layout", id="edit"):
                gr.Markdown("Paper Fig. 10: paint on the predicted parsing with the legend's colours (e.g. lengthen "
                            "sleeves with the upper-clothes colour, or turn pants into a skirt), then regenerate.")
                gr.HighlightedText(value=[(name, name) for name in SPT10_LABELS], color_map=colors, label="Legend",
                                   show_legend=False, show_inline_category=False)
                with gr.Row():
                    editor = gr.ImageEditor(label="Target parsing", type="numpy",
                                            brush=gr.Brush(colors=[c for _, c in legend()], color_mode="fixed"))
                    with gr.Column():
                        regenerate = gr.Button("Regenerate from this layout", variant="primary")
                        edited_image = gr.Image(label="Generated from the edited layout", elem_id="edited-image", **IMAGE_VIEW)
                        edited_parsing = gr.AnnotatedImage(label="Layout used", color_map=colors, height=VIEW_HEIGHT)
            with gr.Tab("Animate", id="animate"):
                gr.Markdown("The source person of the Pose transfer tab in motion: a walking cycle, a morph to the "
                            "target pose and back, or your own keypoint sequence (a JSON list of poses).")
                with gr.Row():
                    motion = gr.Radio(list(MOTIONS), value=MOTIONS[0], label="Motion")
                    frames = gr.Slider(2, 48, value=12, step=1, label="Frames (per cycle, or each way)")
                    sequence = gr.File(label="Keypoint sequence (JSON)", type="filepath")
                    render = gr.Button("Render animation", variant="primary")
                animation = gr.Image(label="Animation (GIF)", type="filepath", elem_id="animation", **IMAGE_VIEW)
            with gr.Tab("Browse SyntheticPeople", id="browse"):
                with gr.Row():
                    split = gr.Dropdown(list(SPLITS), value="test", label="Split")
                    size_name = gr.Dropdown(list(SIZES), value=next(iter(SIZES)), label="Image size")
                    seed = gr.Number(value=0, precision=0, label="Dataset seed")
                    identity_id = gr.Number(value=0, precision=0, label="Person id", minimum=0, maximum=MAX_ID - 1)
                    b_pose_id = gr.Number(value=0, precision=0, label="Pose id", minimum=0, maximum=MAX_ID - 1)
                show = gr.Button("Show")
                info = gr.Markdown()
                with gr.Row():
                    image = gr.Image(label="Image", type="numpy", elem_id="browse-image", **IMAGE_VIEW)
                    skeleton = gr.Image(label="Pose (COCO-18 keypoints)", **IMAGE_VIEW)
                    parsing = gr.AnnotatedImage(label="Parsing (SPT-10)", color_map=colors, height=VIEW_HEIGHT)
                others = gr.Gallery(label="The same person in other poses", columns=4, height="auto")
                keypoints = gr.Code(label="Keypoints JSON", language="json")

        # Pose transfer
        use_person.click(pick_source, [person_id, pose_id], [source, source_skeleton, source_parsing], api_name=False)
        use_upload.click(pick_upload, *upload_io, api_name=False)
        source_skeleton.select(place_source_joint, [source, source_joint],
                               [source, source_skeleton, source_parsing, upload_note], api_name=False)
        poses.select(select_pose, None, [target, target_original, target_skeleton, target_json], api_name=False)
        target_skeleton.select(move_joint, [target, joint], [target, target_skeleton, target_json], api_name=False)
        mirror.click(mirror_pose, [target], [target, target_skeleton, target_json], api_name=False)
        reset.click(reset_pose, [target_original], [target, target_skeleton, target_json], api_name=False)
        use_pasted.click(paste_pose, [target_json], [target, target_original, target_skeleton, target_json], api_name=False)
        go.click(generate, [source, target], [out_parsing, out_image, last_parsing, timing], api_name=False).then(
            to_editor, [last_parsing], [editor], api_name=False)
        # The other tabs
        swap.click(texture_transfer, [a_id, a_pose, b_id, b_pose], [a_view, b_view, ab_view], api_name="texture_transfer")
        regenerate.click(regenerate_from_layout, [source, target, editor], [edited_image, edited_parsing], api_name=False)
        render.click(animate, [source, target, motion, frames, sequence], [animation], api_name=False)
        browse_io = ([split, size_name, seed, identity_id, b_pose_id], [image, skeleton, parsing, others, keypoints, info])
        show.click(browse, *browse_io, api_name="browse")
        # API-only endpoint (gradio_client): generation from uploaded files.
        api_in = [gr.File(visible=False, type="filepath") for _ in range(3)] + [gr.Textbox("spt10", visible=False),
                                                                               gr.Textbox(visible=False)]
        api_out = gr.Image(visible=False, type="filepath", format="png")  # lossless, as before
        gr.Button(visible=False).click(generate_api, api_in, [api_out], api_name="generate")

        @functools.lru_cache(maxsize=1)
        def worked_example():
            """What the page opens on, the same for every visitor: computed on the first visit only."""
            first = synthetic_person(person_id.value, pose_id.value)
            kp = gallery_pose(7)  # a full-body pose: every joint visible
            views, image, parsing, timing = generate(first, kp)
            return (first, *source_views(first), pose_gallery(), kp.tolist(), kp.tolist(), *target_view(kp), views,
                    image, parsing, timing, to_editor(parsing),
                    *texture_transfer(a_id.value, a_pose.value, b_id.value, b_pose.value))

        def start(request: gr.Request):
            """The page opens on the worked example, on the tab named by ``?tab=`` (deep links)."""
            tab = (request.query_params.get("tab") if request else None) or "pose"
            return gr.Tabs(selected=tab), *worked_example()

        demo.load(start, None, [tabs, source, source_skeleton, source_parsing, poses, target, target_original,
                                target_skeleton, target_json, out_parsing, out_image, last_parsing, timing, editor,
                                a_view, b_view, ab_view], api_name=False)
        demo.load(browse, *browse_io, api_name=False)
    # Visitors are served in order; two generations run at once (CPU Spaces have two cores).
    return demo.queue(default_concurrency_limit=2, max_size=64)


demo = build_demo()


def launch(**kwargs):
    """Serve the page with the Space's limits (upload size); ``python app.py`` calls this."""
    return demo.launch(max_file_size=MAX_UPLOAD, **kwargs)


if __name__ == "__main__":
    launch()
