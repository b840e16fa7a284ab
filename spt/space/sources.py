"""The source people of the Space: SyntheticPeople test people, the pose gallery, examples and uploads."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

import gradio as gr
import numpy as np
from PIL import Image

from ..data.synthetic import make_people
from ..estimation import FrontEndUnavailable, HubParsing, found_joints, missing_essentials, rough_parsing
from ..parsing import SCHEMES, merge_file_labels, read_label_map, scheme_mismatch
from ..pose import keypoints_from_json, keypoints_to_json, parse_patn_row, pose_mask, validate_keypoints
from ..processor import MIN_IMAGE_SIDE, check_scheme, open_photo
from .model import load_pipeline, served_world, serves_embedded_model, space_root, synthetic_model_note
from .views import enlarge, parsing_view, skeleton_view

MAX_ID = 100_000


NUM_POSES = 12


DEFAULT_PARSER = "mattmdjaga/segformer_b2_clothes"


@dataclass
class Person:
    """The selected source: the image, keypoints and parsing at the model's size. ``mask`` is an upload's
    person mask and ``rough`` says its parsing was estimated (it is redrawn when joints are placed);
    ``person_id`` / ``pose_id`` name a SyntheticPeople test person (None for an upload)."""

    image: np.ndarray
    keypoints: np.ndarray
    parsing: np.ndarray
    mask: np.ndarray | None = None
    rough: bool = False
    person_id: int | None = None
    pose_id: int | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(height, width): the model's size, which the keypoints and parsing share."""
        return self.image.shape[:2]

    def problem(self) -> str | None:
        """None when the essential joints are there, else what is found and what is missing."""
        missing = missing_essentials(self.keypoints)
        if not missing:
            return None
        found = found_joints(self.keypoints)
        return (
            f"No usable person: {len(found)}/18 joints found ({', '.join(found) or 'none'}); missing: "
            f"{', '.join(missing)}. Place them by hand: choose a joint under the source image and click where "
            "it is on the photo, or upload the keypoints (JSON)."
        )

    def with_keypoints(self, kp: np.ndarray) -> "Person":
        """A copy with edited keypoints; a rough parsing is redrawn for the new pose."""
        parsing = self.parsing
        if self.rough:
            mask = (
                self.mask if self.mask is not None and self.mask.any() else pose_mask(kp, self.image.shape[:2])[0] > 0.5
            )
            parsing = rough_parsing(kp, mask)
        return Person(self.image, kp, parsing, self.mask, self.rough, self.person_id, self.pose_id)


def people(split: str, size: tuple[int, int], seed: int = 0, world: str | None = None):
    """SyntheticPeople of ``world``, by default the world the served model was trained on."""
    return _people(split, size, seed, world or served_world())


@functools.lru_cache(maxsize=8)
def _people(split: str, size: tuple[int, int], seed: int, world: str):
    return make_people(world, size, seed, split)


def check_id(value, what: str) -> int:
    if value is None or not float(value).is_integer() or not 0 <= int(value) < MAX_ID:
        raise gr.Error(f"{what} must be a whole number from 0 to {MAX_ID - 1}, got {value!r}")
    return int(value)


def synthetic_person(person_id, pose_id, size: tuple[int, int]) -> Person:
    person_id, pose_id = check_id(person_id, "Person id"), check_id(pose_id, "Pose id")
    s = people("test", size).render(person_id, pose_id)
    return Person(s["image"], s["keypoints"], s["parsing"], person_id=person_id, pose_id=pose_id)


@functools.lru_cache(maxsize=2)
def gallery_keypoints(size: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """The pose gallery: held-out test people 1000+k in poses 1000+k, rendered once per model size."""
    test = people("test", size)
    return tuple(test.render(1000 + k, 1000 + k)["keypoints"] for k in range(NUM_POSES))


def pose_gallery(size: tuple[int, int]) -> list[tuple[np.ndarray, str]]:
    return [(skeleton_view(kp, size), f"pose {k}") for k, kp in enumerate(gallery_keypoints(size))]


def read_keypoints_file(path: str, size: tuple[int, int]) -> np.ndarray:
    """Keypoints from an uploaded file: UTF-8 or UTF-16 text (with its byte-order mark), one pose, named by the
    file's name in every message."""
    name, size_bytes = os.path.basename(path), os.path.getsize(path)
    if size_bytes > 4 * MAX_POSE_TEXT:  # UTF-16 doubles the bytes; more is a batch or junk
        raise gr.Error(
            f"{name} is {size_bytes / 2**20:.1f} MB; one pose (18 joints) takes well under {MAX_POSE_TEXT:,} "
            "characters: upload a file with one pose"
        )
    with open(path, "rb") as handle:
        raw = handle.read()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16", errors="replace")
    elif b"\0" in raw[:1024] or raw.startswith((b"\x89PNG", b"\xff\xd8", b"GIF8", b"RIFF")):
        raise gr.Error(f"{name} is a binary file (an image?), not keypoints: upload them as JSON or a PATN CSV row")
    else:
        text = raw.decode("utf-8-sig", errors="replace")
    return read_keypoints_text(text, size, where=name)


def gallery_pose(index: int, size: tuple[int, int]) -> np.ndarray:
    return gallery_keypoints(size)[index].copy()


MAX_POSE_TEXT = 20_000  # characters: one pose is ~500; more is a batch or junk, refused before parsing


def read_keypoints_text(text: str, size: tuple[int, int], where: str = "pasted row") -> np.ndarray:
    """Keypoints from our JSON, OpenPose JSON, an 18x2 list, or one PATN CSV row; checked against the frame.
    ``where`` names the text in messages (the pasted row, or an uploaded file's name)."""
    text = (text or "").strip()
    if not text:
        raise gr.Error('Paste keypoints: JSON ({"keypoints": [[x, y], ...]}) or a PATN CSV row (name: [ys]: [xs])')
    if len(text) > MAX_POSE_TEXT:
        raise gr.Error(
            f"The {where} holds {len(text):,} characters; one pose (18 joints) takes well under "
            f"{MAX_POSE_TEXT:,}. {'Paste one pose per generation' if where == 'pasted row' else 'Upload one pose'}."
        )
    try:
        kp = keypoints_from_json(text, size) if text[0] in "{[" else parse_patn_row(text, where=where)[1]
        kp = validate_keypoints(kp, size, name="keypoints")
    except ValueError as err:
        raise gr.Error(f"Bad keypoints: {err}") from None
    if kp.ndim == 3 and len(kp) == 1:
        kp = kp[0]
    if kp.ndim != 2:
        raise gr.Error(f"Paste one pose per generation: this text holds {len(kp)} poses of 18 joints")
    return kp


@functools.lru_cache(maxsize=1)
def human_parser():
    """The Hub human parser (``SPT_PARSER``, an ATR-18 SegFormer by default) or the reason it cannot load."""
    repo_id = os.environ.get("SPT_PARSER", DEFAULT_PARSER)
    try:
        return HubParsing(repo_id, os.environ.get("SPT_PARSER_SCHEME", "atr18")), None
    except FrontEndUnavailable as err:
        return None, f"the human parser {repo_id} is unavailable: {str(err).split(';')[0]}"


def uploaded_person(image_path, keypoints_path, parsing_path, scheme: str) -> tuple[Person, str]:
    """A source person from an upload: the photo, with its keypoints and parsing when given, else estimated
    (``spt.estimation``: BlazePose and the person mask, then the rough parsing or a Hub parser) on the full
    photo, which is then cut to the model's aspect around the person. Returns the person and a note on what
    was estimated; ``Person.problem`` says whether it can be generated from."""
    if not image_path:
        raise gr.Error("Upload a photo (PNG or JPEG) first")
    try:
        check_scheme(scheme)  # named even when no parsing is uploaded: the caller's mistake is still a mistake
    except ValueError:
        raise gr.Error(f"Unknown parsing scheme {scheme!r}: choose one of {', '.join(sorted(SCHEMES))}") from None
    try:
        image = open_photo(image_path)
    except OSError:
        raise gr.Error(f"{os.path.basename(image_path)} is not an image: upload a PNG or JPEG photo") from None
    except Image.DecompressionBombError:
        raise gr.Error(
            f"{os.path.basename(image_path)} is too large: upload a photo under "
            f"{Image.MAX_IMAGE_PIXELS // 1_000_000} megapixels"
        ) from None
    if min(image.shape[:2]) < MIN_IMAGE_SIDE:
        raise gr.Error(
            f"{os.path.basename(image_path)} is {image.shape[0]}x{image.shape[1]} pixels: upload a photo of "
            f"at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} that shows a person"
        )
    keypoints = parsing = None
    if keypoints_path:
        keypoints = read_keypoints_file(keypoints_path, image.shape[:2])
    if parsing_path:
        try:
            labels = read_label_map(parsing_path)  # read once: merged here, checked against the scheme below
            parsing = merge_file_labels(labels, scheme, parsing_path)
        except (ValueError, OSError) as err:
            raise gr.Error(f"Bad parsing map: {err}") from None
        if parsing.shape != image.shape[:2]:
            raise gr.Error(
                f"The parsing is {parsing.shape[0]}x{parsing.shape[1]} but the photo is "
                f"{image.shape[0]}x{image.shape[1]}: they must describe the same pixels"
            )
    notes, mask, rough = [], None, False
    if keypoints is None or parsing is None:
        try:
            estimate = load_pipeline().person_estimator()(image, keypoints=keypoints)
        except FrontEndUnavailable as err:
            raise gr.Error(f"Cannot estimate the pose here ({err}): upload the keypoints (JSON) too") from None
        mask = estimate.mask
        if keypoints is None:
            keypoints = estimate.keypoints
            notes.append(estimate.summary())
        if parsing is None:
            parser, reason = human_parser()
            if parser is not None:
                parsing = parser(image)
                notes.append(f"parsing by the human parser {parser.repo_id}")
            else:
                parsing, rough = estimate.parsing, True
                notes.append(f"rough parsing: body parts inside the person mask ({reason})")
    caution = scheme_mismatch(labels, scheme, keypoints) if parsing_path else None
    if caution:
        gr.Warning(caution, title="Parsing labels")
    image, keypoints, parsing, mask, _ = load_pipeline().image_processor.fit(image, keypoints, parsing, mask)
    note = "\n\n".join(
        line
        for line in (f"Estimated: {'; '.join(notes)}." if notes else "", f"**{caution}**" if caution else "")
        if line
    )
    return Person(image, keypoints, parsing, mask, rough), note


def describe_upload(source: Person, note: str) -> str:
    """The upload's note (what was estimated, whether its parsing fits the scheme), what is missing, and, with
    the embedded model, what it was trained on."""
    problem = source.problem()
    lines = [note, f"**{problem}**" if problem else "", synthetic_model_note() if serves_embedded_model() else ""]
    return "\n\n".join(line for line in lines if line)


def example_label(path: str) -> str:
    """``examples/synthetic_test_id0001_pose0002.png`` -> ``test_id0001_pose0002``."""
    return os.path.splitext(os.path.basename(path))[0].removeprefix("synthetic_")


def example_uploads() -> list[list[str]]:
    """Rows (photo, keypoints, parsing, scheme) for the files in ``examples/``."""
    examples = str(space_root() / "examples")
    if not os.path.isdir(examples):
        return []
    rows = []
    for name in sorted(os.listdir(examples)):
        stem, ext = os.path.splitext(name)
        files = [
            os.path.join(examples, name),
            os.path.join(examples, stem + ".json"),
            os.path.join(examples, stem + "_parsing.png"),
        ]
        if ext == ".png" and not stem.endswith("_parsing") and all(map(os.path.exists, files)):
            rows.append(files + ["spt10"])
    return rows


def target_from_text(text, size: tuple[int, int]) -> np.ndarray:
    """A target pose given as text: a pose-gallery index, keypoints JSON or a PATN CSV row (model pixels)."""
    text = str(text or "").strip()
    if re.fullmatch(r"[+-]?[0-9]+", text):  # an index, also a negative one (not a CSV row gone wrong)
        if not 0 <= int(text) < NUM_POSES:
            raise gr.Error(f"Pose index must be 0-{NUM_POSES - 1}, got {text}")
        return gallery_pose(int(text), size)
    return read_keypoints_text(text, size)


def browse_views(split: str, size: tuple[int, int], seed: int, identity_id, pose_id, world: str | None = None):
    """One SyntheticPeople person (of ``world``) in one pose: image, skeleton, annotated parsing, four other
    poses, the keypoints JSON and a line of description."""
    dataset = people(split, size, seed, world)
    identity_id, pose_id = check_id(identity_id, "Person id"), check_id(pose_id, "Pose id")
    sample = dataset.render(identity_id, pose_id)
    image = sample["image"]
    big = enlarge(image)
    annotations = parsing_view(sample["parsing"], image)[1]
    skeleton = skeleton_view(sample["keypoints"], image.shape[:2], image)
    others = [(enlarge(dataset.render(identity_id, pose_id + k)["image"]), f"pose {pose_id + k}") for k in range(1, 5)]
    pose = dataset.pose(pose_id)
    info = f"person {identity_id}, pose {pose_id}: {pose.activity}, view yaw {pose.yaw:.0f} deg"
    return big, skeleton, (big, annotations), others, keypoints_to_json(sample["keypoints"], dataset.size), info
