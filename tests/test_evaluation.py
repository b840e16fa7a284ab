import importlib.util
import json

import numpy as np
import pytest
import torch

from spt.evaluation.metrics import mask_ssim, mean_iou, pixel_accuracy, psnr, ssim
from spt.evaluation.runner import main, pckh
from spt.models import AppearanceGenerator
from spt.pipeline import SPTPipeline


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    base = (np.add.outer(np.arange(64), np.arange(64)) * 2).astype(np.uint8)
    return np.stack([base, base.T, 255 - base], -1) // 2 + rng.integers(0, 20, (64, 64, 3)).astype(np.uint8)


def test_ssim_is_one_for_itself_and_falls_with_noise(image):
    rng = np.random.default_rng(1)
    assert ssim(image, image) == pytest.approx(1.0)
    noisy = [np.clip(image + rng.normal(0, s, image.shape), 0, 255).astype(np.uint8) for s in (5, 20, 60)]
    values = [ssim(image, n) for n in noisy]
    assert values[0] > values[1] > values[2]
    assert ssim(image, image, win_size=51) == pytest.approx(1.0)
    assert psnr(image, image) == float("inf") and psnr(image, noisy[0]) > psnr(image, noisy[2])


def test_mask_ssim_ignores_the_background(image):
    mask = np.zeros(image.shape[:2], bool)
    mask[16:48, 16:48] = True
    other = image.copy()
    other[~mask] = 255 - other[~mask]
    assert mask_ssim(image, other, mask) == pytest.approx(1.0)
    assert ssim(image, other) < 0.9


def test_parsing_scores_on_hand_made_maps():
    true = np.array([[0, 0, 1, 1], [0, 0, 1, 1]])
    pred = np.array([[0, 0, 1, 2], [0, 0, 1, 1]])
    assert pixel_accuracy(pred, true) == pytest.approx(7 / 8)
    # IoU: background 4/4, label 1 3/4, label 2 0/1 -> mean over labels present in either map.
    assert mean_iou(pred, true) == pytest.approx((1 + 0.75 + 0) / 3)


def test_pckh_counts_joints_within_half_a_head(front_pose):
    truth = front_pose
    head = 2 * np.linalg.norm(truth[0] - truth[1])
    moved = truth.copy()
    moved[5] += [0.4 * head, 0]
    moved[6] += [0.6 * head, 0]
    moved[7] = -1
    assert pckh(moved, truth) == (16, 18)


def test_cli_runs_end_to_end_and_writes_both_tables(tmp_path):
    SPTPipeline.from_preset("tiny", image_size=(32, 32)).save_pretrained(tmp_path / "model")
    result = main(["--model", str(tmp_path / "model"), "--pairs", "3", "--out", str(tmp_path / "eval"), "--batch_size", "2"])
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["pairs"] == 3 and len(metrics["per_pair"]) == 3
    assert 0 <= metrics["ssim"] <= 1 and 0 <= metrics["parsing_miou"] <= 1 and metrics["pckh"] is not None
    assert metrics["ssim_51"] is None  # 32x32 is smaller than the 51-pixel window
    assert "not computed" in metrics["fid"]
    table = (tmp_path / "eval" / "metrics.md").read_text()
    assert "| SSIM (PATN, sigma 1.5) |" in table and "| FID | not computed" in table
    assert len(list((tmp_path / "eval" / "images").iterdir())) == 3 and (tmp_path / "eval" / "grid.png").exists()
    assert result["pairs"] == 3


def test_true_target_parsing_feeds_h_a_and_drops_the_parsing_scores(tmp_path):
    SPTPipeline.from_preset("tiny", image_size=(32, 32)).save_pretrained(tmp_path / "model")
    common = ["--model", str(tmp_path / "model"), "--pairs", "2", "--batch_size", "2"]
    predicted = main(common + ["--out", str(tmp_path / "pred")])
    truth = main(common + ["--out", str(tmp_path / "gt"), "--target_parsing", "truth"])
    assert truth["parsing_miou"] is None and predicted["parsing_miou"] is not None
    assert truth["ssim"] != predicted["ssim"]
    assert "true target parsing" in (tmp_path / "gt" / "metrics.md").read_text()


def test_parsing_free_baseline_is_scored_without_parsing_scores(tmp_path):
    pipe = SPTPipeline.from_preset("tiny", image_size=(32, 32))
    pipe.register_modules(appearance_generator=AppearanceGenerator.from_config(pipe.appearance_generator.config,
                                                                               use_parsing=False))
    pipe.save_pretrained(tmp_path / "baseline")
    common = ["--model", str(tmp_path / "baseline"), "--pairs", "2", "--batch_size", "2"]
    result = main(common + ["--out", str(tmp_path / "eval")])
    assert 0 <= result["ssim"] <= 1 and result["parsing_miou"] is None and result["pckh"] is not None
    assert "| parsing mIoU | n/a |" in (tmp_path / "eval" / "metrics.md").read_text()
    with pytest.raises(SystemExit, match="parsing-free Baseline"):
        main(common + ["--out", str(tmp_path / "gt"), "--target_parsing", "truth"])


class _FromUint8(torch.nn.Module):
    """torchmetrics hands the networks uint8 images, as torch-fidelity's Inception expects."""

    def forward(self, x):
        return x.float() / 255 if x.dtype == torch.uint8 else x


def _tiny_networks():
    torch.manual_seed(0)
    feature = torch.nn.Sequential(_FromUint8(), torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2),
                                  torch.nn.Flatten())
    logits = torch.nn.Sequential(_FromUint8(), torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                 torch.nn.Flatten(), torch.nn.Linear(8, 5))
    return feature, logits


def test_fid_and_is_through_torchmetrics_with_small_random_networks():
    from spt.evaluation.distribution import DistributionScores

    feature, logits = _tiny_networks()
    g = torch.Generator().manual_seed(0)
    real = torch.rand(24, 3, 32, 16, generator=g)
    person = torch.ones(24, 1, 32, 16)
    same, noisy = DistributionScores(feature, logits, splits=2), DistributionScores(feature, logits, splits=2)
    same.update(real, real, person)
    noisy.update((real + 0.5 * torch.randn(real.shape, generator=g)).clamp(0, 1), real, person)
    same_scores, noisy_scores = same.compute(), noisy.compute()
    assert abs(same_scores["fid"]) < 1e-3 < noisy_scores["fid"]
    assert same_scores["is"] >= 1 and same_scores["mask_is"] >= 1
    with pytest.raises(ValueError, match="at least"):
        DistributionScores(feature, logits, splits=2).compute()


def test_evaluation_reports_fid_and_is_when_the_networks_load():
    from spt.evaluation.distribution import DistributionScores
    from spt.evaluation.runner import evaluate, synthetic_pairs

    pipe = SPTPipeline.from_preset("tiny", image_size=(32, 16))
    result = evaluate(pipe, synthetic_pairs((32, 16), 4), batch_size=2, progress=False,
                      distribution=DistributionScores(*_tiny_networks(), splits=2))
    assert isinstance(result["fid"], float) and result["fid"] > 0 and result["is"] >= 1
    assert result["lpips"] == "not computed"


@pytest.fixture
def random_alexnet(monkeypatch):
    """torchmetrics' LPIPS with a randomly initialised AlexNet in place of torchvision's ImageNet one (neither
    torchvision nor its weights load here); its own linear layers are the real, shipped ones."""
    import torchmetrics.functional.image.lpips as functional
    import torchmetrics.image.lpip as module

    def alexnet_features(net, pretrained=False):
        assert net == "alexnet"
        torch.manual_seed(0)
        nn = torch.nn
        return nn.Sequential(nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(64, 192, 5, padding=2),
                             nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
                             nn.MaxPool2d(3, 2))

    monkeypatch.setattr(module, "_TORCHVISION_AVAILABLE", True)
    monkeypatch.setattr(functional, "_get_tv_model_features", alexnet_features)


def test_lpips_through_torchmetrics_with_a_random_backbone(random_alexnet):
    from spt.evaluation.distribution import PerceptualDistance

    g = torch.Generator().manual_seed(0)
    real = torch.rand(4, 3, 64, 32, generator=g)
    scores = []
    for noise in (0.0, 0.1, 0.4):
        lpips = PerceptualDistance()
        lpips.update((real + noise * torch.randn(real.shape, generator=g)).clamp(0, 1), real)
        scores.append(lpips.compute())
    assert scores[0] == pytest.approx(0, abs=1e-6) and scores[0] < scores[1] < scores[2]
    with pytest.raises(ValueError, match="at least one pair"):
        PerceptualDistance().compute()


def test_evaluation_reports_lpips_when_the_network_loads(random_alexnet):
    from spt.evaluation.distribution import PerceptualDistance
    from spt.evaluation.runner import evaluate, synthetic_pairs

    pipe = SPTPipeline.from_preset("tiny", image_size=(64, 32))
    result = evaluate(pipe, synthetic_pairs((64, 32), 3), batch_size=2, progress=False, perceptual=PerceptualDistance())
    assert isinstance(result["lpips"], float) and result["lpips"] > 0


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed here")
def test_lpips_without_torchvision_says_why(tmp_path):
    from spt.evaluation.distribution import MetricsUnavailable, PerceptualDistance

    with pytest.raises(MetricsUnavailable, match="LPIPS needs torchvision"):
        PerceptualDistance()
    SPTPipeline.from_preset("tiny", image_size=(32, 32)).save_pretrained(tmp_path / "model")
    result = main(["--model", str(tmp_path / "model"), "--pairs", "2", "--out", str(tmp_path / "eval")])
    assert result["lpips"].startswith("not computed: LPIPS needs torchvision")
