import numpy as np
import pytest
from scipy import ndimage

from spt.data.synthetic import SyntheticPeople, make_dataset, make_pairs
from spt.parsing import BACKGROUND, LEFT_LEG, PANTS, SKIRT, UPPER_CLOTHES
from spt.pose import is_present, validate_keypoints


@pytest.fixture(scope="module")
def people():
    return SyntheticPeople((128, 128), seed=3)


@pytest.fixture(scope="module")
def samples(people):
    return [people.render(i, i * 3 + k) for i in range(24) for k in range(3)]


def test_deterministic_per_seed(people):
    a, b = people.render(5, 17), SyntheticPeople((128, 128), seed=3).render(5, 17)
    for key in ("image", "keypoints", "parsing", "parsing_lip"):
        np.testing.assert_array_equal(a[key], b[key])
    c = SyntheticPeople((128, 128), seed=4).render(5, 17)
    assert not np.array_equal(a["image"], c["image"])


def test_sample_contents(samples):
    s = samples[0]
    assert s["image"].shape == (128, 128, 3) and s["image"].dtype == np.uint8
    assert s["parsing"].shape == (128, 128) and s["parsing"].max() < 10
    assert s["parsing_lip"].max() < 20
    validate_keypoints(s["keypoints"], (128, 128))


def test_other_sizes():
    for size in ((256, 176), (128, 64)):
        s = SyntheticPeople(size).render(1, 1)
        assert s["image"].shape == size + (3,)
        validate_keypoints(s["keypoints"], size)


def test_keypoints_lie_on_the_body(samples):
    checked = 0
    for s in samples:
        kp, lab = s["keypoints"], s["parsing"]
        # a joint on the outline may round onto the background: allow one pixel
        body = ndimage.binary_dilation(lab != BACKGROUND, iterations=1)
        for x, y in kp[is_present(kp)]:
            assert body[int(round(y)), int(round(x))], (s["identity_id"], s["pose_id"], x, y)
            checked += 1
    assert checked > 18 * len(samples) * 0.8


def test_parsing_and_image_agree(people, samples):
    for s in samples[:12]:
        bg = people.background(s["identity_id"])
        # away from the anti-aliased outline, background pixels are exactly the background
        far = ndimage.binary_erosion(s["parsing"] == BACKGROUND, iterations=2)
        np.testing.assert_array_equal(s["image"][far], bg[far])
        person = s["parsing"] != BACKGROUND
        assert np.abs(s["image"][person].astype(int) - bg[person]).sum(-1).mean() > 10


def test_views_and_missing_face_joints(people):
    back = [people.render(0, p) for p in range(60) if abs(((people.pose(p).yaw + 180) % 360) - 180) > 165]
    front = [people.render(0, p) for p in range(60) if abs(people.pose(p).yaw) < 10]
    assert back and front
    for s in back:
        assert not is_present(s["keypoints"])[[0, 14, 15]].any()  # no nose or eyes seen from behind
    for s in front:
        assert is_present(s["keypoints"])[[0, 14, 15]].all()


def _mean_color(sample, label):
    mask = sample["parsing"] == label
    return sample["image"][mask].astype(float).mean(0) if mask.sum() > 30 else None


def test_identity_keeps_its_clothes_across_poses(people):
    """The upper clothes in pose B are nearest (in mean colour) to the same person's in pose A."""
    a = [people.render(i, 1000 + i) for i in range(30)]
    b = [people.render(i, 2000 + i) for i in range(30)]
    hits = total = 0
    for i in range(30):
        ca = _mean_color(a[i], UPPER_CLOTHES)
        if ca is None or _mean_color(b[i], UPPER_CLOTHES) is None:
            continue
        dists = [np.abs(ca - c).sum() if (c := _mean_color(s, UPPER_CLOTHES)) is not None else np.inf for s in b]
        hits += int(np.argmin(dists) == i)
        total += 1
    assert total >= 20 and hits / total >= 0.8


def test_variety(samples):
    labels = set()
    for s in samples:
        labels |= set(np.unique(s["parsing"]).tolist())
    assert {UPPER_CLOTHES, PANTS, SKIRT, LEFT_LEG} <= labels
    yaws = [s["yaw"] for s in samples]
    assert max(yaws) - min(yaws) > 150


def test_make_dataset_and_pairs(tmp_path):
    ds = make_dataset(3, 2, size=(64, 64), seed=1)
    assert len(ds) == 6
    assert set(ds.column_names) >= {"image", "parsing", "parsing_lip", "keypoints", "identity_id", "pose_id"}
    row = ds[3]
    assert row["image"].size == (64, 64) and row["image"].mode == "RGB"
    assert np.asarray(row["keypoints"]).shape == (18, 2)
    direct = SyntheticPeople((64, 64), seed=1).render(1, 3)
    np.testing.assert_array_equal(np.asarray(row["parsing"]), direct["parsing"])
    np.testing.assert_array_equal(np.asarray(row["image"]), direct["image"])
    ds.save_to_disk(tmp_path / "ds")
    from datasets import load_from_disk

    assert load_from_disk(str(tmp_path / "ds"))[3]["pose_id"] == 3
    pairs = make_pairs(ds)
    assert len(pairs) == 6
    for src, tgt in pairs:
        assert ds[src]["identity_id"] == ds[tgt]["identity_id"] and src != tgt
    assert make_pairs(ds, 4, seed=0) == make_pairs(ds, 4, seed=0)


def test_benchmark_pair_is_one_person_in_two_poses():
    people = SyntheticPeople((64, 32), seed=0, split="test")
    source, target = people.pair(3)
    assert source["identity_id"] == target["identity_id"] == 3
    assert (source["pose_id"], target["pose_id"]) == (6, 7)
    np.testing.assert_array_equal(target["image"], people.render(3, 7)["image"])


def test_splits_do_not_share_people():
    train, test = SyntheticPeople(split="train"), SyntheticPeople(split="test")
    assert not np.array_equal(train.render(0, 0)["image"], test.render(0, 0)["image"])


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        SyntheticPeople(split="dev")
    with pytest.raises(ValueError, match="size"):
        SyntheticPeople((8, 8))
    with pytest.raises(ValueError, match="at least one"):
        make_dataset(0, 2)
    with pytest.raises(ValueError, match="two rows"):
        make_pairs([0, 1, 2])


def test_cli_writes_dataset_grid_and_examples(tmp_path):
    from datasets import load_from_disk
    from PIL import Image

    from spt.data.synthetic import main
    from spt.parsing import load_parsing
    from spt.pose import load_keypoints_json

    main(
        [
            "--out",
            str(tmp_path / "ds"),
            "--identities",
            "2",
            "--poses",
            "2",
            "--size",
            "64",
            "48",
            "--split",
            "test",
            "--grid",
            str(tmp_path / "grid.png"),
            "--examples",
            str(tmp_path / "ex"),
        ]
    )
    ds = load_from_disk(str(tmp_path / "ds"))
    assert len(ds) == 4 and ds[0]["image"].size == (48, 64)
    assert Image.open(tmp_path / "grid.png").size == (4 * 3 * 48 + 3 * 4, 2 * 64)
    name = "synthetic_test_id0001_pose0003"
    truth = SyntheticPeople((64, 48), split="test").render(1, 3)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "ex" / f"{name}.png")), truth["image"])
    np.testing.assert_array_equal(load_keypoints_json(tmp_path / "ex" / f"{name}.json"), truth["keypoints"])
    np.testing.assert_array_equal(load_parsing(tmp_path / "ex" / f"{name}_parsing.png"), truth["parsing"])


def test_cli_needs_an_output():
    from spt.data.synthetic import main

    with pytest.raises(SystemExit):
        main([])


def test_walking_cycle_swings_the_legs_in_turn(people):
    from spt.data.synthetic import walking_cycle

    cycle = walking_cycle(8, yaw=90)
    ankles = np.array([people.render(0, pose)["keypoints"][[10, 13], 0] for pose in cycle])  # right, left x
    assert (ankles >= 0).all()
    gap = ankles[:, 0] - ankles[:, 1]
    assert gap.max() > 5 and gap.min() < -5  # each foot leads in turn
    assert np.allclose(walking_cycle(8)[0].hip_flex, -walking_cycle(8)[4].hip_flex[::-1], atol=1e-6)
    with pytest.raises(ValueError, match="at least 2 frames"):
        walking_cycle(1)
