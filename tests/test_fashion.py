import numpy as np
import pytest
from PIL import Image

from spt.data.fashion import evaluation_pairs, load_split, load_training_dataset, read_pairs_csv, write_split
from spt.data.synthetic import make_dataset
from spt.parsing import save_parsing
from spt.pose import read_patn_csv, write_patn_csv


@pytest.fixture(scope="module")
def deepfashion(tmp_path_factory):
    """A tiny DeepFashion-style folder written from SyntheticPeople at 64x44 (256x176 scaled down)."""
    root = tmp_path_factory.mktemp("fashion")
    for split, seed in (("train", 0), ("test", 1)):
        ds = make_dataset(2, 3, size=(64, 44), seed=seed, split="test" if split == "test" else "train", progress=False)
        ds = ds.add_column("name", [f"id{r['identity_id']:03d}_{r['pose_id']:03d}.png" for r in ds])
        pairs = [(ds[0]["name"], ds[1]["name"]), (ds[3]["name"], ds[4]["name"])]
        write_split(ds, str(root), split, pairs=pairs)
    return root, ds


def test_layout_is_patn(deepfashion):
    root, _ = deepfashion
    assert (root / "fasion-resize-annotation-train.csv").read_text().startswith("name:keypoints_y:keypoints_x")
    assert read_pairs_csv(str(root / "fasion-resize-pairs-test.csv"))[0] == ("id000_000.png", "id000_001.png")
    assert sorted(p.name for p in (root / "test").iterdir())[0] == "id000_000.png"
    assert (root / "parsing" / "train" / "id000_000.png").exists()


def test_round_trip_to_datasets_and_back(deepfashion, tmp_path):
    root, original = deepfashion
    loaded = load_split(str(root), "test", progress=False)
    assert loaded.column_names == ["name", "image", "parsing", "keypoints"] and len(loaded) == 6
    np.testing.assert_array_equal(np.asarray(loaded[2]["image"]), np.asarray(original[2]["image"]))
    np.testing.assert_array_equal(np.asarray(loaded[2]["parsing"]), np.asarray(original[2]["parsing"]))
    np.testing.assert_allclose(np.asarray(loaded[2]["keypoints"]), np.asarray(original[2]["keypoints"]), atol=1e-3)
    write_split(loaded, str(tmp_path), "test")
    again = load_split(str(tmp_path), "test", progress=False)
    np.testing.assert_array_equal(np.asarray(again[5]["parsing"]), np.asarray(original[5]["parsing"]))


def test_resizing_scales_keypoints_and_parsing_together(deepfashion):
    root, _ = deepfashion
    small = load_split(str(root), "train", size=(32, 22), progress=False)
    full = load_split(str(root), "train", progress=False)
    kp_small, kp_full = np.asarray(small[0]["keypoints"]), np.asarray(full[0]["keypoints"])
    present = kp_full[:, 0] >= 0
    np.testing.assert_allclose((kp_small[present] + 0.5) * 2, kp_full[present] + 0.5, atol=1.01)
    assert (kp_small[~present] == -1).all()
    assert np.asarray(small[0]["image"]).shape == (32, 22, 3) and np.asarray(small[0]["parsing"]).shape == (32, 22)
    assert set(np.unique(np.asarray(small[0]["parsing"]))) <= set(np.unique(np.asarray(full[0]["parsing"])))


def test_test_pairs_and_training_loader(deepfashion):
    root, _ = deepfashion
    pairs = evaluation_pairs(str(root), None, (64, 44))
    assert [p[0] for p in pairs] == ["id000_000___id000_001", "id001_003___id001_004"]
    assert pairs[0][2]["parsing"].shape == (64, 44)
    assert len(load_training_dataset("deepfashion", str(root), (64, 44))) == 6


def test_missing_joints_and_malformed_rows_are_reported(deepfashion, tmp_path):
    root, _ = deepfashion
    bad = tmp_path / "pairs.csv"
    bad.write_text("from,to\na.png,b.png\nc.png\n")
    with pytest.raises(ValueError, match=r"pairs.csv:3: expected 'from,to'"):
        read_pairs_csv(str(bad))
    annotations = read_patn_csv(str(root / "fasion-resize-annotation-train.csv"))
    assert any((kp == -1).all(-1).any() for kp in annotations.values())  # close-ups miss joints, read as -1
    broken = tmp_path / "broken"
    (broken / "train").mkdir(parents=True)
    (broken / "parsing" / "train").mkdir(parents=True)
    (broken / "x-annotation-train.csv").write_text("name:keypoints_y:keypoints_x\na.png: [1, 2]: [3]\n")
    with pytest.raises(ValueError, match="x-annotation-train.csv:2"):
        load_split(str(broken), "train", progress=False)
    with pytest.raises(FileNotFoundError, match="no train annotation CSV"):
        load_split(str(tmp_path), "train", progress=False)


def test_wrong_size_parsing_and_missing_image_are_named(deepfashion, tmp_path):
    import shutil

    root, _ = deepfashion
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    save_parsing(copy / "parsing" / "test" / "id000_000.png", np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="parsing of id000_000.png is \\(10, 10\\)"):
        load_split(str(copy), "test", progress=False)
    (copy / "test" / "id000_001.png").unlink()
    save_parsing(copy / "parsing" / "test" / "id000_000.png", np.zeros((64, 44), np.uint8))
    with pytest.raises(FileNotFoundError, match="id000_001.png"):
        load_split(str(copy), "test", progress=False)


def test_evaluation_cli_reads_the_patn_test_pairs(deepfashion, tmp_path):
    import json

    from spt.evaluation.runner import main
    from spt.pipeline import SPTPipeline

    root, _ = deepfashion
    SPTPipeline.from_preset("tiny", image_size=(64, 44)).save_pretrained(tmp_path / "model")
    main(
        [
            "--model",
            str(tmp_path / "model"),
            "--dataset",
            "deepfashion",
            "--data_dir",
            str(root),
            "--out",
            str(tmp_path / "eval"),
        ]
    )
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["pairs"] == 2 and metrics["per_pair"][0]["pair"] == "id000_000___id000_001"


def test_a_padded_256x256_photo_is_cropped_to_256x176_not_squashed(tmp_path):
    """The official SPT data: DeepFashion 256x176 people white-padded to 256x256. Loading at 256x176 cuts the
    40-pixel margins off (keypoints and parsing moved with the image); it does not squeeze the person."""
    person = make_dataset(1, 1, size=(256, 176), seed=0, split="test", progress=False)[0]
    image, parsing = np.asarray(person["image"]), np.asarray(person["parsing"])
    padded = np.full((256, 256, 3), 255, np.uint8)
    padded[:, 40:216] = image
    padded_parsing = np.zeros((256, 256), np.uint8)
    padded_parsing[:, 40:216] = parsing
    keypoints = np.asarray(person["keypoints"], np.float32)
    shifted = np.where(keypoints >= 0, keypoints + (40, 0), -1).astype(np.float32)
    (tmp_path / "test").mkdir()
    (tmp_path / "parsing" / "test").mkdir(parents=True)
    Image.fromarray(padded).save(tmp_path / "test" / "padded.png")
    save_parsing(tmp_path / "parsing" / "test" / "padded.png", padded_parsing)
    write_patn_csv(tmp_path / "fasion-resize-annotation-test.csv", {"padded.png": shifted})
    loaded = load_split(str(tmp_path), "test", size=(256, 176), progress=False)[0]
    np.testing.assert_array_equal(np.asarray(loaded["image"]), image)
    np.testing.assert_array_equal(np.asarray(loaded["parsing"]), parsing)
    np.testing.assert_allclose(np.asarray(loaded["keypoints"]), keypoints, atol=1e-3)


def test_the_pose_detector_check_reads_a_patn_folders_test_split(deepfashion):
    from spt.training import TrainConfig
    from spt.training.data import held_out_pose_images

    root, _ = deepfashion
    config = TrainConfig(
        stage="pose_detector", dataset="deepfashion", data_dir=str(root), image_size=(64, 44), output_dir="unused"
    )
    images, keypoints = held_out_pose_images(config, count=4)
    assert images.shape == (4, 64, 44, 3) and images.dtype == np.uint8 and keypoints.shape == (4, 18, 2)


def test_without_a_test_split_the_detector_is_not_measured_unless_a_floor_needs_it(deepfashion, tmp_path):
    import shutil

    from spt.models import PoseDetector
    from spt.training import DetectorReport, DetectorTooWeak, TrainConfig

    root, _ = deepfashion
    copy = tmp_path / "no_test"
    shutil.copytree(root, copy)
    for csv in copy.glob("*-annotation-test.csv"):
        csv.unlink()
    config = TrainConfig(
        stage="appearance", dataset="deepfashion", data_dir=str(copy), image_size=(64, 44), output_dir="unused"
    )
    detector = PoseDetector(base_channels=4, num_res_blocks=1)
    assert DetectorReport.measure_or_none(detector, config, floor=0.0) is None
    with pytest.raises(DetectorTooWeak, match="test annotation CSV.*--min_detector_pckh 0"):
        DetectorReport.measure_or_none(detector, config, floor=0.5)
