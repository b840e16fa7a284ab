import numpy as np
import pytest
import torch
from PIL import Image

from spt import parsing as S


@pytest.mark.parametrize("scheme", ["lip20", "atr18", "spt10"])
def test_merge_tables_cover_every_label(scheme):
    src = S.get_scheme(scheme)
    assert set(src.to_spt10) == set(src.labels)
    for target in src.to_spt10.values():
        targets = target if isinstance(target, tuple) else (target,)
        assert all(0 <= t < S.NUM_LABELS for t in targets)


def test_lip_merge_follows_the_documented_table():
    lip = {name: i for i, name in enumerate(S.LIP20_LABELS)}
    spt = {name: i for i, name in enumerate(S.SPT10_LABELS)}
    cases = {
        "hat": "hair",
        "sunglasses": "face",
        "coat": "upper_clothes",
        "scarf": "upper_clothes",
        "dress": "upper_clothes",
        "jumpsuits": "pants",
        "left_shoe": "left_leg",
        "right_shoe": "right_leg",
        "skirt": "skirt",
        "left_arm": "left_arm",
    }
    labels = np.array([[lip[k] for k in cases]])
    merged = S.merge_to_spt10(labels, "lip20")
    assert merged[0].tolist() == [spt[v] for v in cases.values()]


def test_glove_and_socks_join_the_nearest_side():
    lip = {name: i for i, name in enumerate(S.LIP20_LABELS)}
    m = np.zeros((10, 20), dtype=np.uint8)
    m[2:5, 0:4] = lip["right_arm"]
    m[2:5, 16:20] = lip["left_arm"]
    m[5, 1] = lip["glove"]  # under the right arm
    m[5, 18] = lip["glove"]  # under the left arm
    m[8, 2] = lip["socks"]  # no legs at all: the image side decides (image left = person's right)
    merged = S.merge_to_spt10(m, "lip20")
    assert merged[5, 1] == S.RIGHT_ARM and merged[5, 18] == S.LEFT_ARM
    assert merged[8, 2] == S.RIGHT_LEG


def test_atr_merge():
    atr = {name: i for i, name in enumerate(S.ATR18_LABELS)}
    labels = np.array([[atr["belt"], atr["bag"], atr["dress"], atr["left_shoe"]]])
    assert S.merge_to_spt10(labels, "atr18")[0].tolist() == [S.PANTS, S.BACKGROUND, S.UPPER_CLOTHES, S.LEFT_LEG]


def test_unknown_labels_raise():
    with pytest.raises(ValueError, match=r"unknown labels \[20\]"):
        S.merge_to_spt10(np.array([[0, 20]]), "lip20")
    with pytest.raises(ValueError, match=r"unknown labels \[10\]"):
        S.validate_labels(np.array([[3, 10]]))
    with pytest.raises(ValueError, match="unknown parsing scheme"):
        S.merge_to_spt10(np.zeros((2, 2), int), "cihp")
    with pytest.raises(ValueError, match="integer"):
        S.validate_labels(np.array([[0.5, 1.0]]))


def test_onehot_round_trip():
    labels = torch.randint(0, 10, (2, 8, 6))
    onehot = S.to_onehot(labels)
    assert onehot.shape == (2, 10, 8, 6)
    assert torch.all(onehot.sum(1) == 1)
    assert torch.equal(S.from_onehot(onehot), labels)
    with pytest.raises(ValueError):
        S.to_onehot(torch.tensor([[11]]))


def test_palette_legend_and_overlay():
    assert len(set(map(tuple, S.PALETTE.tolist()))) == S.NUM_LABELS
    names = [name for name, _ in S.legend()]
    assert names == list(S.SPT10_LABELS)
    labels = np.zeros((4, 4), dtype=np.uint8)
    labels[1:3, 1:3] = S.UPPER_CLOTHES
    image = np.full((4, 4, 3), 255, dtype=np.uint8)
    out = np.asarray(S.overlay(image, labels, alpha=1.0))
    assert out[0, 0].tolist() == [255, 255, 255]  # background untouched
    assert out[1, 1].tolist() == S.PALETTE[S.UPPER_CLOTHES].tolist()
    assert S.colorize(labels)[1, 1].tolist() == S.PALETTE[S.UPPER_CLOTHES].tolist()


def test_parsing_png_round_trip(tmp_path):
    labels = np.random.default_rng(0).integers(0, 10, (12, 9)).astype(np.uint8)
    path = tmp_path / "p.png"
    S.save_parsing(path, labels)
    np.testing.assert_array_equal(S.load_parsing(path), labels)
    np.save(tmp_path / "p.npy", labels)
    np.testing.assert_array_equal(S.load_parsing(tmp_path / "p.npy"), labels)


def test_load_parsing_refuses_colour_images_and_missing_files(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "rgb.png")
    with pytest.raises(ValueError, match="mode"):
        S.load_parsing(tmp_path / "rgb.png")
    with pytest.raises(FileNotFoundError):
        S.load_parsing(tmp_path / "nope.png")
    Image.fromarray(np.full((3, 3), 25, dtype=np.uint8)).save(tmp_path / "lip.png")
    with pytest.raises(ValueError, match=r"lip\.png.*unknown labels \[25\]"):
        S.load_parsing(tmp_path / "lip.png", "lip20")


def test_a_map_read_in_another_scheme_than_it_was_drawn_in_is_named():
    from spt.data.synthetic import SyntheticPeople
    from spt.parsing import scheme_mismatch, torso_wear_share

    flagged = 0
    for index in range(6):
        sample, _ = SyntheticPeople((128, 64), split="test").pair(index)
        spt, lip, kp = sample["parsing"], sample["parsing_lip"], sample["keypoints"]
        assert scheme_mismatch(spt, "spt10", kp) is None and scheme_mismatch(lip, "lip20", kp) is None
        message = scheme_mismatch(spt, "lip20", kp)  # SPT-10's upper clothes (3) read as LIP's gloves
        flagged += message is not None and "reads well as spt10" in message
    assert flagged >= 5
    no_neck = kp.copy()
    no_neck[1] = -1
    assert torso_wear_share(spt, "lip20", no_neck) is None and scheme_mismatch(spt, "lip20", no_neck) is None
