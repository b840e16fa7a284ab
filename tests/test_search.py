import numpy as np
import pytest
import torch

from spt.data.synthetic import SyntheticPeople, make_dataset
from spt.parsing import to_onehot
from spt.pose import part_transforms, warp_parsing
from spt.search import (
    SearchIndex,
    add_pseudo_labels,
    exact_costs,
    find_pseudo_labels,
    match_costs,
    normalized_poses,
    pose_distances,
)

SIZE = (64, 64)


def render_set(split, n, per=3, seed=0):
    people = SyntheticPeople(SIZE, seed=seed, split=split)
    samples = [people.render(people.identity(i // per), people.pose(i)) for i in range(n)]
    return np.stack([s["keypoints"] for s in samples]), np.stack([s["parsing"] for s in samples])


@pytest.fixture(scope="module")
def candidates():
    return render_set("train", 60)


@pytest.fixture(scope="module")
def sources():
    return render_set("test", 8)


def warped_source_candidate(kp_s, lab_s, kp_t):
    """The source parsing moved to kp_t by the part affines: the candidate the search is looking for."""
    moved = warp_parsing(
        to_onehot(torch.from_numpy(lab_s)[None].long()),
        part_transforms(torch.from_numpy(kp_s)[None], torch.from_numpy(kp_t)[None]),
    )
    return moved.argmax(1)[0].numpy().astype(np.uint8)


@pytest.mark.parametrize("method", ["fast", "exact"])
def test_the_warped_source_wins(sources, candidates, method):
    kp_s, lab_s = sources[0][:1], sources[1][:1]
    kp_c, lab_c = candidates[0].copy(), candidates[1].copy()
    target = 17
    lab_c[target] = warped_source_candidate(kp_s[0], lab_s[0], kp_c[target])
    result = find_pseudo_labels((kp_s, lab_s), (kp_c, lab_c), method=method, top_k=3)
    assert result.index[0, 0] == target
    assert result.cost[0, 0] < result.cost[0, 1]
    np.testing.assert_array_equal(result.target_parsing[0].numpy(), lab_c[target])
    np.testing.assert_allclose(result.target_keypoints[0].numpy(), kp_c[target])
    assert result.target_mask.shape == (1, 1, *SIZE)


def test_near_identical_poses_are_never_chosen(sources, candidates):
    kp_s, lab_s = sources
    # Each source's own sample is a candidate with zero cost; the pose exclusion must skip it.
    kp_c, lab_c = np.concatenate([candidates[0], kp_s]), np.concatenate([candidates[1], lab_s])
    result = find_pseudo_labels((kp_s, lab_s), (kp_c, lab_c), top_k=5, min_pose_distance=0.25)
    own = np.arange(len(kp_s)) + len(candidates[0])
    assert not (result.index.numpy() == own[:, None]).any()
    dist = pose_distances(normalized_poses(torch.from_numpy(kp_s)), normalized_poses(torch.from_numpy(kp_c)))
    chosen = result.index[:, 0]
    assert (dist[torch.arange(len(kp_s)), chosen] >= 0.25).all()
    with pytest.raises(ValueError, match="no candidate is allowed"):
        find_pseudo_labels((kp_s[:1], lab_s[:1]), (kp_s[:1], lab_s[:1]))


def test_fast_and_exact_agree(sources, candidates):
    exact = exact_costs(*sources, *candidates, normalize=True, batch_size=120)
    fast = match_costs(SearchIndex.build(*sources), SearchIndex.build(*candidates), normalize=True)
    assert np.corrcoef(exact.flatten().numpy(), fast.flatten().numpy())[0, 1] > 0.9
    # The fast choice alone is among the exact search's best three for most sources ...
    rank = (exact < exact.gather(1, fast.argmin(1, keepdim=True))).sum(1)
    assert (rank < 3).float().mean() >= 0.75
    # ... and re-ranking its shortlist exactly gives the exact top-1.
    reranked = find_pseudo_labels(sources, candidates, rerank=8)
    reference = find_pseudo_labels(sources, candidates, method="exact")
    assert (reranked.index[:, 0] == reference.index[:, 0]).float().mean() >= 0.75
    torch.testing.assert_close(reranked.cost[:, 0], reference.cost[:, 0], rtol=1e-4, atol=1e-5)


def test_results_are_deterministic(sources, candidates):
    a = find_pseudo_labels(sources, candidates, top_k=4)
    b = find_pseudo_labels(sources, candidates, top_k=4, batch_size=3)
    assert torch.equal(a.index, b.index) and torch.allclose(a.cost, b.cost, atol=1e-4)


def test_index_save_and_load_round_trip(candidates, sources, tmp_path):
    index = SearchIndex.build(*candidates)
    index.save(tmp_path / "index.safetensors")
    loaded = SearchIndex.load(tmp_path / "index.safetensors")
    assert loaded.size == SIZE and loaded.canonical == index.canonical
    for name in ("parts", "areas", "present", "keypoints"):
        assert torch.equal(getattr(loaded, name), getattr(index, name))
    a = find_pseudo_labels(sources, candidates, candidate_index=loaded)
    b = find_pseudo_labels(sources, candidates)
    assert torch.equal(a.index, b.index)
    (tmp_path / "bad.safetensors").write_bytes(b"nope")
    with pytest.raises(ValueError, match="not a readable safetensors"):
        SearchIndex.load(tmp_path / "bad.safetensors")
    with pytest.raises(FileNotFoundError, match="build one"):
        SearchIndex.load(tmp_path / "missing.safetensors")


def test_bad_input_is_refused(sources, candidates):
    kp, lab = candidates
    with pytest.raises(ValueError, match="60 keypoint sets but 59 parsings"):
        find_pseudo_labels(sources, (kp, lab[:59]))
    with pytest.raises(ValueError, match="candidates is empty"):
        find_pseudo_labels(sources, (kp[:0], lab[:0]))
    with pytest.raises(ValueError, match="but candidates are"):
        find_pseudo_labels(sources, (kp, np.pad(lab, ((0, 0), (0, 16), (0, 16)))))
    with pytest.raises(ValueError, match="unknown labels"):
        find_pseudo_labels(sources, (kp, lab + 20))
    with pytest.raises(ValueError, match="method"):
        find_pseudo_labels(sources, candidates, method="magic")


def test_dataset_pass_adds_columns_and_reuses_the_index(tmp_path):
    ds = make_dataset(num_identities=6, poses_per_identity=4, size=SIZE, seed=0, split="train", progress=False)
    index_path = tmp_path / "index.safetensors"
    out = add_pseudo_labels(ds, index_path=index_path, search_size=(32, 32), progress=False)
    assert index_path.exists()
    assert {"pseudo_index", "pseudo_cost", "target_keypoints"} <= set(out.column_names)
    chosen = np.asarray(out["pseudo_index"])
    assert ((chosen >= 0) & (chosen < len(ds)) & (chosen != np.arange(len(ds)))).all()
    np.testing.assert_allclose(np.asarray(out["target_keypoints"]), np.asarray(ds["keypoints"])[chosen])
    again = add_pseudo_labels(ds, index_path=index_path, search_size=(32, 32), progress=False)
    assert again["pseudo_index"] == out["pseudo_index"]
    with pytest.raises(ValueError, match="another candidate set"):
        add_pseudo_labels(ds.select(range(10)), index_path=index_path, search_size=(32, 32), progress=False)
