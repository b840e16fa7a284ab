"""The 3D world of SyntheticPeople (Anny bodies, clothes, light, real-photo textures and backgrounds)."""

import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from spt.data.synthetic import MixedPeople, SyntheticPeople, SyntheticPeople3D, make_dataset, make_people
from spt.data.synthetic.identity import Texture
from spt.data.synthetic.photos import load_photo
from spt.parsing import LEFT_ARM, RIGHT_ARM, UPPER_CLOTHES
from spt.pose import is_present, validate_keypoints

SIZE = (128, 64)


@pytest.fixture(scope="module")
def world():
    return SyntheticPeople3D(SIZE, seed=0, split="test")


@pytest.fixture(scope="module")
def samples(world):
    return [world.render(i, 3 * i + k) for i in range(8) for k in range(3)]


def test_deterministic_per_seed(world):
    a, b = world.render(2, 5), SyntheticPeople3D(SIZE, seed=0, split="test").render(2, 5)
    for key in ("image", "keypoints", "parsing", "parsing_lip"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["image"], SyntheticPeople3D(SIZE, seed=1, split="test").render(2, 5)["image"])


def test_outputs_match_the_2d_world(samples):
    flat = SyntheticPeople(SIZE, seed=0, split="test").render(0, 0)
    for s in samples[:3]:
        for key in ("image", "keypoints", "parsing", "parsing_lip"):
            assert s[key].shape == flat[key].shape and s[key].dtype == flat[key].dtype
        validate_keypoints(s["keypoints"], SIZE)
        assert s["parsing"].max() < 10 and s["parsing_lip"].max() < 20
    # The pose stream is the 2D world's: pose i has the same yaw in both.
    assert samples[0]["yaw"] == flat["yaw"]


def test_people_fill_a_sensible_part_of_the_frame(samples):
    shares = [np.mean(s["parsing"] > 0) for s in samples]
    assert min(shares) > 0.04 and max(shares) < 0.8
    assert sum(int(is_present(s["keypoints"]).sum()) for s in samples) > 12 * len(samples)


def test_every_visible_joint_lies_inside_the_person(samples):
    for s in samples:
        person = ndimage.binary_dilation(s["parsing"] > 0, iterations=1)
        for x, y in s["keypoints"][is_present(s["keypoints"])]:
            assert person[int(y), int(x)], f"joint at ({x:.1f}, {y:.1f}) outside the person mask"


def test_left_and_right_in_front_and_back_views(world):
    person = world.identity(3)
    person = dataclasses.replace(person, upper_kind="shirt", sleeves=0.0, fill=0.8)  # bare arms, full body
    pose = world.pose(7)
    for yaw, left_on_image_right in ((0.0, True), (180.0, False)):
        view = dataclasses.replace(
            pose,
            yaw=yaw,
            shoulder_abduct=np.array([40.0, 40.0]),
            shoulder_flex=np.zeros(2),
            elbow=np.zeros(2),
            head_yaw=0.0,
            offset=np.zeros(2),
        )
        s = world.render(person, view)
        kp = s["keypoints"]
        assert (kp[5, 0] > kp[2, 0]) == left_on_image_right  # left shoulder vs right shoulder
        left_x = np.nonzero(s["parsing"] == LEFT_ARM)[1].mean()
        right_x = np.nonzero(s["parsing"] == RIGHT_ARM)[1].mean()
        assert (left_x > right_x) == left_on_image_right
        face = kp[[0, 14, 15]]
        assert is_present(face).all() if yaw == 0 else not is_present(face).any()


def test_a_pair_is_one_person_in_one_shoot(world):
    person = world.identity(5)
    a, b = world.render(person, 10), world.render(person, 11)
    assert a["identity_id"] == b["identity_id"] and a["pose_id"] != b["pose_id"]
    plate = world.background(person).astype(np.float32)
    for sample in (a, b):
        scene = ~ndimage.binary_dilation(sample["parsing"] > 0, iterations=2)
        assert np.abs(sample["image"].astype(np.float32) - plate)[scene].mean() < 12  # noise and JPEG only
    # The camera stays: where neither person is, the two images show the same background.
    neither = ~ndimage.binary_dilation((a["parsing"] > 0) | (b["parsing"] > 0), iterations=2)
    assert np.abs(a["image"].astype(np.float32) - b["image"])[neither].mean() < 12
    assert not np.array_equal(a["parsing"] > 0, b["parsing"] > 0)  # while the person moved

    def upper_colour(s):  # the same clothes: far closer across the poses than across people
        return s["image"][s["parsing"] == UPPER_CLOTHES].mean(0)

    other = world.render(world.identity(6), 10)
    same = np.abs(upper_colour(a) - upper_colour(b)).mean()
    assert same < 25 and same < np.abs(upper_colour(a) - upper_colour(other)).mean() + 10


def test_a_known_texture_lands_on_its_region(world):
    green = Texture(
        "solid", np.array([0.1, 0.8, 0.2], np.float32), np.zeros(3, np.float32), 0.05, 0, 0, np.zeros((3, 3))
    )
    person = dataclasses.replace(
        world.identity(1),
        upper=green,
        upper_kind="shirt",
        ambient=1.0,
        key=0.0,
        grey=False,
        noise=0.0,
        jpeg=95,
        background="plain",
        scene=np.array([0.5, 0.5, 0.5], np.float32),
    )
    s = world.render(person, 4)
    inner = ndimage.binary_erosion(s["parsing"] == UPPER_CLOTHES, iterations=2)
    assert inner.sum() > 20
    np.testing.assert_allclose(s["image"][inner].mean(0), np.array([0.1, 0.8, 0.2]) * 0.95 * 255, atol=12)
    greenish = (s["image"][..., 1].astype(int) - s["image"][..., 0] > 80) & (
        s["image"][..., 1].astype(int) - s["image"][..., 2] > 80
    )
    outside = ndimage.binary_dilation(s["parsing"] == UPPER_CLOTHES, iterations=2)
    assert not (greenish & ~outside).any()


def test_real_people_photos_never_texture_the_world():
    with pytest.raises(ValueError, match="person"):
        load_photo("astronaut.png")


def test_worlds_by_name_and_the_mixed_world():
    assert isinstance(make_people("3d", SIZE), SyntheticPeople3D)
    assert isinstance(make_people("2d", SIZE), SyntheticPeople)
    mixed = make_people("mixed", SIZE, seed=0, split="test")
    assert isinstance(mixed, MixedPeople)
    np.testing.assert_array_equal(mixed.render(0, 0)["image"], SyntheticPeople(SIZE, 0, "test").render(0, 0)["image"])
    np.testing.assert_array_equal(mixed.render(1, 0)["image"], SyntheticPeople3D(SIZE, 0, "test").render(1, 0)["image"])
    with pytest.raises(ValueError, match="world"):
        make_people("4d", SIZE)


def test_dataset_of_the_3d_world():
    ds = make_dataset(2, 2, size=SIZE, seed=0, split="train", world="3d")
    assert len(ds) == 4 and ds["identity_id"] == [0, 0, 1, 1]
    assert np.asarray(ds[0]["image"]).shape == SIZE + (3,)
    assert np.array_equal(np.asarray(ds[0]["image"]), SyntheticPeople3D(SIZE, 0, "train").render(0, 0)["image"])
