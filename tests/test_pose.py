import json

import numpy as np
import pytest
import torch

from spt import pose as P


def test_heatmap_peaks_at_keypoints(front_pose):
    kp = front_pose.copy()
    kp[3] = [44.3, 54.6]  # sub-pixel: the peak is the nearest pixel centre
    maps = P.pose_heatmaps(kp, (128, 128))
    assert maps.shape == (18, 128, 128)
    for j in range(18):
        y, x = np.unravel_index(maps[j].argmax(), maps[j].shape)
        assert (x, y) == (round(kp[j, 0]), round(kp[j, 1]))
    assert maps.max() <= 1.0 and maps.min() >= 0.0


def test_missing_joint_gives_zero_map(front_pose):
    kp = front_pose.copy()
    kp[4] = -1
    maps = P.pose_heatmaps(kp, (64, 64 * 2))
    assert maps[4].sum() == 0
    assert maps[3].max() > 0.99


def test_heatmap_sigma_scales_with_height(front_pose):
    assert P.default_sigma(256) == 6.0
    assert P.default_sigma(128) == 3.0
    m = P.pose_heatmaps(front_pose, (128, 128))
    x, y = front_pose[1].astype(int)
    # exp(-d^2 / 2 sigma^2) at d = sigma is exp(-1/2)
    assert m[1, y, x + 3] == pytest.approx(np.exp(-0.5), rel=1e-4)


def test_heatmaps_batched_on_torch_match_numpy(front_pose):
    batch = torch.from_numpy(np.stack([front_pose, front_pose[::-1].copy()]))
    maps = P.pose_heatmaps(batch, (128, 128))
    assert isinstance(maps, torch.Tensor) and maps.shape == (2, 18, 128, 128)
    np.testing.assert_allclose(maps[0].numpy(), P.pose_heatmaps(front_pose, (128, 128)), atol=1e-6)


def test_pose_mask_covers_every_limb(front_pose):
    mask = P.pose_mask(front_pose, (128, 128))[0]
    assert set(np.unique(mask)) <= {0.0, 1.0}
    for a, b in P.SKELETON:
        for t in np.linspace(0, 1, 9):
            x, y = front_pose[a] * (1 - t) + front_pose[b] * t
            assert mask[int(round(y)), int(round(x))] == 1, (P.KEYPOINT_NAMES[a], P.KEYPOINT_NAMES[b])
    # the torso is filled and the corners of the frame stay empty
    assert mask[55, 64] == 1
    assert mask[2, 2] == 0 and mask[125, 125] == 0


def test_pose_mask_ignores_limbs_with_a_missing_end(front_pose):
    kp = front_pose.copy()
    kp[4] = -1  # right wrist
    mask = P.pose_mask(kp, (128, 128), dilation=0)[0]
    x, y = (front_pose[3] + 2 * front_pose[4]) / 3
    assert mask[int(y), int(x)] == 0


def _similarity(kp, angle=0.3, scale=1.2, shift=(5.0, -3.0)):
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s], [s, c]]) * scale
    centre = np.array([64.0, 64.0])
    return ((kp - centre) @ rot.T + centre + shift).astype(np.float32), rot


def test_affines_are_identity_for_equal_poses(front_pose):
    kp = torch.from_numpy(front_pose)[None]
    tr = P.part_transforms(kp, kp)
    assert tr.valid.all()
    eye = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
    torch.testing.assert_close(tr.affines[0], eye.expand(10, 2, 3), atol=1e-3, rtol=0)


def test_affine_maps_each_part_joint_onto_the_target(front_pose):
    target, _ = _similarity(front_pose)
    tr = P.part_transforms(torch.from_numpy(front_pose)[None], torch.from_numpy(target)[None])
    part_joints = {0: P.TORSO_JOINTS, 1: (1, 0, 14, 15, 16, 17), **{j: ab for j, ab in P.LIMB_JOINTS.items()}}
    for part, joints in part_joints.items():
        src = torch.from_numpy(front_pose[list(joints)])
        mapped = P.apply_affine(tr.affines[0, part], src)
        torch.testing.assert_close(mapped, torch.from_numpy(target[list(joints)]), atol=1e-2, rtol=0)


def test_limb_affine_follows_an_articulated_limb(front_pose):
    target = front_pose.copy()
    target[4] = [60, 50]  # right forearm folded up across the chest
    tr = P.part_transforms(torch.from_numpy(front_pose)[None], torch.from_numpy(target)[None])
    mapped = P.apply_affine(tr.affines[0, 3], torch.from_numpy(front_pose[[3, 4]]))
    torch.testing.assert_close(mapped, torch.from_numpy(target[[3, 4]]), atol=1e-3, rtol=0)
    # the other parts did not move
    torch.testing.assert_close(tr.affines[0, 6], torch.tensor([[1.0, 0, 0], [0, 1, 0]]), atol=1e-3, rtol=0)


def test_missing_source_limb_borrows_its_mirror(front_pose):
    src = front_pose.copy()
    src[7] = -1  # left wrist: the left forearm is missing in the source
    tr = P.part_transforms(torch.from_numpy(src)[None], torch.from_numpy(front_pose)[None])
    left_forearm = P.PART_NAMES.index("left_forearm")
    assert tr.valid[0, left_forearm]
    right = P.part_geometry(torch.from_numpy(src)[None]).polygons[0, P.MIRROR_PARTS[left_forearm]]
    torch.testing.assert_close(tr.source_polygons[0, left_forearm], right)
    # the borrowed right forearm lands on the left forearm's place
    mapped = P.apply_affine(tr.affines[0, left_forearm], torch.from_numpy(front_pose[[3, 4]]))
    torch.testing.assert_close(mapped, torch.from_numpy(front_pose[[6, 7]]), atol=1e-3, rtol=0)


def test_missing_target_part_moves_off_image(front_pose):
    tgt = front_pose.copy()
    tgt[10] = -1  # right ankle: right shin missing in the target
    src_t, tgt_t = torch.from_numpy(front_pose)[None], torch.from_numpy(tgt)[None]
    tr = P.part_transforms(src_t, tgt_t)
    shin = P.PART_NAMES.index("right_shin")
    assert not tr.valid[0, shin]
    x = torch.ones(1, 1, 128, 128)
    per_part = P.warp_parts(x, tr, reduce=None)
    assert per_part[0, shin].sum() == 0
    assert per_part[0, 0].sum() > 0


def test_warp_with_identity_affines_is_identity_on_the_parts(front_pose):
    kp = torch.from_numpy(front_pose)[None]
    tr = P.part_transforms(kp, kp)
    x = torch.rand(1, 3, 128, 128) + 0.1
    warped = P.warp_parts(x, tr)
    union = tr.source_masks((128, 128)).amax(1, keepdim=True)
    inside = union.expand_as(x) > 0
    torch.testing.assert_close(warped[inside], x[inside], atol=1e-3, rtol=0)
    assert warped[~inside].abs().max() < 1e-3


def test_warp_on_a_feature_map_of_lower_resolution(front_pose):
    target, _ = _similarity(front_pose, angle=0.0, scale=1.0, shift=(8.0, 0.0))
    tr = P.part_transforms(torch.from_numpy(front_pose)[None], torch.from_numpy(target)[None])
    feat = torch.zeros(1, 1, 32, 32)
    feat[0, 0, 12:16, 14:18] = 1.0  # a blob on the torso (image pixels ~56..72, 48..64)
    warped = P.warp_parts(feat, tr, image_size=(128, 128))
    # 8 image pixels = 2 feature pixels to the right
    assert warped[0, 0, 12:16, 16:20].mean() > 0.9
    assert warped[0, 0, 12:16, 14:16].mean() < 0.1


def test_part_masks_cover_their_joints(front_pose):
    masks = P.part_masks(front_pose, (128, 128))
    assert masks.shape == (10, 128, 128)
    for part, (a, b) in P.LIMB_JOINTS.items():
        for j in (a, b):
            x, y = front_pose[j].astype(int)
            assert masks[part, y, x] == 1, P.PART_NAMES[part]
    x, y = front_pose[0].astype(int)
    assert masks[1, y, x] == 1  # the nose lies in the head part


def test_side_view_torso_is_still_a_region(front_pose):
    kp = front_pose.copy()
    kp[[5, 11]] = kp[[2, 8]]  # shoulders and hips coincide, as in a side view
    masks = P.part_masks(kp, (128, 128))
    assert masks[0].sum() > 200


def test_patn_csv_round_trip_is_lossless(tmp_path, front_pose):
    text = (
        "name:keypoints_y:keypoints_x\n"
        "fashionWOMENDressesid0000262902_1front.jpg: [28, 54, 54, 93, 130, 56, 98, 136, 137, 204, 253, "
        "138, 206, 256, -1, -1, 26, 29]: "
        "[88, 87, 60, 57, 58, 114, 120, 124, 74, 76, 77, 108, 108, 112, -1, -1, 84, 98]\n"
        "b.jpg: ["
        + ", ".join(str(int(v)) for v in front_pose[:, 1])
        + "]: ["
        + ", ".join(str(int(v)) for v in front_pose[:, 0])
        + "]\n"
    )
    src = tmp_path / "fasion-annotation-test.csv"
    src.write_text(text)
    ann = P.read_patn_csv(src)
    assert list(ann) == ["fashionWOMENDressesid0000262902_1front.jpg", "b.jpg"]
    first = ann["fashionWOMENDressesid0000262902_1front.jpg"]
    assert first[0].tolist() == [88, 28]  # (x, y)
    assert (first[14] == -1).all()
    np.testing.assert_array_equal(ann["b.jpg"], front_pose)
    out = tmp_path / "out.csv"
    P.write_patn_csv(out, ann)
    assert out.read_text() == text


def test_patn_csv_keeps_fractional_coordinates(tmp_path, front_pose):
    kp = front_pose + 0.25
    P.write_patn_csv(tmp_path / "a.csv", {"x.jpg": kp})
    np.testing.assert_array_equal(P.read_patn_csv(tmp_path / "a.csv")["x.jpg"], kp)


def test_patn_csv_malformed_row_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name:keypoints_y:keypoints_x\na.jpg: [1, 2]: [3, 4]\n")
    with pytest.raises(ValueError, match=r"bad\.csv:2.*18"):
        P.read_patn_csv(bad)
    bad.write_text("name:keypoints_y:keypoints_x\nthis is not a row\n")
    with pytest.raises(ValueError, match=r"bad\.csv:2"):
        P.read_patn_csv(bad)
    bad.write_text("wrong header\n")
    with pytest.raises(ValueError, match="header"):
        P.read_patn_csv(bad)


def test_json_round_trip(tmp_path, front_pose):
    kp = front_pose.copy()
    kp[15] = -1
    path = tmp_path / "k.json"
    P.save_keypoints_json(path, kp, (128, 128))
    np.testing.assert_array_equal(P.load_keypoints_json(path), kp)
    assert json.loads(path.read_text())["size"] == [128, 128]


def test_openpose_json_is_read(front_pose):
    flat = []
    for j, (x, y) in enumerate(front_pose):
        flat += [float(x), float(y), 0.0 if j == 17 else 0.9]
    kp = P.keypoints_from_json(json.dumps({"people": [{"pose_keypoints_2d": flat}]}))
    assert (kp[17] == -1).all()
    np.testing.assert_array_equal(kp[:17], front_pose[:17])


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((17, 2)), "shape"),
        (np.zeros((18, 3)), "shape"),
        (np.full((18, 2), np.nan), "NaN"),
        ("not numbers", "numbers"),
    ],
)
def test_bad_keypoints_raise(bad, message):
    with pytest.raises(ValueError, match=message):
        P.validate_keypoints(bad)


def test_keypoints_outside_the_frame_raise(front_pose):
    kp = front_pose.copy()
    kp[4] = [140, 70]
    with pytest.raises(ValueError, match="right_wrist.*outside"):
        P.validate_keypoints(kp, (128, 128))
    kp[4] = [-5, 70]
    with pytest.raises(ValueError, match="outside"):
        P.validate_keypoints(kp)


def test_draw_skeleton(front_pose):
    img = P.draw_skeleton(None, front_pose, (128, 128))
    arr = np.asarray(img)
    assert img.size == (128, 128)
    x, y = front_pose[1].astype(int)
    assert arr[y, x].sum() > 0 and arr[2, 2].sum() == 0


def test_rescale_and_mirror(front_pose):
    small = P.rescale_keypoints(front_pose, (128, 128), (64, 64))
    edge = P.rescale_keypoints(np.full((18, 2), 127.0), (128, 128), (64, 64))
    assert (edge == 63).all()  # clipped into the smaller frame, not half a pixel past it
    np.testing.assert_allclose(P.rescale_keypoints(small, (64, 64), (128, 128)), front_pose, atol=1e-4)
    m = P.mirror_keypoints(front_pose, 128)
    assert m[2, 0] == 127 - front_pose[5, 0]  # the new right shoulder is the old left one, flipped
    np.testing.assert_array_equal(P.mirror_keypoints(m, 128), front_pose)


def _synthetic_transforms(shift: float = 0.0):
    from spt.data.synthetic import SyntheticPeople

    people = SyntheticPeople((128, 64), seed=0, split="test")
    src = np.stack([people.render(i, 2 * i)["keypoints"] for i in range(3)])
    tgt = np.stack([people.render(i, 2 * i + 1)["keypoints"] for i in range(3)])
    tgt = np.where(tgt >= 0, tgt + np.array([shift, 0.0], dtype=tgt.dtype), tgt)
    return P.part_transforms(torch.from_numpy(src), torch.from_numpy(tgt))


@pytest.mark.parametrize("shift", [0.0, 30.0])  # 30 px: parts land across the frame's right edge
@pytest.mark.parametrize("reduce", ["max", "sum"])
def test_cropped_warp_matches_the_frame_warp_in_values_and_gradients(reduce, shift):
    transforms = _synthetic_transforms(shift)
    masks = transforms.source_masks((128, 64))
    if reduce == "max":  # the deformable skips' masks: the torso's is the whole frame
        masks = transforms.skip_masks(masks)
    torch.manual_seed(0)
    for size in ((128, 64), (32, 16), (8, 4)):
        x = torch.randn(3, 5, *size, requires_grad=True)  # signed: a max over parts is never below a part's 0
        upstream = torch.randn(3, 5, *size)
        outs, grads = [], []
        for method in ("frame", "cropped"):
            out = P.warp_parts(x, transforms, image_size=(128, 64), masks=masks, reduce=reduce, method=method)
            (x_grad,) = torch.autograd.grad((out * upstream).sum(), x)
            outs.append(out.detach())
            grads.append(x_grad)
        torch.testing.assert_close(outs[1], outs[0], atol=1e-4, rtol=0)
        differ = ((grads[1] - grads[0]).abs() > 1e-3).float().mean()
        # A max's gradient goes to its winner; parts that tie up to rounding may pick another (a few pixels).
        assert differ == 0 if reduce == "sum" else differ < 1e-3, (size, differ)
    with torch.no_grad():  # inference takes the same path
        torch.testing.assert_close(
            P.warp_parts(x, transforms, image_size=(128, 64), masks=masks, reduce=reduce), outs[1], atol=1e-6, rtol=0
        )


def test_the_cropped_warp_samples_only_where_parts_land():
    from spt.pose.warp import _target_boxes

    transforms = _synthetic_transforms()
    masks = transforms.skip_masks(transforms.source_masks((128, 64)))
    boxes = _target_boxes(masks.amax(-1) > 0, masks.amax(-2) > 0, transforms.affines, (128, 64))
    # A part sent off the frame (missing in the target) samples nothing.
    assert ((boxes[..., 0] < 0) == ~transforms.valid | ~(masks.flatten(2).amax(-1) > 0)).all()
    limbs = boxes[:, 1:][boxes[:, 1:, 0] >= 0]
    target_area = ((limbs[:, 5] - limbs[:, 4]) * (limbs[:, 7] - limbs[:, 6])).float()
    assert target_area.mean() < 0.25 * 128 * 64  # each limb's box: a small share of the frame
    with pytest.raises(ValueError, match="method"):
        P.warp_parts(torch.zeros(3, 1, 128, 64), transforms, method="nearest")
