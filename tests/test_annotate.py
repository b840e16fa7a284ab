import numpy as np
import pytest
from PIL import Image

from spt.annotate import FrontEndUnavailable, HubParsing, annotate, main
from spt.data.fashion import load_split
from spt.data.synthetic import SyntheticPeople
from spt.pipeline import SPTPipeline


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    people = SyntheticPeople((48, 32), seed=0, split="test")
    for i in range(3):
        Image.fromarray(people.render(i, i)["image"]).save(root / f"photo{i}.png")
    (root / "notes.txt").write_text("not an image")
    model = tmp_path_factory.mktemp("model")
    SPTPipeline.from_preset("tiny", image_size=(32, 32)).save_pretrained(model)
    return root, model


def test_annotate_writes_a_readable_patn_folder(folder, tmp_path):
    images, model = folder
    summary = annotate(str(images), str(tmp_path), model=str(model), parsing="pose", progress=False)
    assert summary == {"images": 3, "pose": "detector", "parsing": "pose"}
    ds = load_split(str(tmp_path), "test", progress=False)
    assert len(ds) == 3 and np.asarray(ds[0]["image"]).shape == (48, 32, 3)
    kp = np.asarray(ds[0]["keypoints"])
    present = kp[:, 0] >= 0
    assert (kp[present, 0] <= 31).all() and (kp[present, 1] <= 47).all()  # mapped back to the photo's pixels
    assert np.asarray(ds[0]["parsing"]).shape == (48, 32) and np.asarray(ds[0]["parsing"]).max() < 10


def test_unavailable_front_ends_say_what_to_pass_instead(folder, tmp_path, capsys):
    images, model = folder
    with pytest.raises(FrontEndUnavailable, match="--parsing pose"):
        HubParsing("org/human-parser")
    with pytest.raises(ValueError, match="unknown parsing front-end"):
        annotate(str(images), str(tmp_path), model=str(model), parsing="magic", progress=False)
    SPTPipeline.from_preset("tiny", image_size=(32, 32), pose_detector=False).save_pretrained(tmp_path / "nodet")
    with pytest.raises(SystemExit, match="has no pose_detector"):
        main([str(images), "--out", str(tmp_path / "o"), "--model", str(tmp_path / "nodet")])
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        annotate(str(tmp_path / "nowhere"), str(tmp_path), model=str(model))
