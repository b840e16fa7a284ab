"""The table of bad inputs: every entry point refuses each with its own error type and a message that names
the input (and, where it can, what to do). One row per case; a row is (surface, what, error type, message)."""

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from spt.annotate import annotate  # noqa: E402
from spt.data.fashion import load_split  # noqa: E402
from spt.data.synthetic import SyntheticPeople  # noqa: E402
from spt.pipeline import SPTPipeline  # noqa: E402
from spt.pose import PATN_HEADER, format_patn_row, load_keypoints_json, read_patn_csv  # noqa: E402
from spt.training import TrainConfig, Trainer  # noqa: E402

SIZE = (64, 32)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny pipeline, its saved folder, one SyntheticPeople pair, and a scratch folder."""
    root = tmp_path_factory.mktemp("bad")
    pipe = SPTPipeline.from_preset("tiny", image_size=SIZE)
    pipe.save_pretrained(root / "model")
    people = SyntheticPeople(SIZE, seed=0, split="test")
    return {"root": root, "pipe": pipe, "a": people.render(0, 0), "b": people.render(0, 1)}


# -- pipeline ------------------------------------------------------------------------------------------


def call(world, **change):
    a, b = world["a"], world["b"]
    args = (
        dict(
            source_image=a["image"], target_pose=b["keypoints"], source_pose=a["keypoints"], source_parsing=a["parsing"]
        )
        | change
    )
    return world["pipe"](**args)


def pose_json(world, **fields):
    return json.dumps({"keypoints": world["b"]["keypoints"].tolist(), **fields})


MISSING = np.full((18, 2), -1.0)
PIPELINE = [
    ("empty target list", lambda w: call(w, target_pose=[]), "target_pose is empty"),
    ("empty target array", lambda w: call(w, target_pose=np.zeros((0, 18, 2))), "target_pose is empty"),
    (
        "OpenPose people [1]",
        lambda w: call(w, target_pose='{"people": [1]}'),
        "target_pose: OpenPose JSON: each person",
    ),
    ("OpenPose people []", lambda w: call(w, target_pose='{"people": []}'), "target_pose: OpenPose JSON has no person"),
    (
        "OpenPose short",
        lambda w: call(w, target_pose='{"people": [{"pose_keypoints_2d": [1, 2, 3]}]}'),
        "target_pose: OpenPose pose_keypoints_2d must hold 18x3",
    ),
    ("JSON size 5", lambda w: call(w, target_pose=pose_json(w, size=5)), "target_pose: keypoints JSON: 'size'"),
    (
        "JSON size of 3",
        lambda w: call(w, target_pose=pose_json(w, size=[1, 2, 3])),
        "target_pose: keypoints JSON: 'size'",
    ),
    ("JSON not JSON", lambda w: call(w, target_pose="{not json"), "target_pose: keypoints JSON does not parse"),
    ("0x0 image", lambda w: call(w, source_image=np.zeros((0, 0, 3), np.uint8)), "source_image is 0x0 pixels"),
    ("1x1 image", lambda w: call(w, source_image=np.zeros((1, 1, 3), np.uint8)), "source_image is 1x1 pixels"),
    ("all-missing target", lambda w: call(w, target_pose=MISSING), "target_pose has no joint"),
    ("all-missing source", lambda w: call(w, source_pose=MISSING), "source_pose has no joint"),
    ("17 joints", lambda w: call(w, target_pose=w["b"]["keypoints"][:17]), r"target_pose must have shape \(18, 2\)"),
    ("NaN joint", lambda w: call(w, source_pose=np.full((18, 2), np.nan)), "source_pose contain NaN"),
    ("joint off the frame", lambda w: call(w, target_pose=w["b"]["keypoints"] + 100), "target_pose: joints .* outside"),
    ("unknown label", lambda w: call(w, source_parsing=np.full(SIZE, 12)), r"source_parsing.*unknown labels \[12\]"),
    (
        "parsing of another size",
        lambda w: call(w, source_parsing=w["a"]["parsing"][:32]),
        "source_parsing is 32x32 but source_image is 64x32",
    ),
    (
        "HSV image",
        lambda w: call(w, source_image=Image.fromarray(w["a"]["image"]).convert("HSV")),
        "source_image: image mode 'HSV'",
    ),
    (
        "float image above 1",
        lambda w: call(w, source_image=w["a"]["image"].astype(np.float32)),
        r"source_image: a non-uint8 array image must be float in \[0, 1\]",
    ),
    (
        "batch sizes differ",
        lambda w: call(w, source_image=[w["a"]["image"]] * 2, target_pose=[w["b"]["keypoints"]] * 3),
        "batch sizes differ: source_image=2, target_pose=3",
    ),
    ("fractional layout", lambda w: call(w, target_parsing=w["a"]["parsing"] + 0.5), "target_parsing.*integer labels"),
    ("output type", lambda w: call(w, output_type="latent"), "output_type must be"),
    (
        "bool keypoints",
        lambda w: call(w, target_pose=np.ones((18, 2), bool)),
        "target_pose must be real pixel coordinates",
    ),
    ("complex keypoints", lambda w: call(w, source_pose=w["a"]["keypoints"] + 0j), "source_pose must be real pixel"),
    (
        "meta keypoints",
        lambda w: call(w, target_pose=torch.empty((18, 2), device="meta")),
        "target_pose is a meta tensor",
    ),
    (
        "10**400 in a pose JSON",
        lambda w: call(w, target_pose=json.dumps({"keypoints": [[10**400, 1]] + [[-1, -1]] * 17})),
        "target_pose: keypoints must be numbers",
    ),
    (
        "10**400 in a pose list",
        lambda w: call(w, target_pose=[[10**400, 1]] + [[-1, -1]] * 17),
        "target_pose: keypoints must be pixel coordinates",
    ),
    ("target pose '³'", lambda w: call(w, target_pose="³"), "target_pose: keypoints JSON does not parse"),
    ("parsing_scheme None", lambda w: call(w, parsing_scheme=None), "parsing_scheme must be one of"),
    ("parsing_scheme 'coco'", lambda w: call(w, parsing_scheme="coco"), "unknown parsing scheme 'coco'"),
    (
        "bool parsing",
        lambda w: call(w, source_parsing=w["a"]["parsing"] > 0),
        "source_parsing must hold integer labels",
    ),
    (
        "meta parsing",
        lambda w: call(w, source_parsing=torch.empty(SIZE, device="meta")),
        "source_parsing is a meta tensor",
    ),
    (
        "bool tensor image",
        lambda w: call(w, source_image=torch.zeros((3, *SIZE), dtype=torch.bool)),
        "source_image: a tensor image must be real numbers",
    ),
    (
        "meta image",
        lambda w: call(w, source_image=torch.empty((3, *SIZE), device="meta")),
        "source_image is a meta tensor",
    ),
    (
        "complex image",
        lambda w: call(w, source_image=w["a"]["image"].astype(np.complex64)),
        "source_image: a non-uint8 array image must be float",
    ),
]


def test_documented_valid_forms_of_odd_inputs(world):
    """Inputs that look odd but mean one thing are taken: bfloat16 keypoints and parsings, an (H, W, 1) map."""
    reference = call(world, output_type="np").images
    a = world["a"]
    for change in (
        dict(source_parsing=torch.from_numpy(a["parsing"]).bfloat16()),
        dict(source_parsing=a["parsing"][..., None]),
    ):
        np.testing.assert_allclose(call(world, **change, output_type="np").images, reference, atol=1e-5)
    # bfloat16 keeps 8 bits of a coordinate (37.4 -> 37.5): the pose moves by a fraction of a pixel
    rough = call(world, source_pose=torch.from_numpy(a["keypoints"]).bfloat16(), output_type="np").images
    assert rough.shape == reference.shape and np.isfinite(rough).all()


@pytest.mark.parametrize("what, run, message", PIPELINE, ids=[row[0] for row in PIPELINE])
def test_pipeline_refuses(world, what, run, message):
    with pytest.raises(ValueError, match=message):
        run(world)


DEGENERATE = {
    "every joint at one point": np.full((18, 2), 10.0),
    "a horizontal line": np.stack([np.linspace(2, 30, 18), np.full(18, 20.0)], 1),
    "a vertical strip": np.stack([np.full(18, 5.0), np.linspace(2, 60, 18)], 1),
}


# A target with every joint on one point draws no body at all and is refused (test_a_target_pose_that_draws_no_body).
DRAWN = [(what, role) for what in DEGENERATE for role in ("target_pose", "source_pose")]
DRAWN.remove(("every joint at one point", "target_pose"))


@pytest.mark.parametrize("what, role", DRAWN)
def test_degenerate_poses_give_an_image_not_a_singular_matrix(world, what, role):
    """Parts whose joints collapse have no invertible affine: they are dropped like missing parts."""
    out = call(world, **{role: DEGENERATE[what]}, output_type="np")
    assert out.images.shape == (1, *SIZE, 3) and np.isfinite(out.images).all()


def hips_on_neck(world):
    kp = world["b"]["keypoints"].copy()
    kp[[2, 5, 8, 11]] = kp[1]  # shoulders and hips on the neck
    return kp


NO_BODY = [
    ("all 18 joints on one point", lambda w: np.full((18, 2), 10.0), "all lie within 0.0 pixels"),
    ("all joints within two pixels", lambda w: 10 + np.random.default_rng(0).uniform(0, 2, (18, 2)), "all lie within"),
    ("shoulders and hips on the neck", hips_on_neck, "its hips lie on its neck"),
]


@pytest.mark.parametrize("what, pose, message", NO_BODY, ids=[row[0] for row in NO_BODY])
def test_a_target_pose_that_draws_no_body_is_refused(world, what, pose, message):
    with pytest.raises(ValueError, match="target_pose: .*" + message):
        call(world, target_pose=pose(world))


def test_front_end_and_scheme_are_checked_even_when_nothing_is_estimated(world):
    with pytest.raises(ValueError, match="pose_front_end must be one of .* got 'bogus'"):
        call(world, pose_front_end="bogus")
    with pytest.raises(ValueError, match="unknown parsing scheme 'bogus'"):
        call(world, source_parsing=None, parsing_scheme="bogus")


def test_16_bit_and_transparent_photos_are_seen_as_meant(tmp_path):
    from spt.processor import NEUTRAL, open_photo

    ramp = np.linspace(0, 65535, 64 * 32).reshape(64, 32).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "grey16.png")
    assert Image.open(tmp_path / "grey16.png").mode == "I;16"
    pixels = open_photo(tmp_path / "grey16.png")
    assert pixels.shape == (64, 32, 3) and pixels.min() == 0 and pixels.max() == 255 and 120 < pixels.mean() < 135
    cutout = np.zeros((32, 32, 4), np.uint8)
    cutout[..., 0] = 255  # red hidden under full transparency
    cutout[8:24, 8:24] = (0, 0, 255, 255)  # the person: opaque blue
    Image.fromarray(cutout).save(tmp_path / "cutout.png")
    pixels = open_photo(tmp_path / "cutout.png")
    assert tuple(pixels[0, 0]) == NEUTRAL and tuple(pixels[16, 16]) == (0, 0, 255)


def test_an_exif_rotated_photo_is_read_upright(world, tmp_path):
    from spt.processor import open_photo

    upright = Image.fromarray(world["a"]["image"])
    sideways = upright.transpose(Image.Transpose.ROTATE_90)  # how a phone stores a portrait...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with Orientation 6: turn 90 degrees clockwise to view
    sideways.save(tmp_path / "sideways.png", exif=exif)
    upright.save(tmp_path / "upright.png")
    np.testing.assert_array_equal(open_photo(tmp_path / "sideways.png"), open_photo(tmp_path / "upright.png"))
    with Image.open(tmp_path / "sideways.png") as photo:
        turned = call(world, source_image=photo, output_type="np").images
    np.testing.assert_array_equal(turned, call(world, source_image=upright, output_type="np").images)


def test_huge_photos_are_downscaled_on_opening(tmp_path):
    from spt.processor import open_photo

    Image.new("RGB", (5000, 4000), (200, 10, 10)).save(tmp_path / "big.jpg", quality=80)
    pixels = open_photo(tmp_path / "big.jpg", max_pixels=1_000_000)
    assert pixels.shape[0] * pixels.shape[1] <= 1_000_000 and abs(pixels.shape[1] / pixels.shape[0] - 1.25) < 0.01


# -- from_pretrained -----------------------------------------------------------------------------------


def broken_copy(world, name, edit):
    folder = world["root"] / name
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(world["root"] / "model", folder)
    edit(folder)
    return folder


def rewrite_json(path, change):
    data = json.loads(path.read_text())
    path.write_text(json.dumps(change(data)))


def nan_weight(folder):
    path = folder / "appearance_generator" / "diffusion_pytorch_model.safetensors"
    weights = load_file(path)
    first = sorted(weights)[0]
    weights[first] = torch.full_like(weights[first], float("nan"))
    save_file(weights, path)


LOADING = [
    ("no folder", lambda f: shutil.rmtree(f), ValueError, "not an SPT pipeline folder or a Hub repo id"),
    (
        "index is a list",
        lambda f: (f / "model_index.json").write_text("[1, 2]"),
        ValueError,
        "model_index.json must be a JSON object",
    ),
    (
        "index is not JSON",
        lambda f: (f / "model_index.json").write_text("{"),
        ValueError,
        "model_index.json is not valid JSON",
    ),
    (
        "entry is a string",
        lambda f: rewrite_json(f / "model_index.json", lambda d: d | {"semantic_generator": "x"}),
        ValueError,
        "model_index.json: semantic_generator must be \\[library, class\\]",
    ),
    (
        "image_size [0, -3]",
        lambda f: rewrite_json(f / "model_index.json", lambda d: d | {"image_size": [0, -3]}),
        ValueError,
        "model_index.json: image_size must be \\[height, width\\]",
    ),
    (
        "negative width",
        lambda f: rewrite_json(f / "semantic_generator" / "config.json", lambda d: d | {"base_channels": -8}),
        ValueError,
        "semantic_generator/config.json does not describe a SemanticGenerator",
    ),
    ("NaN weight", nan_weight, ValueError, "diffusion_pytorch_model.safetensors holds NaN or inf"),
    (
        "truncated weights",
        lambda f: (f / "pose_detector" / "diffusion_pytorch_model.safetensors").write_bytes(b"\0" * 10),
        ValueError,
        "pose_detector/diffusion_pytorch_model.safetensors is not a readable safetensors file",
    ),
    (
        "missing config",
        lambda f: os.remove(f / "appearance_generator" / "config.json"),
        ValueError,
        "appearance_generator/config.json is missing",
    ),
    (
        "weights linked from outside",
        lambda f: link_outside(f, "semantic_generator/diffusion_pytorch_model.safetensors"),
        ValueError,
        "semantic_generator/diffusion_pytorch_model.safetensors of .* resolves outside the model folder",
    ),
    (
        "component folder linked from outside",
        lambda f: link_outside(f, "pose_detector"),
        ValueError,
        "resolves outside the model folder",
    ),
    (
        "float weight stored as int64",
        lambda f: edit_weights(f, lambda w, k: w[k].long()),
        ValueError,
        "tensor .* is stored as I64, but the network holds float32",
    ),
    (
        "weight of the wrong shape",
        lambda f: edit_weights(f, lambda w, k: w[k][..., :1].contiguous()),
        ValueError,
        "appearance_generator/diffusion_pytorch_model.safetensors: tensor .* is \\[.*\\] but .*config.json needs",
    ),
    (
        "unknown config key",
        lambda f: rewrite_json(f / "semantic_generator" / "config.json", lambda d: d | {"dropout": 0.5}),
        ValueError,
        "semantic_generator/config.json does not describe a SemanticGenerator: .*unknown fields \\['dropout'\\]",
    ),
    (
        "wrong _class_name",
        lambda f: rewrite_json(f / "semantic_generator" / "config.json", lambda d: d | {"_class_name": "UNet2DModel"}),
        ValueError,
        "_class_name is 'UNet2DModel'",
    ),
    (
        "entry os.system",
        lambda f: rewrite_json(f / "model_index.json", lambda d: d | {"semantic_generator": ["os", "system"]}),
        ValueError,
        "semantic_generator must be \\['spt.models.semantic', 'SemanticGenerator'\\], got \\['os', 'system'\\]",
    ),
    (
        "entry builtins.eval",
        lambda f: rewrite_json(f / "model_index.json", lambda d: d | {"pose_detector": ["builtins", "eval"]}),
        ValueError,
        "pose_detector must be",
    ),
    (
        "extra component",
        lambda f: rewrite_json(f / "model_index.json", lambda d: d | {"text_encoder": ["transformers", "AutoModel"]}),
        ValueError,
        "unknown entries \\['text_encoder'\\]",
    ),
]


def link_outside(folder, relative):
    """Replace a file or folder of the pipeline by a symlink to a copy outside it."""
    target = folder / relative
    outside = folder.parent / f"outside_{folder.name}_{target.name}"
    shutil.rmtree(outside, ignore_errors=True)
    shutil.move(str(target), str(outside))
    os.symlink(outside, target)


def edit_weights(folder, change):
    path = folder / "appearance_generator" / "diffusion_pytorch_model.safetensors"
    weights = load_file(path)
    name = next(k for k in sorted(weights) if weights[k].dim() == 4)
    weights[name] = change(weights, name)
    save_file(weights, path)


def test_a_missing_local_model_folder_is_named_as_such(tmp_path, monkeypatch):
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="no such folder: runs/does-not-exist"):
        SPTPipeline.from_pretrained("runs/does-not-exist")


def test_a_missing_folder_that_reads_as_a_repo_id_is_named_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./runs: 'runs/does-not-exist' could be a Hub repo, and none is cached or found
    with pytest.raises(OSError, match="no such folder: runs/does-not-exist, and no Hub repo"):
        SPTPipeline.from_pretrained("runs/does-not-exist", local_files_only=True, cache_dir=str(tmp_path / "hub"))


@pytest.mark.parametrize("option", [dict(variant="fp16"), dict(use_safetensors=False)])
def test_from_pretrained_reads_safetensors_only(world, option):
    folder = broken_copy(
        world, "pickle_planted", lambda f: torch.save({}, f / "semantic_generator" / "diffusion_pytorch_model.bin")
    )
    with pytest.raises(ValueError, match="loads diffusion_pytorch_model.safetensors only"):
        SPTPipeline.from_pretrained(str(folder), **option)
    SPTPipeline.from_pretrained(str(folder))  # the planted .bin is never read


@pytest.mark.parametrize("what, edit, error, message", LOADING, ids=[row[0] for row in LOADING])
def test_from_pretrained_refuses(world, what, edit, error, message):
    folder = broken_copy(world, what.replace(" ", "_"), edit)
    with pytest.raises(error, match=message):
        SPTPipeline.from_pretrained(str(folder))


# -- PATN files ----------------------------------------------------------------------------------------

ROW = format_patn_row("a.png", np.arange(36, dtype=np.float32).reshape(18, 2))
ROW_B = format_patn_row("b.png", np.arange(36, dtype=np.float32).reshape(18, 2))
PATN = [
    (
        "strings in a row",
        f'{PATN_HEADER}\na.png: ["1"{", 2" * 17}]: [{", ".join(["3"] * 18)}]\n',
        r":2: the y list must hold plain numbers",
    ),
    ("nested value", f"{PATN_HEADER}\na.png: [[1]{', 2' * 17}]: [{', '.join(['3'] * 18)}]\n", r":2: expected 'name"),
    (
        "true read as 1",
        f"{PATN_HEADER}\na.png: [true{', 2' * 17}]: [{', '.join(['3'] * 18)}]\n",
        r":2: the y list must hold plain numbers",
    ),
    (
        "duplicated name",
        f"{PATN_HEADER}\n{ROW}\n{ROW_B}\n{ROW}\n",
        r":4: 'a.png' is annotated twice \(first on line 2\)",
    ),
    (
        "17 values",
        f"{PATN_HEADER}\na.png: [{', '.join(['1'] * 17)}]: [{', '.join(['3'] * 18)}]\n",
        r":2: expected 18 y and 18 x values",
    ),
    ("no header", f"{ROW}\n", r": line 1 must be the header"),
    ("not UTF-8", (PATN_HEADER + "\n").encode() + b"\xff\xfe.png: [1]: [2]\n", r":2: not UTF-8 text"),
]


@pytest.mark.parametrize("what, content, message", PATN, ids=[row[0] for row in PATN])
def test_patn_annotations_are_refused_naming_file_and_line(tmp_path, what, content, message):
    path = tmp_path / "fasion-resize-annotation-test.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError, match="fasion-resize-annotation-test.csv" + message):
        read_patn_csv(path)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="annotation file not found: .*nothing.csv"):
        read_patn_csv(tmp_path / "nothing.csv")
    with pytest.raises(FileNotFoundError, match="keypoints file not found: .*pose.json"):
        load_keypoints_json(tmp_path / "pose.json")
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        annotate(str(tmp_path / "photos"), str(tmp_path / "out"))
    (tmp_path / "photos").mkdir()
    with pytest.raises(ValueError, match="no images .* in .*photos"):
        annotate(str(tmp_path / "photos"), str(tmp_path / "out"))
    with pytest.raises(FileNotFoundError):
        load_split(str(tmp_path / "photos"), "test")


# -- evaluation CLI ------------------------------------------------------------------------------------

EVALUATION_CLI = [
    ("--batch_size 0", ["--batch_size", "0"], "--batch_size must be >= 1, got 0"),
    ("--batch_size -1", ["--batch_size", "-1"], "--batch_size must be >= 1, got -1"),
    ("--pairs 0", ["--pairs", "0"], "--pairs must be between 1 and 10,000"),
    ("--pairs 100000000", ["--pairs", "100000000"], "--pairs must be between 1 and 10,000"),
    ("--seed -1", ["--seed", "-1"], "--seed must be a whole number >= 0, got -1"),
    ("--out names a file", ["--out", __file__], "is a file; give a folder"),
    ("--device bogus", ["--device", "bogus"], "--device bogus: not a device name"),
    ("--split with photos", ["--split", "validation", "--photos", "."], "--split validation is SyntheticPeople's"),
    ("--device cuda:7", ["--device", "cuda:7"], "--device cuda:7: (no CUDA device|this machine has)"),
]


@pytest.mark.parametrize("what, flags, message", EVALUATION_CLI, ids=[row[0] for row in EVALUATION_CLI])
def test_the_evaluation_cli_checks_every_value_first(world, capsys, what, flags, message):
    from spt.evaluation.runner import main as evaluate_main

    with pytest.raises(SystemExit):
        evaluate_main(["--model", str(world["root"] / "model"), *flags])
    assert re.search(message, capsys.readouterr().err)


# -- training ------------------------------------------------------------------------------------------

TRAINING = [
    ("32x16 images", dict(image_size=(32, 16)), "image_size \\(32, 16\\) is too small for the PatchGAN"),
    (
        "sizes off the depth",
        dict(image_size=(100, 64)),
        "image_size \\(100, 64\\): the small preset's appearance network",
    ),
    ("negative checkpoint limit", dict(checkpoints_total_limit=-1), "checkpoints_total_limit must be >= 1"),
    ("negative grad norm", dict(max_grad_norm=-5), "max_grad_norm must be >= 0"),
    ("unknown stage", dict(stage="render"), "stage must be one of"),
    ("zero batch", dict(batch_size=0), "batch_size must be >= 1"),
    ("negative weight", dict(weights={"style": -1}), "weights.style must be >= 0"),
    ("infinite learning rate", dict(learning_rate=float("inf")), "learning_rate must be a finite number, got inf"),
    ("NaN loss weight", dict(weights={"pose": float("nan")}), "weights.pose must be a finite number, got nan"),
    ("NaN grad norm", dict(max_grad_norm=float("nan")), "max_grad_norm must be a finite number"),
    ("max_steps 1e400 in YAML", dict(max_steps=float("inf")), "max_steps must be a whole number, got inf"),
    ("batch_size '8' in YAML", dict(batch_size="8"), "batch_size must be a whole number, got '8'"),
    ("size of floats", dict(image_size=(128.0, 64)), "image_size must be \\(height, width\\) in whole pixels"),
    ("output_dir is a file", dict(output_dir=__file__), "output_dir .* is a file, not a folder"),
]


@pytest.mark.parametrize("what, change, message", TRAINING, ids=[row[0] for row in TRAINING])
def test_training_config_refuses_before_any_work(what, change, message):
    values = {"stage": "semantic", "log_with": None} | change
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_dict(values).validate()


def test_resuming_from_something_that_is_not_a_checkpoint_is_named(tmp_path):
    (tmp_path / "weights").mkdir()
    trainer = Trainer(
        TrainConfig(
            stage="semantic",
            preset="tiny",
            image_size=(32, 32),
            output_dir=str(tmp_path / "run"),
            log_with=None,
            resume_from_checkpoint=str(tmp_path / "weights"),
        )
    )
    with pytest.raises(ValueError, match="resume_from_checkpoint .*weights' is not a checkpoint-<step> folder"):
        trainer.resume()


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """A tiny pose-detector run with checkpoints at steps 1 and 2."""
    out = tmp_path_factory.mktemp("run") / "pose"
    cfg = TrainConfig(
        stage="pose_detector",
        preset="tiny",
        image_size=(32, 32),
        search_size=(32, 32),
        num_identities=2,
        poses_per_identity=2,
        max_steps=2,
        checkpointing_steps=1,
        output_dir=str(out),
        log_with=None,
        min_detector_pckh=0.0,
    )
    Trainer(cfg).train()
    return cfg


def resumed(cfg, tmp_path, **change):
    run = tmp_path / "copy"
    shutil.copytree(cfg.output_dir, run)
    values = cfg.to_dict() | {"output_dir": str(run), "resume_from_checkpoint": "latest"} | change
    return run, Trainer(TrainConfig.from_dict(values))


def test_latest_passes_over_an_emptied_checkpoint_and_stale_partial_saves_are_removed(saved_run, tmp_path):
    run, trainer = resumed(saved_run, tmp_path)
    shutil.rmtree(run / "checkpoint-2")
    (run / "checkpoint-2").mkdir()  # emptied (a copy that failed, a cleanup half done)
    (run / "checkpoint-3.partial").mkdir()  # what a killed or failed save leaves
    trainer.resume()
    assert trainer.global_step == 1 and not (run / "checkpoint-3.partial").exists()


def test_a_truncated_optimizer_state_is_named(saved_run, tmp_path):
    run, trainer = resumed(saved_run, tmp_path)
    (run / "checkpoint-2" / "optimizer.bin").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="cannot resume from .*checkpoint-2.*truncated or corrupt"):
        trainer.resume()


def test_resuming_another_presets_checkpoint_names_the_mismatch(saved_run, tmp_path):
    _, trainer = resumed(saved_run, tmp_path, preset="small")
    with pytest.raises(ValueError, match="cannot resume from .*other network sizes"):
        trainer.resume()


def test_a_full_disk_while_saving_says_so_and_leaves_no_partial_save(saved_run, tmp_path, monkeypatch):
    run, trainer = resumed(saved_run, tmp_path)
    trainer.resume()

    def full(path, *args, **kwargs):
        os.makedirs(path, exist_ok=True)
        (Path(path) / "model.safetensors").write_bytes(b"\0" * 100)
        raise RuntimeError("basic_ios::clear: iostream error")

    monkeypatch.setattr(trainer.accelerator, "save_state", full)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(OSError, match="no space left on the device of .*checkpoint-2.partial"):
        trainer.save_checkpoint()
    assert not (run / "checkpoint-2.partial").exists() and (run / "checkpoint-2").is_dir()


# -- the Space ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def space(world):
    import app
    from spt.space import model

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPT_MODEL", str(world["root"] / "model"))
        model.load_pipeline.cache_clear()
        yield app
    model.load_pipeline.cache_clear()


def write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        Image.fromarray(content).save(path, format="PNG")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return str(path)


SPACE = [
    ("OpenPose people [1]", dict(keypoints='{"people": [1]}'), "Bad keypoints: OpenPose JSON: each person"),
    ("JSON size 5", dict(keypoints='{"keypoints": [[1, 2]], "size": 5}'), "Bad keypoints: keypoints JSON: 'size'"),
    ("keypoints file not UTF-8", dict(keypoints=b"\xff\xfe{"), "Bad keypoints"),
    ("text as a photo", dict(photo="hello"), "photo.png is not an image: upload a PNG or JPEG photo"),
    ("parsing of another size", dict(parsing="small"), "The parsing is 8x8 but the photo is 64x32"),
    ("pose index 99", dict(target="99"), "Pose index must be 0-11"),
    ("pose index -3", dict(target="-3"), "Pose index must be 0-11, got -3"),
    ("unknown scheme, no parsing", dict(scheme="bogus"), "Unknown parsing scheme 'bogus': choose one of"),
    ("empty pose", dict(target="  "), "Paste keypoints"),
    ("300 poses at once", dict(target=json.dumps([[[10.0, 10.0]] * 18] * 300)), "characters; one pose"),
    (
        "3 poses at once",
        dict(target=json.dumps([[[10.0, 10.0]] * 18] * 3)),
        "Paste one pose per generation: this text holds 3",
    ),
    ("JSON nested 100,000 deep", dict(target="[" * 15_000), "nests too deep"),
    (
        "1x1 photo",
        dict(photo=np.zeros((1, 1, 3), np.uint8)),
        "photo.png is 1x1 pixels: upload a photo of at least 16x16",
    ),
    (
        "a PNG as the keypoints file",
        dict(keypoints=np.zeros((8, 8, 3), np.uint8)),
        "pose.json is a binary file \\(an image\\?\\), not keypoints",
    ),
    ("an 11 MB keypoints file", dict(keypoints=b"[" + b" " * 11_000_000), "pose.json is 10.5 MB; one pose"),
    ("a keypoints file's bad row", dict(keypoints="a.jpg: [1]: [2]"), "Bad keypoints: pose.json"),
]


@pytest.mark.parametrize("what, change, message", SPACE, ids=[row[0] for row in SPACE])
def test_the_space_api_gives_a_readable_error_without_server_paths(space, world, tmp_path, what, change, message):
    photo = write(tmp_path, "photo.png", change["photo"]) if "photo" in change else str(tmp_path / "photo.png")
    if "photo" not in change:
        Image.fromarray(world["a"]["image"]).save(photo)
    keypoints = write(tmp_path, "pose.json", change["keypoints"]) if "keypoints" in change else None
    parsing = None
    if change.get("parsing") == "small":
        parsing = str(tmp_path / "parsing.png")
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(parsing)
    with pytest.raises(space.gr.Error, match=message) as err:
        space.generate_api(photo, keypoints, parsing, change.get("scheme", "spt10"), change.get("target", "1"))
    assert str(tmp_path) not in str(err.value.message)


def test_a_utf16_keypoints_file_is_read(space, world, tmp_path):
    from spt.space.sources import read_keypoints_file

    path = tmp_path / "pose.json"
    path.write_text(json.dumps({"keypoints": world["b"]["keypoints"].tolist()}), encoding="utf-16")
    np.testing.assert_allclose(read_keypoints_file(str(path), SIZE), world["b"]["keypoints"], atol=1e-4)


def test_a_300_pose_request_is_refused_at_once(space, world, tmp_path):
    import time

    photo = str(tmp_path / "photo.png")
    Image.fromarray(world["a"]["image"]).save(photo)
    start = time.perf_counter()
    with pytest.raises(space.gr.Error, match="Paste one pose per generation"):
        space.generate_api(photo, None, None, "spt10", json.dumps([[[10.0, 10.0]] * 18] * 300))
    assert time.perf_counter() - start < 1.0


def test_the_space_refuses_a_decompression_bomb_and_other_handler_errors(space, world, tmp_path, monkeypatch):
    from spt.space import sources as space_sources

    photo = str(tmp_path / "huge.png")
    Image.fromarray(np.zeros((200, 200, 3), np.uint8)).save(photo)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # 40,000 pixels is then more than twice the limit
    with pytest.raises(space.gr.Error, match="huge.png is too large: upload a photo under"):
        space.generate_api(photo, None, None, "spt10", "1")
    monkeypatch.undo()
    with pytest.raises(space.gr.Error, match="Choose a source person first"):
        space.generate(None, space_sources.gallery_pose(1, SIZE))
    with pytest.raises(space.gr.Error, match="Frames must be between 2 and 48"):
        space.animate(space_sources.synthetic_person(0, 0, SIZE), None, "walking cycle", 100)
    bad_sequence = write(tmp_path, "walk.json", '{"frames": [[1, 2]]}')
    with pytest.raises(space.gr.Error, match="2 to 64 poses"):
        space.animate(space_sources.synthetic_person(0, 0, SIZE), None, "uploaded keypoint sequence", 4, bad_sequence)


# -- nothing lost: folders of photos, the CSV, the evaluation's files, the model card ---------------------------


def photo(path):
    Image.fromarray(np.full((32, 16, 3), 90, np.uint8)).save(path)


def test_two_photos_with_one_name_are_refused_naming_both(tmp_path):
    from spt.files import list_images

    photo(tmp_path / "cam.jpg")
    photo(tmp_path / "cam.png")
    with pytest.raises(ValueError, match="cam.jpg and cam.png .* share the name 'cam'.*rename one"):
        list_images(tmp_path)


def test_only_regular_files_with_storable_names_are_read(tmp_path):
    from spt.files import list_images

    photo(tmp_path / "ok.png")
    os.mkfifo(tmp_path / "pipe.jpg")  # reading it would block forever
    os.symlink(tmp_path / "loop.png", tmp_path / "loop.png")  # a symlink loop
    os.symlink(tmp_path / "gone.png", tmp_path / "dangling.png")
    photo(os.path.join(os.fsencode(tmp_path), b"caf\xe9.png"))  # Latin-1, not UTF-8
    names, skipped = list_images(tmp_path)
    assert names == ["ok.png"]
    assert skipped["pipe.jpg"] == "not a regular file"
    assert "cannot be read" in skipped["loop.png"] and "cannot be read" in skipped["dangling.png"]
    assert [why for name, why in skipped.items() if name.startswith("caf")] == [
        "its name is not valid UTF-8; rename it"
    ]


def test_a_failed_csv_write_keeps_the_last_good_file(tmp_path):
    from spt.pose import write_patn_csv

    path = tmp_path / "annotations.csv"
    write_patn_csv(path, {"a.jpg": np.full((18, 2), 3.0)})
    good = path.read_text()
    with pytest.raises(ValueError, match="not valid UTF-8.*rename"):
        write_patn_csv(path, {"a.jpg": np.full((18, 2), 3.0), "caf\udce9.jpg": np.full((18, 2), 4.0)})
    assert path.read_text() == good and os.listdir(tmp_path) == ["annotations.csv"]


@pytest.mark.parametrize("split", ["../escaped", "", "a/b", ".."])
def test_annotate_refuses_a_split_that_is_a_path(tmp_path, split):
    from spt.annotate import annotate

    (tmp_path / "photos").mkdir()
    photo(tmp_path / "photos" / "one.png")
    with pytest.raises(ValueError, match="--split must be a plain folder name"):
        annotate(str(tmp_path / "photos"), str(tmp_path / "out"), split=split, parsing="none", pose="detector")
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "out").exists()


def write_evaluation(folder, benchmark, adapt=None):
    folder.mkdir(parents=True)
    metrics = {"ssim": 0.7, "methods": {"part-warp": {"ssim": 0.6}}, "benchmark": benchmark}
    if adapt:
        metrics["adapt"] = adapt
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "metrics.md").write_text("# title\n\n| metric | model |\n")


PUBLISHED = {"dataset": "synthetic", "pairs": 300, "world": "3d", "split": "test"}
CARDS = [
    ("2 validation pairs", PUBLISHED | {"pairs": 2, "split": "validation"}, None, "not the published one"),
    ("another world", PUBLISHED | {"world": "2d"}, None, "not the published one"),
    ("no record", None, None, "an unrecorded benchmark"),
    ("a fitted evaluation", PUBLISHED, {"steps": 30}, "fitted evaluation"),
]


@pytest.mark.parametrize("what, benchmark, adapt, message", CARDS, ids=[row[0] for row in CARDS])
def test_the_model_card_states_only_the_published_benchmark(tmp_path, what, benchmark, adapt, message):
    import runpy

    model = tmp_path / "model"
    model.mkdir()
    (model / "train_config.json").write_text(json.dumps({"stage": "e2e", "world": "3d", "log_with": None}))
    write_evaluation(tmp_path / "eval", benchmark, adapt)
    card = runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "pretrained", "write_card.py"))
    with pytest.raises(ValueError, match=message):
        card["main"]([str(model), str(tmp_path / "eval")])
    assert sorted(os.listdir(model)) == ["train_config.json"]  # nothing written, here or anywhere else


# -- bounds and refusals of the other command lines and configs --------------------------------------------

SYNTHETIC_CLI = [
    ("--size 20000 20000", ["--size", "20000", "20000"], "--size must be H W between 16 and 1024"),
    ("--identities 0", ["--identities", "0"], "--identities must be between 1 and"),
    ("--seed -1", ["--seed", "-1"], "--seed must be a whole number >= 0, got -1"),
    ("--poses 0", ["--poses", "0"], "--poses must be between 1 and 64"),
]


@pytest.mark.parametrize("what, flags, message", SYNTHETIC_CLI, ids=[row[0] for row in SYNTHETIC_CLI])
def test_the_synthetic_cli_bounds_its_work(tmp_path, capsys, what, flags, message):
    from spt.data.synthetic.cli import main as synthetic_main

    with pytest.raises(SystemExit) as exit_:
        synthetic_main(["--grid", str(tmp_path / "grid.png"), *flags])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and re.search(message, err) and err.count("\n") == 1
    assert not (tmp_path / "grid.png").exists()


MORE_TRAINING = [
    ("no validation pairs", dict(num_validation_pairs=0), "num_validation_pairs must be >= 1"),
    ("negative validation pairs", dict(num_validation_pairs=-3), "num_validation_pairs must be >= 1"),
    ("Adam beta 5", dict(adam_beta1=5.0), "adam_beta1 must be in \\[0, 1\\), got 5.0"),
    ("empty output_dir", dict(output_dir=""), "output_dir is empty"),
    ("weights: 5", dict(weights=5), "weights must be a mapping of loss names"),
    ("weights: null", dict(weights=None), "weights must be a mapping of loss names"),
]


@pytest.mark.parametrize("what, change, message", MORE_TRAINING, ids=[row[0] for row in MORE_TRAINING])
def test_more_training_configs_are_refused_before_any_work(what, change, message):
    values = {"stage": "semantic", "log_with": None} | change
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_dict(values).validate()


@pytest.mark.parametrize("text, message", [("- 1\n- 2\n", "got a list"), ("5\n", "got a int")])
def test_a_yaml_config_that_is_not_a_mapping_is_named(tmp_path, text, message):
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ValueError, match=f"c.yaml: bad training config: expected a mapping .*{message}"):
        TrainConfig.from_file(str(tmp_path / "c.yaml"))


def test_a_truncated_pool_cache_says_to_delete_it(tmp_path):
    from spt.training.data import load_pool, pool_cache_path

    config = TrainConfig(stage="semantic", log_with=None, cache_dir=str(tmp_path), num_identities=2)
    os.makedirs(tmp_path, exist_ok=True)
    with open(pool_cache_path(config), "wb") as handle:
        handle.write(b"PK\x03\x04 cut short")
    with pytest.raises(ValueError, match="cached pool .* is truncated or corrupt .*delete it"):
        load_pool(config)


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_resuming_without_whole_random_states_says_so(saved_run, tmp_path, capsys, damage):
    run, trainer = resumed(saved_run, tmp_path)
    states = run / "checkpoint-2" / "random_states_0.pkl"
    if damage == "missing":
        states.unlink()
    else:
        states.write_bytes(states.read_bytes()[:20])
    trainer.resume()
    assert trainer.global_step == 2
    assert f"random_states_0.pkl is {damage}" in capsys.readouterr().err


def test_a_planted_pickle_is_refused_without_torchs_advice_to_load_it(saved_run, tmp_path):
    run, trainer = resumed(saved_run, tmp_path)
    torch.save({"x": object()}, run / "checkpoint-2" / "optimizer.bin")  # a pickle of an arbitrary object
    with pytest.raises(ValueError) as err:
        trainer.resume()
    assert "pickled objects" in str(err.value) and "weights_only=False" not in str(err.value)


# -- metrics that have nothing to say say so -----------------------------------------------------------------


def test_metrics_refuse_to_score_nothing():
    from spt.evaluation.metrics import mask_ssim
    from spt.evaluation.runner import margins

    image = np.zeros((16, 16, 3), np.uint8)
    assert mask_ssim(image, image, np.zeros((16, 16), bool)) is None  # an empty mask scores nothing, not 1.0
    model = [{"pair": str(k), "ssim": 0.5 + 0.01 * k} for k in range(12)]
    other = [{"pair": str(k), "ssim": float("nan") if k < 6 else 0.4} for k in range(12)]
    out = margins({"model": model, "b": other})["b"]["ssim"]
    assert out["ahead"] == 1.0 and out["low"] is None  # the NaN pairs left out, 6 pairs left: no interval
    out = margins({"model": model, "b": [{"pair": str(k), "ssim": 0.4} for k in range(12)]})["b"]["ssim"]
    assert out["low"] is not None and out["low"] <= out["mean"] <= out["high"]


def test_pairs_that_are_not_a_number_name_the_flag(world, tmp_path):
    from spt.evaluation.runner import main as evaluate_main

    with pytest.raises(SystemExit, match="--pairs for the synthetic benchmark is a number of pairs, got '²'"):
        evaluate_main(["--model", str(world["root"] / "model"), "--pairs", "²", "--out", str(tmp_path / "e")])


def test_one_pair_writes_every_figure_and_says_what_it_cannot_compute(world, tmp_path):
    from spt.evaluation.runner import main as evaluate_main

    evaluate_main(["--model", str(world["root"] / "model"), "--pairs", "1", "--checks", "off", "--out", str(tmp_path)])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert isinstance(metrics["ssim"], float) and metrics["fid"].startswith("not computed: FID and KID need at least 2")
    assert metrics["benchmark"] == {"dataset": "synthetic", "pairs": 1, "world": "2d", "split": "test"}
    assert sorted(os.listdir(tmp_path)) == ["grid.png", "images", "metrics.json", "metrics.md"]  # no .partial left


def test_fids_real_set_holds_each_source_photo_once(world):
    """On photos (no truth) the real set is the sources: a photo asked in three poses counts once, not three times."""
    from spt.evaluation.distribution import FeatureSets
    from spt.evaluation.runner import Pair, evaluate

    a, b = world["a"], world["b"]
    sources = [{k: p[k] for k in ("image", "keypoints", "parsing")} for p in (a, b)]
    pairs = [
        Pair(f"p{i}_{k}", source, {"keypoints": target["keypoints"]})
        for i, source in enumerate(sources)
        for k, target in enumerate((a, b, a))
    ]
    result = evaluate(world["pipe"], pairs, progress=False, baselines=(), features=FeatureSets(), checks=None)
    assert result["networks"]["fid"].endswith("real set: the source images (2)")
    assert isinstance(result["fid"], float)
