import json
import os

import numpy as np
import pytest
import torch

from spt.data.synthetic import SyntheticPeople
from spt.models import AppearanceGenerator, PatchDiscriminator, SemanticGenerator
from spt.models.appearance import copy_by_offset, fill_holes, part_warp, scene_plate
from spt.models.semantic import predict_parsing_logits
from spt.parsing import to_onehot
from spt.pose import part_transforms, pose_heatmaps, pose_mask, warp_parsing

TINY = dict(base_channels=8, num_downsamples=3, max_channels=32)
H, W = 64, 32


@pytest.fixture(scope="module")
def batch():
    """Two SyntheticPeople samples of one person at 64x32; flipping the batch gives each one's other pose."""
    people = SyntheticPeople((H, W), seed=0, split="train")
    samples = [people.render(1, 2), people.render(1, 3)]
    kps = torch.stack([torch.from_numpy(s["keypoints"]) for s in samples])
    images = torch.stack([torch.from_numpy(s["image"]).permute(2, 0, 1) for s in samples]).float() / 127.5 - 1
    return {
        "image": images,
        "pose": pose_heatmaps(kps, (H, W)),
        "mask": pose_mask(kps, (H, W)),
        "parsing": to_onehot(torch.stack([torch.from_numpy(s["parsing"]) for s in samples])),
        "keypoints": kps,
    }


def _semantic_inputs(b):
    return b["parsing"], b["pose"], b["mask"], b["pose"].flip(0), b["mask"].flip(0)


def _appearance_inputs(b):
    return (
        b["image"],
        b["pose"],
        b["parsing"],
        b["pose"].flip(0),
        b["parsing"].flip(0),
        b["keypoints"],
        b["keypoints"].flip(0),
    )


def test_semantic_logits_follow_the_target_pose_and_only_it(batch):
    """H_S's parsing must depend on E_P's input (the target pose): a generator that ignored P_t, or mixed up
    the batch, would give one answer for every target."""
    model = SemanticGenerator(num_res_blocks=2, **TINY).eval()
    parsing, pose, mask, target_pose, target_mask = _semantic_inputs(batch)
    with torch.no_grad():
        logits = model(parsing, pose, mask, target_pose, target_mask)
        other_target = model(parsing, pose, mask, pose, mask)  # each person to its own pose instead
        alone = model(parsing[:1], pose[:1], mask[:1], target_pose[:1], target_mask[:1])
    assert logits.shape == (2, 10, H, W) and torch.isfinite(logits).all()
    assert (logits - other_target).abs().mean() > 1e-3
    torch.testing.assert_close(alone, logits[:1], atol=1e-5, rtol=1e-4)  # no batch cross-talk


def test_warped_source_parsing_reaches_h_s(batch, tmp_path):
    """warped_source: E_P also takes f_j(S_s), the source parsing moved to the target pose. The logits must
    depend on it (a model that dropped it would answer the same for any warp), it is required, and
    ``predict_parsing_logits`` passes exactly the warp of the source parsing. A checkpoint saved before the
    field existed loads as the paper's inputs."""
    torch.manual_seed(0)
    model = SemanticGenerator(num_res_blocks=1, warped_source=True, **TINY).eval()
    args = _semantic_inputs(batch)
    kp = batch["keypoints"]
    warped = warp_parsing(batch["parsing"], part_transforms(kp, kp.flip(0)))
    with torch.no_grad():
        logits = model(*args, warped_parsing=warped)
        shifted = model(*args, warped_parsing=warped.roll(4, dims=-1))
        through_helper = predict_parsing_logits(model, batch["parsing"], kp, kp.flip(0))
    assert (logits - shifted).abs().mean() > 1e-3
    torch.testing.assert_close(through_helper, logits)
    with pytest.raises(ValueError, match="warped_parsing"):
        model(*args)
    with pytest.raises(ValueError, match=r"warped_parsing must be a \(B, 10, H, W\)"):
        model(*args, warped_parsing=warped[:, :9])

    SemanticGenerator(**TINY).save_pretrained(tmp_path / "hs")
    config = tmp_path / "hs" / "config.json"
    fields = json.loads(config.read_text())
    assert fields.pop("warped_source") is False
    config.write_text(json.dumps(fields))
    old = SemanticGenerator.from_pretrained(tmp_path / "hs")
    assert old.config.warped_source is False and old(*args).shape == (2, 10, H, W)


def test_appearance_output_shape_and_range(batch):
    model = AppearanceGenerator(num_res_blocks=1, **TINY)
    out = model(*_appearance_inputs(batch))
    assert out.shape == (2, 3, H, W)
    assert out.min() >= -1 and out.max() <= 1


def test_baseline_appearance_generator_takes_no_parsing(batch):
    """use_parsing=False (the paper's Baseline): encoders without parsing channels, parsing arguments ignored."""
    model = AppearanceGenerator(num_res_blocks=1, use_parsing=False, **TINY)
    with_parsing = model(*_appearance_inputs(batch))
    image, pose, _, target_pose, _, kp_s, kp_t = _appearance_inputs(batch)
    without = model(image, pose, None, target_pose, None, kp_s, kp_t)
    assert without.shape == (2, 3, H, W)
    torch.testing.assert_close(with_parsing, without)
    full = AppearanceGenerator(num_res_blocks=1, **TINY)
    assert sum(p.numel() for p in model.parameters()) < sum(p.numel() for p in full.parameters())
    with pytest.raises(ValueError, match="source_parsing must be"):
        full(image, pose, None, target_pose, None, kp_s, kp_t)


def test_deformable_skips_are_identity_for_equal_poses(batch):
    model = AppearanceGenerator(**TINY)
    kp = batch["keypoints"]
    transforms = part_transforms(kp, kp)
    feats = [torch.rand(2, c, H // 2**i, W // 2**i) + 0.1 for i, c in enumerate(model.source_encoder.channels)]
    skips = model.deformable_skips(feats, transforms, (H, W))
    masks = transforms.source_masks((H, W))
    full = skips[0]
    inside = masks.amax(1, keepdim=True).expand_as(full) > 0
    torch.testing.assert_close(full[inside], feats[0][inside], atol=1e-3, rtol=0)


def _warped_semantic_inputs(b):
    return (*_semantic_inputs(b), b["parsing"].flip(0))  # f_j(S_s) stands in as the target's parsing


@pytest.mark.parametrize(
    "cls, make_inputs, options",
    [
        (SemanticGenerator, _semantic_inputs, {}),
        (SemanticGenerator, _warped_semantic_inputs, {"warped_source": True}),
        (AppearanceGenerator, _appearance_inputs, {}),
    ],
)
def test_gradients_reach_every_parameter(cls, make_inputs, options, batch):
    model = cls(num_res_blocks=1, **options, **TINY)
    out = model(*make_inputs(batch))
    (out * torch.randn_like(out)).mean().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_save_and_load_round_trip(tmp_path, batch):
    model = AppearanceGenerator(num_res_blocks=1, **TINY).eval()
    model.save_pretrained(tmp_path / "ha")
    assert sorted(os.listdir(tmp_path / "ha")) == ["config.json", "diffusion_pytorch_model.safetensors"]
    loaded = AppearanceGenerator.from_pretrained(tmp_path / "ha").eval()
    assert loaded.config.base_channels == 8
    with torch.no_grad():
        torch.testing.assert_close(loaded(*_appearance_inputs(batch)), model(*_appearance_inputs(batch)))


def test_discriminator_scores_patches():
    d = PatchDiscriminator(in_channels=13, base_channels=8)
    scores = d(torch.rand(2, 13, 128, 128))
    assert scores.shape == (2, 1, 14, 14)
    with pytest.raises(ValueError, match=r"\(B, 13, H, W\)"):
        d(torch.rand(2, 3, 64, 64))


def test_bad_inputs_name_the_problem(batch):
    hs = SemanticGenerator(**TINY)
    args = list(_semantic_inputs(batch))
    args[1] = args[1][:, :17]
    with pytest.raises(ValueError, match=r"source_pose must be a \(B, 18, H, W\)"):
        hs(*args)
    args = [a[..., :60, :] for a in _semantic_inputs(batch)]
    with pytest.raises(ValueError, match="multiples of 8"):
        hs(*args)
    ha = AppearanceGenerator(**TINY)
    args = list(_appearance_inputs(batch))
    args[5] = args[5][:, :17]
    with pytest.raises(ValueError, match=r"source_keypoints must be \(2, 18, 2\)"):
        ha(*args)
    with pytest.raises(ValueError, match="norm"):
        SemanticGenerator(norm="group")


def test_tiny_semantic_overfit_lowers_the_loss(batch):
    torch.manual_seed(0)
    model = SemanticGenerator(num_res_blocks=1, **TINY)
    target = batch["parsing"].argmax(1).flip(0)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(model(*_semantic_inputs(batch)), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_mixed_precision_forward(batch):
    model = AppearanceGenerator(num_res_blocks=1, **TINY)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(*_appearance_inputs(batch))
    assert torch.isfinite(out.float()).all() and out.shape == (2, 3, H, W)


def test_deformable_skips_carry_the_scene(batch):
    """The torso's skip mask is the whole image (Deformable GAN / official SPT): features of the background
    reach the decoder, not only those inside the part polygons."""
    model = AppearanceGenerator(**TINY)
    kp = batch["keypoints"]
    transforms = part_transforms(kp, kp.flip(0))
    feats = [torch.rand(2, c, H // 2**i, W // 2**i) + 0.1 for i, c in enumerate(model.source_encoder.channels)]
    skip = model.deformable_skips(feats, transforms, (H, W))[0]
    outside = transforms.source_masks((H, W))[:, 1:].amax(1) == 0  # no limb or head polygon there
    assert outside.float().mean() > 0.5
    covered = (skip.abs().sum(1) > 0)[outside].float().mean()
    assert covered > 0.5, f"only {covered:.0%} of the background carries features"


def test_blend_output_starts_as_the_part_warp_over_the_scene(batch):
    """output='blend' at initialisation: the source person moved by the f_j where it lands, the source scene
    elsewhere, so an untrained H_A already reproduces the background."""
    model = AppearanceGenerator(num_res_blocks=1, **TINY).eval()
    image, kp_s, kp_t = batch["image"], batch["keypoints"], batch["keypoints"].flip(0)
    with torch.no_grad():
        out = model(*_appearance_inputs(batch))
    person_s = 1 - batch["parsing"][:, :1]
    person_t = 1 - batch["parsing"].flip(0)[:, :1]
    moved, coverage = part_warp(image, person_s, part_transforms(kp_s, kp_t))
    plate, valid = scene_plate(image, person_s)
    scene = ((valid > 0) & (coverage == 0) & (person_t == 0)).expand_as(out)
    person = ((coverage > 0.99) & (person_t == 1)).expand_as(out)  # outside the target person: the scene
    assert scene.float().mean() > 0.2 and person.float().mean() > 0.05
    assert (out - image)[scene].abs().max() < 0.15
    assert (out - moved)[person].abs().max() < 0.15
    render_only = AppearanceGenerator(num_res_blocks=1, output="render", **TINY).eval()
    with torch.no_grad():
        plain = render_only(*_appearance_inputs(batch))
    assert (plain - image)[scene].abs().mean() > 0.1  # the paper's head has to learn the scene


def test_part_warp_is_identity_for_equal_poses(batch):
    image, kp = batch["image"], batch["keypoints"]
    person = 1 - batch["parsing"][:, :1]
    moved, coverage = part_warp(image, person, part_transforms(kp, kp))
    inside = (coverage > 0.99).expand_as(moved)
    assert inside.float().mean() > 0.1
    torch.testing.assert_close(moved[inside], image[inside], atol=0.05, rtol=0)
    with pytest.raises(ValueError, match="output must be one of"):
        AppearanceGenerator(output="paste")


def test_filled_scene_leaves_no_ghost_where_the_source_person_stood(batch):
    """scene='filled': wherever the target parsing has no person, the output is the source scene with the
    person's hole filled from around it, whatever the weights; 'hole' (the earlier design) is not."""
    image = batch["image"]
    person_s = 1 - batch["parsing"][:, :1]
    person_t = 1 - batch["parsing"].flip(0)[:, :1]
    plate, valid = scene_plate(image, person_s)
    filled = fill_holes(plate, valid)
    left = ((person_s > 0.5) & (person_t == 0)).expand_as(image)  # where the source stood, the target not
    assert left.float().mean() > 0.01
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = AppearanceGenerator(num_res_blocks=1, **TINY).eval()
        with torch.no_grad():
            for p in model.head.parameters():
                p.normal_(0, 1.0)  # any weights: the composite does not depend on them
            out = model(*_appearance_inputs(batch))
        background = (person_t == 0).expand_as(out)
        torch.testing.assert_close(out[background], filled[background], atol=1e-5, rtol=0)
    old = AppearanceGenerator(num_res_blocks=1, scene="hole", **TINY).eval()
    with torch.no_grad():
        for p in old.head.parameters():
            p.normal_(0, 1.0)
        ghost = old(*_appearance_inputs(batch))
    assert (ghost - filled)[left].abs().mean() > 0.05
    with pytest.raises(ValueError, match="scene must be one of"):
        AppearanceGenerator(scene="inpaint")


def test_fill_holes_keeps_valid_pixels_and_fills_from_around():
    torch.manual_seed(0)
    image = torch.rand(2, 3, 37, 23) * 2 - 1
    valid = torch.ones(2, 1, 37, 23)
    valid[..., 8:30, 5:18] = 0
    filled = fill_holes(image * valid, valid)
    keep = valid.expand_as(image) > 0
    torch.testing.assert_close(filled[keep], image[keep])
    constant = torch.full((1, 3, 37, 23), 0.3)
    torch.testing.assert_close(fill_holes(constant * valid[:1], valid[:1]), constant, atol=0.01, rtol=0)
    # a left/right split scene: the hole's left half is filled from the left, the right half from the right
    split = torch.cat([torch.full((1, 3, 32, 16), -1.0), torch.full((1, 3, 32, 16), 1.0)], 3)
    hole = torch.ones(1, 1, 32, 32)
    hole[..., 8:24, 8:24] = 0
    out = fill_holes(split * hole, hole)
    assert out[..., 16, 9].mean() < -0.3 and out[..., 16, 22].mean() > 0.3
    # stripes running into the hole are carried across it (what a smooth fill would lose)
    stripes = (torch.arange(32) // 4 % 2).float().mul(2).sub(1).view(1, 1, 32, 1).expand(1, 3, 32, 32)
    carried = fill_holes(stripes * hole, hole)
    assert (carried - stripes)[..., 8:24, 8:24].abs().mean() < 0.5
    with pytest.raises(ValueError, match="RGB"):
        fill_holes(torch.zeros(1, 1, 8, 8), torch.ones(1, 1, 8, 8))


def test_copy_by_offset_restores_a_repeating_scene_and_leaves_noise_to_inpainting():
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    wall = np.tile(tile, (8, 10, 1))  # (48, 50, 3): a pattern with periods 6 and 5
    hole = np.zeros((48, 50), bool)
    hole[15:35, 18:30] = True
    filled, left = copy_by_offset(np.where(hole[..., None], 0, wall), hole)
    assert not left.any()
    np.testing.assert_array_equal(filled, wall)  # one period away, exactly
    noise = rng.integers(0, 256, (48, 50, 3), dtype=np.uint8)  # nothing in it repeats: nothing is copied
    filled, left = copy_by_offset(np.where(hole[..., None], 0, noise), hole)
    np.testing.assert_array_equal(left, hole)
    np.testing.assert_array_equal(filled[~hole], noise[~hole])
    # fill_holes brings the repeating wall back where Navier-Stokes alone would smear it
    image = torch.from_numpy(wall).permute(2, 0, 1)[None].float() / 127.5 - 1
    valid = torch.from_numpy(~hole)[None, None].float()
    torch.testing.assert_close(fill_holes(image * valid, valid), image, atol=0.01, rtol=0)
