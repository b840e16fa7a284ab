"""Keypoints, person mask and parsing of a photo of your own: the one estimator that the pipeline (when
``source_pose`` / ``source_parsing`` are not given), ``python -m spt.annotate`` and the Space use.

Pose front-ends (``pose=``):

* ``"mediapipe"``: MediaPipe's BlazePose (the legacy ``solutions.pose`` of mediapipe 0.10.21, whose model
  ships inside the wheel, so it runs offline). Its 33 landmarks become COCO-18 (``BLAZEPOSE_TO_COCO18``;
  the neck is the middle of the shoulders); a joint seen with visibility below ``min_visibility``, or lying
  outside the photo, is missing (-1, -1). Its segmentation output is the person mask.
* ``"detector"``: the pose detector Φ of an SPT pipeline. The embedded one was trained on SyntheticPeople
  only and rarely finds the joints of a real photo: it is the fallback where mediapipe is not installed.
  It gives no person mask; the pose mask M_P stands in.
* ``"auto"`` (default): mediapipe when it imports, else the detector.

Parsing front-ends (``parsing=``):

* ``"rough"``: offline, inside the person mask only: every person pixel gets the SPT-10 label of its nearest
  body part (head -> face, or hair above the eyes and away from the face; torso and upper arms -> upper
  clothes; forearms -> arms; thighs -> pants; shins -> legs). It knows nothing of the real clothes.
* ``"hub:<repo id>"``: a Hub human parser (``transformers`` semantic segmentation, LIP-20 or ATR-18 labels).
* ``"none"``: no parsing.

A person is usable when its *essential joints* are found (``ESSENTIAL_JOINTS``: the neck, one shoulder and
one hip, which place the torso that every part transform hangs from); ``PersonEstimate.require_person``
raises ``PersonNotFound`` naming what was found and what is missing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from .parsing import (
    FACE,
    HAIR,
    LEFT_ARM,
    LEFT_LEG,
    PANTS,
    RIGHT_ARM,
    RIGHT_LEG,
    UPPER_CLOTHES,
    merge_to_spt10,
)
from .pose import KEYPOINT_NAMES, MISSING, NUM_KEYPOINTS, part_masks, pose_mask
from .processor import SPTImageProcessor, resize_labels, uint8_to_tensor

# BlazePose landmark index per COCO-18 joint; None: the neck, the middle of the two shoulders.
BLAZEPOSE_TO_COCO18 = (0, None, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7)
# Alternatives, any one of which must be found: the neck, a shoulder, a hip.
ESSENTIAL_JOINTS = (("neck",), ("right_shoulder", "left_shoulder"), ("right_hip", "left_hip"))
# SPT-10 label of each rigid part (spt.pose.PART_NAMES order); the head's is split into face and hair.
PART_LABELS = (
    UPPER_CLOTHES,
    FACE,
    UPPER_CLOTHES,
    RIGHT_ARM,
    UPPER_CLOTHES,
    LEFT_ARM,
    PANTS,
    RIGHT_LEG,
    PANTS,
    LEFT_LEG,
)
POSE_FRONT_ENDS = ("auto", "mediapipe", "detector")


class FrontEndUnavailable(RuntimeError):
    """A front-end cannot load here; the message says which and what to pass instead."""


class PersonNotFound(ValueError):
    """The essential joints of a person were not found; ``estimate`` holds what was."""

    def __init__(self, message: str, estimate: "PersonEstimate"):
        super().__init__(message)
        self.estimate = estimate


def found_joints(keypoints: np.ndarray) -> list[str]:
    """Names of the joints given in (18, 2) keypoints."""
    return [KEYPOINT_NAMES[i] for i in np.flatnonzero(np.asarray(keypoints)[:, 0] >= 0)]


def missing_essentials(keypoints: np.ndarray) -> list[str]:
    """The ``ESSENTIAL_JOINTS`` groups none of whose joints is given, e.g. ``["right_hip or left_hip"]``."""
    found = set(found_joints(keypoints))
    return [" or ".join(group) for group in ESSENTIAL_JOINTS if not found.intersection(group)]


@dataclass
class PersonEstimate:
    """What was estimated of one photo, in its pixels.

    keypoints (18, 2) with (-1, -1) missing; mask (H, W) bool, where the person is (None when no front-end
    gave one); parsing (H, W) SPT-10 labels or None; ``pose_front_end`` / ``parsing_front_end`` say which
    front-ends ran.
    """

    keypoints: np.ndarray
    mask: np.ndarray | None
    parsing: np.ndarray | None
    pose_front_end: str
    parsing_front_end: str | None

    @property
    def found(self) -> list[str]:
        return found_joints(self.keypoints)

    @property
    def missing_essentials(self) -> list[str]:
        return missing_essentials(self.keypoints)

    def summary(self) -> str:
        """One line: the joints found, by which front-end, and the essential ones missing."""
        text = f"{len(self.found)}/{NUM_KEYPOINTS} joints found by {self.pose_front_end}"
        missing = self.missing_essentials
        return text + (f"; missing: {', '.join(missing)}" if missing else "")

    def require_person(self, what: str = "the photo") -> "PersonEstimate":
        """Self, or ``PersonNotFound`` when an essential joint is missing."""
        missing = self.missing_essentials
        if missing:
            found = ", ".join(self.found) or "none"
            raise PersonNotFound(
                f"no usable person in {what}: {self.summary()} (found: {found}); a person needs "
                f"the neck, a shoulder and a hip. Give the keypoints yourself (source_pose, or the "
                "Space's joint editor).",
                self,
            )
        return self


# --------------------------------------------------------------------------------------------------
# Pose front-ends
# --------------------------------------------------------------------------------------------------


def mediapipe_available() -> str | None:
    """None when mediapipe's legacy pose solution imports here, else why not."""
    try:
        import mediapipe as mp

        mp.solutions.pose  # noqa: B018 (the legacy API is gone from mediapipe > 0.10.21)
    except Exception as err:  # ImportError, or a missing system library behind cv2
        return f"mediapipe is unavailable ({type(err).__name__}: {err}); pip install 'mediapipe==0.10.21'"
    return None


def blazepose_to_coco18(landmarks: np.ndarray, size: tuple[int, int], min_visibility: float = 0.5) -> np.ndarray:
    """(33, 3) BlazePose landmarks (x, y normalised to the image, visibility) -> (18, 2) COCO-18 pixels.

    A joint below ``min_visibility`` or outside the (height, width) frame is missing; the neck needs both
    shoulders."""
    height, width = size
    xy = landmarks[:, :2] * (width, height)
    seen = (landmarks[:, 2] >= min_visibility) & (xy >= 0).all(1) & (xy[:, 0] <= width - 1) & (xy[:, 1] <= height - 1)
    out = np.full((NUM_KEYPOINTS, 2), MISSING, np.float32)
    for joint, index in enumerate(BLAZEPOSE_TO_COCO18):
        if index is None:
            if seen[11] and seen[12]:
                out[joint] = (xy[11] + xy[12]) / 2
        elif seen[index]:
            out[joint] = xy[index]
    return out


class MediaPipePose:
    """BlazePose on the CPU: keypoints and a person mask per photo (see the module docstring)."""

    name = "mediapipe"
    gives_mask = True

    def __init__(self, min_visibility: float = 0.5, min_detection_confidence: float = 0.5):
        reason = mediapipe_available()
        if reason:
            raise FrontEndUnavailable(reason)
        import mediapipe as mp

        self._pose = mp.solutions.pose.Pose(
            static_image_mode=True,
            model_complexity=1,
            enable_segmentation=True,
            min_detection_confidence=min_detection_confidence,
        )
        self._lock = threading.Lock()  # one graph, not re-entrant; the Space calls from worker threads
        self.min_visibility = min_visibility

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        size = image.shape[:2]
        with self._lock:
            result = self._pose.process(np.ascontiguousarray(image))
        if result.pose_landmarks is None:
            return np.full((NUM_KEYPOINTS, 2), MISSING, np.float32), None
        landmarks = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark], np.float32)
        mask = result.segmentation_mask > 0.5 if result.segmentation_mask is not None else None
        return blazepose_to_coco18(landmarks, size, self.min_visibility), mask


class DetectorPose:
    """Keypoints from an SPT pose detector Φ (``spt.models.PoseDetector``), run at ``size`` (H, W), the size it
    was trained at (its pipeline's ``image_size``), and mapped back to the photo's pixels. No person mask.
    Whoever builds it loads the detector (``detector_of(pipeline)``), so this module never loads pipelines."""

    name = "detector"
    gives_mask = False

    def __init__(self, detector, size: tuple[int, int], device: str | torch.device | None = None):
        self.size = (int(size[0]), int(size[1]))
        self.detector = detector if device is None else detector.to(device)

    @torch.no_grad()
    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        framing = SPTImageProcessor(self.size, resize_mode="stretch").framing(image.shape[:2])  # every joint seen
        batch = uint8_to_tensor(framing.image(image))[None]
        detector = self.detector.eval()  # wherever the pipeline has moved it
        found = detector.detect(batch.to(detector.device, detector.dtype)).float().cpu().numpy()[0]
        return framing.back(found), None


def detector_of(pipeline, device: str | torch.device | None = None) -> DetectorPose | None:
    """The detector front-end of a loaded SPT pipeline (its pose detector at its image size), or None when it
    has no pose detector."""
    if getattr(pipeline, "pose_detector", None) is None:
        return None
    return DetectorPose(pipeline.pose_detector, pipeline.image_size, device)


# --------------------------------------------------------------------------------------------------
# Parsing front-ends
# --------------------------------------------------------------------------------------------------


def rough_parsing(keypoints: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """SPT-10 labels inside ``mask`` (H, W): each person pixel takes the label of its nearest body part.

    The parts are the 10 rigid parts of ``spt.pose`` drawn from the keypoints; a missing part claims no
    pixel. Head pixels are face within the face's radius of the eyes' and nose's centre and below the brows,
    hair elsewhere. Outside the mask everything is background; with no part at all, so is the person.
    """
    size = mask.shape
    labels = np.zeros(size, np.uint8)
    parts = part_masks(np.asarray(keypoints, np.float32), size) > 0.5
    present = [j for j in range(len(parts)) if parts[j].any()]
    if not present or not mask.any():
        return labels
    # Distances are computed at most 256 px high: nearest-part borders need no more.
    scale = min(1.0, 256 / size[0])
    small = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
    distances = np.stack(
        [_resize_float(ndimage.distance_transform_edt(~(resize_labels(parts[j], small) > 0)), size) for j in present]
    )
    nearest = np.asarray(present)[distances.argmin(0)]
    labels[mask] = np.asarray(PART_LABELS, np.uint8)[nearest[mask]]
    head = mask & (nearest == 1)
    face_joints = keypoints[[0, 14, 15]]
    face_joints = face_joints[face_joints[:, 0] >= 0]
    if head.any() and len(face_joints):
        cx, cy = face_joints.mean(0)
        ears = keypoints[[16, 17]][keypoints[[16, 17], 0] >= 0]
        spread = np.ptp(np.concatenate([face_joints, ears]), 0).max() if len(face_joints) + len(ears) > 1 else 0
        neck = keypoints[1]
        radius = max(spread * 0.75, 0.35 * np.hypot(*(neck - (cx, cy))) if neck[0] >= 0 else 0, 2.0)
        ys, xs = np.mgrid[: size[0], : size[1]]
        eyes = keypoints[[14, 15]][keypoints[[14, 15], 0] >= 0]
        brow = (eyes[:, 1].min() if len(eyes) else cy) - 0.35 * radius
        face = (np.hypot(xs - cx, ys - cy) <= radius) & (ys >= brow)
        # Below the chin the head part only claims the body where the torso is missing (no hips found).
        chin = min(neck[1], cy + radius) if neck[0] >= 0 else cy + radius
        labels[head & ~face & (ys < chin)] = HAIR
        labels[head & ~face & (ys >= chin)] = UPPER_CLOTHES
    return labels


def _resize_float(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if values.shape == size:
        return values
    return np.asarray(Image.fromarray(values.astype(np.float32)).resize((size[1], size[0]), Image.BILINEAR))


class HubParsing:
    """A Hub semantic-segmentation human parser through ``transformers``' normal loader."""

    def __init__(self, repo_id: str, scheme: str = "lip20", device: str = "cpu"):
        self.repo_id, self.name = repo_id, f"hub:{repo_id}"
        try:
            from transformers import AutoImageProcessor, AutoModelForSemanticSegmentation
        except ImportError:
            raise FrontEndUnavailable(
                "the hub parsing front-end needs `pip install transformers`; or pass --parsing rough (offline)"
            ) from None
        try:
            self.processor = AutoImageProcessor.from_pretrained(repo_id)
            self.model = AutoModelForSemanticSegmentation.from_pretrained(repo_id).to(device).eval()
        except Exception as err:
            raise FrontEndUnavailable(
                f"could not load the human parser {repo_id!r} from the Hub ({type(err).__name__}); "
                "pass --parsing rough (offline) or upload parsing maps yourself"
            ) from None
        self.scheme, self.device = scheme, device

    @torch.no_grad()
    def __call__(self, image: np.ndarray) -> np.ndarray:
        inputs = self.processor(images=[image], return_tensors="pt").to(self.device)
        logits = self.model(**inputs).logits
        up = torch.nn.functional.interpolate(logits, size=image.shape[:2], mode="bilinear")
        return merge_to_spt10(up.argmax(1)[0].cpu().numpy(), self.scheme)


# --------------------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------------------


class PersonEstimator:
    """Pose, person mask and parsing of photos: ``PersonEstimator(pose="auto", parsing="rough", detector=...)``.

    ``detector`` (a ``DetectorPose``, e.g. ``detector_of(pipeline)``) serves the ``detector`` pose front-end;
    with ``pose="auto"`` it is used only when mediapipe is unavailable (``fallback_reason`` then says why).
    Call it on an (H, W, 3) uint8 array or a PIL image; it returns a ``PersonEstimate`` in that image's pixels.
    """

    def __init__(
        self,
        pose: str = "auto",
        parsing: str = "rough",
        *,
        detector: DetectorPose | None = None,
        parsing_scheme: str = "lip20",
        device: str | None = None,
    ):
        if pose not in POSE_FRONT_ENDS:
            raise ValueError(f"unknown pose front-end {pose!r}: use one of {POSE_FRONT_ENDS}")
        self.fallback_reason = None
        if pose in ("auto", "mediapipe"):
            self.fallback_reason = mediapipe_available()
            if self.fallback_reason and pose == "mediapipe":
                raise FrontEndUnavailable(self.fallback_reason)
        if pose == "detector" or self.fallback_reason:
            if detector is None:
                raise FrontEndUnavailable(
                    (self.fallback_reason + "; " if self.fallback_reason else "")
                    + "the detector front-end needs an SPT pipeline with a pose detector"
                )
            self.pose = detector
        else:
            self.pose = MediaPipePose()
        if parsing == "rough":
            self.parser = "rough"
        elif parsing.startswith("hub:"):
            self.parser = HubParsing(parsing.removeprefix("hub:"), parsing_scheme, device or "cpu")
        elif parsing == "none":
            self.parser = None
        else:
            raise ValueError(f"unknown parsing front-end {parsing!r}: use 'rough', 'hub:<repo id>' or 'none'")

    @property
    def pose_front_end(self) -> str:
        return self.pose.name

    @property
    def parsing_front_end(self) -> str | None:
        return self.parser if isinstance(self.parser, str) or self.parser is None else self.parser.name

    def __call__(self, image, keypoints: np.ndarray | None = None) -> PersonEstimate:
        """Estimate one photo. Given ``keypoints`` (the user's), only the mask and parsing are estimated."""
        image = np.asarray(image.convert("RGB")) if isinstance(image, Image.Image) else np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
        if keypoints is None:
            (found, mask), pose_name = self.pose(image), self.pose.name
        else:  # only the mask is wanted: a front-end that gives none is not run
            found, pose_name = np.asarray(keypoints, np.float32), "given"
            mask = self.pose(image)[1] if self.pose.gives_mask else None
        if mask is None or not mask.any():
            mask = pose_mask(found, image.shape[:2])[0] > 0.5 if (found[:, 0] >= 0).any() else None
        parsing = None
        if self.parser == "rough":
            parsing = rough_parsing(found, mask) if mask is not None else np.zeros(image.shape[:2], np.uint8)
        elif self.parser is not None:
            parsing = self.parser(image)
        return PersonEstimate(found, mask, parsing, pose_name, self.parsing_front_end)
