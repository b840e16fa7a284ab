"""Clothes and hair with volume in the 3D world (spt.data.synthetic.clothes3d) and its camera effects."""

import dataclasses

import numpy as np
import pytest

from spt.data.synthetic import make_people
from spt.data.synthetic.identity import _rng
from spt.data.synthetic.world3d import SyntheticPeople3D, sample_person
from spt.parsing import HAIR, UPPER_CLOTHES

SIZE = (128, 64)
POSES = (0, 3, 7)
RED, BLUE = np.array([0.85, 0.1, 0.1], np.float32), np.array([0.1, 0.2, 0.8], np.float32)


@pytest.fixture(scope="module")
def world():
    return SyntheticPeople3D(SIZE, seed=0, split="test")


def clean(person, **outfit):
    """The person with a camera that adds nothing, a blue wall behind and a red coat, wearing ``outfit``'s
    changes (``dressed`` cleared: it is the outfit's cache)."""
    return dataclasses.replace(
        person,
        upper_kind="coat",
        lower_kind="long_pants",
        lower_length=1.0,
        upper=RED,
        background="plain",
        scene=BLUE,
        grey=False,
        noise=0.0,
        blur=0.0,
        jpeg=95,
        defocus=0.0,
        motion=(0.0, 0.0),
        resample=1.0,
        outfit=dataclasses.replace(person.outfit, **outfit),
        dressed=None,
    )


def test_a_loose_coat_is_upper_clothes_and_stays_the_persons_in_every_pose(world):
    person = world.identity(1)
    plain = dict(open_front=False, hood=False, scarf=False, hat=False)
    tight = clean(person, upper=0.0, hem=0.0, **plain)
    loose = clean(person, upper=0.03, hem=0.4, **plain)
    for pose in POSES:
        a, b = world.render(tight, pose), world.render(loose, pose)
        upper_a, upper_b = a["parsing"] == UPPER_CLOTHES, b["parsing"] == UPPER_CLOTHES
        assert upper_b.sum() > 1.3 * upper_a.sum(), pose  # wider and longer than the painted coat
        assert (upper_b & upper_a).sum() > 0.95 * upper_a.sum(), pose  # it covers what the painted one covered
        hips = b["keypoints"][[8, 11], 1].max()
        assert upper_b[int(hips) + 3 :].sum() > 20, pose  # the hem reaches below the hips
        # Every pixel the parsing calls coat shows the coat, never the wall behind (a pixel in from the edge).
        inner = (
            upper_b
            & np.roll(upper_b, 1, 0)
            & np.roll(upper_b, -1, 0)
            & np.roll(upper_b, 1, 1)
            & np.roll(upper_b, -1, 1)
        )
        pixels = b["image"][inner].astype(float)
        assert (pixels[:, 0] > pixels[:, 2]).mean() > 0.97, pose


def test_the_same_person_keeps_the_same_clothes_and_hair_volume_in_every_pose(world):
    first, again = world.identity(4), world.identity(4)
    for f in dataclasses.fields(first.outfit):
        assert np.array_equal(getattr(first.outfit, f.name), getattr(again.outfit, f.name)), f.name
    person = dataclasses.replace(first, hair_style="short")
    flat = clean(person, hair=0.0, hat=False, curly=False)
    full = clean(person, hair=0.035, hat=False, curly=False)
    ratios = []
    for pose in POSES:
        a, b = world.render(flat, pose), world.render(full, pose)
        assert (b["parsing"] == HAIR).sum() > (a["parsing"] == HAIR).sum(), pose
        ratios.append((b["parsing"] > 0).sum() / (a["parsing"] > 0).sum())
    assert min(ratios) > 1.0 and max(ratios) < 1.5 * min(ratios), ratios  # the same volume in every pose


def test_monochrome_noise_is_the_same_in_all_three_channels(world):
    person = dataclasses.replace(world.identity(2), grey=True, noise=0.03, jpeg=80)
    image = world.render(person, 0)["image"]
    assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2])
    colour = world.render(dataclasses.replace(person, grey=False), 0)["image"].astype(int)
    assert np.abs(colour[..., 0] - colour[..., 2]).mean() > 1  # the colour photo's noise differs per channel


@pytest.mark.parametrize("effect", [{"defocus": 1.5}, {"motion": (4.0, 0.3)}, {"resample": 0.4}])
def test_camera_effects_take_away_detail(world, effect):
    shot = next(world.identity(i) for i in range(20) if world.identity(i).background == "photo")
    person = dataclasses.replace(clean(shot), upper=shot.upper, scene=shot.scene, background="photo")
    sharp = world.render(person, 0)["image"].astype(float)
    soft = world.render(dataclasses.replace(person, **effect), 0)["image"].astype(float)
    detail = lambda im: np.abs(np.diff(im, axis=0)).mean() + np.abs(np.diff(im, axis=1)).mean()  # noqa: E731
    assert detail(soft) < 0.85 * detail(sharp)


def test_version_one_is_kept_and_version_two_draws_after_it():
    v1, v2 = make_people("3d-v1", SIZE, split="test"), make_people("3d", SIZE, split="test")
    assert (v1.world, v1.version, v2.world, v2.version) == ("3d-v1", 1, "3d", 2)
    a, b = v1.identity(5), v2.identity(5)
    assert a.outfit is None and b.outfit is not None
    assert (a.phenotype["gender"], a.phenotype["age"], a.skin.tolist()) == (
        b.phenotype["gender"],
        b.phenotype["age"],
        b.skin.tolist(),
    )
    with pytest.raises(ValueError, match="versions"):
        sample_person(_rng(0, "test", 21, 0), 0, version=3)


def test_outfits_spread_over_the_world():
    people = [sample_person(_rng(0, "train", 21, i), i) for i in range(300)]
    coats = [p for p in people if p.upper_kind == "coat"]
    assert len(coats) > 60 and {p.outfit.hem > 0.45 for p in coats} == {True, False}
    assert any(p.outfit.open_front for p in coats) and any(p.outfit.hood for p in coats)
    assert any(p.outfit.scarf for p in people) and any(p.outfit.bun for p in people)
    assert any(p.outfit.flare > 0.02 for p in people if p.lower_kind == "long_pants")
    weights = [p.phenotype["weight"] for p in people]
    assert min(weights) < 0.1 and max(weights) > 0.9  # Anny's whole range of build
