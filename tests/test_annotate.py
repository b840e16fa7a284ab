import os

import numpy as np
import pytest
from PIL import Image
from skimage import data

from spt.annotate import annotate, main
from spt.data.fashion import load_split
from spt.data.synthetic import SyntheticPeople
from spt.estimation import FrontEndUnavailable
from spt.pipeline import SPTPipeline
from spt.pose import KEYPOINT_NAMES

J = {name: i for i, name in enumerate(KEYPOINT_NAMES)}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two real photos, a full-body standing person (SyntheticPeople: no full-body photo ships offline), and
    a text file that pretends to be a PNG."""
    root = tmp_path_factory.mktemp("photos")
    Image.fromarray(data.astronaut()).save(root / "astronaut.png")
    Image.fromarray(data.camera()).save(root / "camera.png")
    Image.fromarray(SyntheticPeople((256, 128), seed=0, split="test").render(6, 36)["image"]).save(
        root / "standing.png"
    )
    (root / "broken.png").write_text("not an image")
    (root / "notes.txt").write_text("not an image either, and not listed")
    model = tmp_path_factory.mktemp("model")
    SPTPipeline.from_preset("tiny", image_size=(32, 32)).save_pretrained(model)
    return root, model


def test_annotate_reports_joints_warns_skips_and_writes_the_rest(folder, tmp_path, capsys):
    images, _ = folder
    main([str(images), "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "broken.png: skipped, not a readable image" in printed
    assert "astronaut.png: 9/18 joints (essential joints missing)" in printed
    assert "annotated 3 of 4 images" in printed and "keypoints by mediapipe, parsing by rough" in printed
    assert "1 without a usable person; 1 skipped" in printed
    ds = load_split(str(tmp_path), "test", progress=False)
    rows = {row["name"]: row for row in ds}
    assert sorted(rows) == ["astronaut.png", "camera.png", "standing.png"]
    standing = np.asarray(rows["standing.png"]["keypoints"])
    assert ((standing[:, 0] >= 0).sum()) >= 12
    ankles = standing[[J["right_ankle"], J["left_ankle"]], 1]
    assert (ankles > 0.75 * 256).all() and standing[J["nose"], 1] < 0.25 * 256  # feet at the bottom, head at the top
    assert (standing[[J["neck"], J["right_hip"], J["right_knee"]], 1] < ankles.min()).all()
    parsing = np.asarray(rows["camera.png"]["parsing"])
    assert parsing.shape == (512, 512) and 0.1 < (parsing > 0).mean() < 0.8


def test_detector_front_end_and_unavailable_ones_say_what_to_pass(folder, tmp_path):
    images, model = folder
    summary = annotate(
        str(images), str(tmp_path / "det"), model=str(model), pose="detector", parsing="none", progress=False
    )
    assert summary["pose"] == "detector" and summary["parsing"] == "none" and summary["images"] == 3
    assert set(summary["skipped"]) == {"broken.png"}
    with pytest.raises(FrontEndUnavailable, match="--parsing rough"):
        annotate(str(images), str(tmp_path), parsing="hub:org/human-parser", progress=False)
    with pytest.raises(ValueError, match="unknown parsing front-end"):
        annotate(str(images), str(tmp_path), parsing="magic", progress=False)
    SPTPipeline.from_preset("tiny", image_size=(32, 32), pose_detector=False).save_pretrained(tmp_path / "nodet")
    with pytest.raises(SystemExit, match="has no pose_detector"):
        main([str(images), "--out", str(tmp_path / "o"), "--pose", "detector", "--model", str(tmp_path / "nodet")])
    with pytest.raises(SystemExit, match="image folder not found"):
        main([str(tmp_path / "nowhere"), "--out", str(tmp_path)])


def test_only_regular_files_with_csv_safe_names_are_read(folder, tmp_path):
    """A FIFO named like a photo would block the read forever; a ':' or a line break would break the CSV."""
    _, model = folder
    images = tmp_path / "in"
    images.mkdir()
    photo = SyntheticPeople((64, 32), seed=0, split="test").render(1, 1)["image"]
    for name in ("good.png", "a:b.png", "line\nbreak.png"):
        Image.fromarray(photo).save(images / name)
    os.mkfifo(images / "pipe.jpg")
    summary = annotate(
        str(images), str(tmp_path / "out"), model=str(model), pose="detector", parsing="rough", progress=False
    )
    assert summary["images"] == 1
    assert summary["skipped"]["pipe.jpg"] == "not a regular file"
    assert "cannot go into the PATN annotation CSV" in summary["skipped"]["a:b.png"]
    assert "cannot go into the PATN annotation CSV" in summary["skipped"]["line\nbreak.png"]
    assert [row["name"] for row in load_split(str(tmp_path / "out"), "test", progress=False)] == ["good.png"]
