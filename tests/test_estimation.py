"""spt.estimation on real photos that ship in scikit-image (offline), and its fallbacks."""

import numpy as np
import pytest
from skimage import data

from spt import estimation
from spt.data.synthetic import SyntheticPeople
from spt.estimation import (
    FrontEndUnavailable,
    PersonEstimator,
    PersonNotFound,
    blazepose_to_coco18,
    detector_of,
    rough_parsing,
)
from spt.parsing import BACKGROUND, FACE, HAIR, UPPER_CLOTHES
from spt.pipeline import SPTPipeline
from spt.pose import KEYPOINT_NAMES

J = {name: i for i, name in enumerate(KEYPOINT_NAMES)}


@pytest.fixture(scope="module")
def estimator():
    return PersonEstimator()  # mediapipe is a requirement wherever its wheels exist (requirements.txt)


def assert_in_box(keypoints, joints, box):
    x0, y0, x1, y1 = box
    for name in joints:
        x, y = keypoints[J[name]]
        assert x0 <= x <= x1 and y0 <= y <= y1, f"{name} at ({x:.0f}, {y:.0f}) is outside {box}"


def test_astronaut_joints_land_on_the_person_and_a_missing_hip_is_refused(estimator):
    # Eileen Collins, upper body, 512x512: boxes drawn by hand around her face, shoulders and right elbow.
    estimate = estimator(data.astronaut())
    assert estimate.pose_front_end == "mediapipe"
    kp = estimate.keypoints
    assert_in_box(kp, ["nose", "right_eye", "left_eye", "right_ear", "left_ear"], (170, 80, 290, 160))
    assert_in_box(kp, ["right_shoulder"], (70, 200, 160, 290))  # her right: the image's left
    assert_in_box(kp, ["left_shoulder"], (260, 200, 350, 290))
    assert_in_box(kp, ["neck"], (170, 200, 260, 290))
    assert_in_box(kp, ["right_elbow"], (30, 360, 120, 460))
    assert "right_hip or left_hip" in estimate.missing_essentials  # the hips are below the frame
    with pytest.raises(PersonNotFound, match="missing: right_hip or left_hip") as err:
        estimate.require_person("astronaut")
    assert err.value.estimate is estimate
    # The mask covers her (the suit's centre) and not the sky-blue wall at the top right.
    assert estimate.mask[350, 200] and not estimate.mask[30, 480]


def test_cameraman_has_a_usable_person_with_a_parsing_inside_him(estimator):
    estimate = estimator(np.stack([data.camera()] * 3, -1))
    kp = estimate.keypoints
    assert len(estimate.found) >= 12 and not estimate.missing_essentials
    assert_in_box(kp, ["nose", "right_eye", "left_eye"], (200, 120, 280, 190))
    assert_in_box(kp, ["right_shoulder"], (60, 140, 150, 230))
    assert_in_box(kp, ["right_hip", "left_hip"], (20, 290, 150, 380))
    parsing = estimate.parsing
    assert parsing.shape == (512, 512) and parsing.max() < 10
    assert not parsing[~estimate.mask].any()  # nothing outside the person
    assert (parsing[estimate.mask] != BACKGROUND).all()  # every person pixel has a body label
    x, y = kp[J["nose"]].round().astype(int)
    assert parsing[y, x] == FACE
    assert parsing[300, 60] == UPPER_CLOTHES  # his coat, between shoulder and hip


def test_a_photo_without_a_person_says_so(estimator):
    estimate = estimator(data.coffee())
    assert estimate.found == [] and estimate.mask is None
    with pytest.raises(PersonNotFound, match="no usable person in coffee.png: 0/18 joints found by mediapipe"):
        estimate.require_person("coffee.png")


def test_mediapipe_finds_a_synthetic_persons_true_joints(estimator):
    sample = SyntheticPeople((256, 128), seed=0, split="test").render(6, 36)
    estimate = estimator(sample["image"])
    both = (estimate.keypoints[:, 0] >= 0) & (sample["keypoints"][:, 0] >= 0)
    assert both.sum() >= 16
    error = np.linalg.norm(estimate.keypoints[both] - sample["keypoints"][both], axis=1)
    assert error.max() < 0.1 * 256, error


def test_blazepose_mapping_drops_unseen_and_off_frame_joints():
    landmarks = np.zeros((33, 3), np.float32)
    landmarks[:, :2] = 0.5
    landmarks[:, 2] = 0.9
    landmarks[11, :2] = (0.6, 0.3)  # left shoulder
    landmarks[12, :2] = (0.4, 0.3)  # right shoulder
    landmarks[27, 1] = 1.2  # left ankle below the frame
    landmarks[28, 2] = 0.2  # right ankle barely visible
    kp = blazepose_to_coco18(landmarks, (200, 100))
    np.testing.assert_allclose(kp[J["neck"]], (50, 60))
    np.testing.assert_allclose(kp[J["right_shoulder"]], (40, 60))
    np.testing.assert_allclose(kp[J["left_shoulder"]], (60, 60))
    assert (kp[J["left_ankle"]] == -1).all() and (kp[J["right_ankle"]] == -1).all()
    landmarks[12, 2] = 0.1
    assert (blazepose_to_coco18(landmarks, (200, 100))[J["neck"]] == -1).all()  # the neck needs both shoulders


def test_rough_parsing_labels_the_person_only():
    sample = SyntheticPeople((128, 64), seed=0, split="test").render(0, 0)
    mask = sample["parsing"] > 0
    parsing = rough_parsing(sample["keypoints"], mask)
    assert not parsing[~mask].any() and (parsing[mask] > 0).all()
    labels = set(np.unique(parsing))
    assert {FACE, UPPER_CLOTHES} <= labels and labels <= set(range(10))
    assert HAIR in labels or FACE in labels
    assert not rough_parsing(np.full((18, 2), -1, np.float32), mask).any()  # no part: no label


def test_without_mediapipe_the_pipelines_detector_runs_and_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(estimation, "mediapipe_available", lambda: "mediapipe is unavailable (test)")
    pipe = SPTPipeline.from_preset("tiny", image_size=(32, 32))
    fallback = PersonEstimator("auto", detector=detector_of(pipe))
    assert fallback.pose_front_end == "detector" and "unavailable (test)" in fallback.fallback_reason
    estimate = fallback(np.zeros((64, 48, 3), np.uint8))
    assert estimate.keypoints.shape == (18, 2) and estimate.pose_front_end == "detector"
    with pytest.raises(FrontEndUnavailable, match="unavailable"):
        PersonEstimator("mediapipe")
    with pytest.raises(FrontEndUnavailable, match="needs an SPT pipeline"):
        PersonEstimator("auto")
    with pytest.raises(ValueError, match="unknown pose front-end"):
        PersonEstimator("openpose", detector=detector_of(pipe))
    with pytest.raises(ValueError, match="expected an"):
        fallback(np.zeros((8, 8), np.uint8))
