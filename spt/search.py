"""Pseudo-label search: the target parsing S*_t that SPT trains H_S on, found among the training set.

For a source (S_s, P_s) and a candidate (S_p, P_p) the cost is

    C(s, p) = Σ_j || B^j_p · S_p  -  f_j(B^j_s · S_s) ||²

the source's 10 rigid parts B^j moved by their affines f_j (P_s -> P_p) and compared with the candidate's
parts, over one-hot parsings. The chosen candidate gives the pseudo label S*_t = S_p and the target pose
P*_t = P_p. Candidates whose pose is too close to the source's are excluded (the pair would teach nothing).

**Exact** (``exact_costs``): one warp of 10 parts per (source, candidate) pair, N x M warps; the reference.

**Fast** (``SearchIndex`` + ``match_costs``): each part of each image is resampled once into a canonical
``c x c`` frame (its quadrilateral mapped bilinearly onto the unit square). f_j maps the source quad onto
the candidate quad (exactly for limbs, whose quads are rectangles fitted by the same corners), so in the
canonical frame the warp disappears and, with v_ij the canonical contents and a_pj the candidate part's
area in pixels,

    C(s, p) ≈ Σ_j (a_pj / c²) · (|v_pj|² + |v_sj|² - 2 v_pj · v_sj)

which is three matrix products over the whole set: ``[a_p/c² · v_p] @ v_s^T`` for the cross term, and
``a_p @ |v_s|²^T`` for the source norms. Each image is encoded once (O(N)), the cost matrix is GEMMs
(O(N M D) with D = 10 parts x 10 labels x c²), computed in chunks with a running top-k, on any device.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .parsing import NUM_LABELS, to_onehot, validate_labels
from .pose import (
    MIRROR_PARTS,
    NUM_PARTS,
    is_present,
    part_geometry,
    part_masks,
    part_transforms,
    pose_mask,
    torso_scale,
    validate_keypoints,
    warp_parts,
)

INDEX_FORMAT = "spt-search-index-v1"


# --------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------


def _as_set(keypoints, parsings, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 18, 2) float keypoints and (N, H, W) long labels, validated."""
    kp = torch.as_tensor(validate_keypoints(keypoints, name=f"{name} keypoints"))
    if isinstance(parsings, torch.Tensor):
        labels = parsings.long()
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= NUM_LABELS):
            raise ValueError(f"{name} parsings have labels outside 0..{NUM_LABELS - 1}")
    else:
        labels = torch.from_numpy(validate_labels(np.asarray(parsings), name=f"{name} parsings"))
    if kp.dim() != 3 or labels.dim() != 3:
        raise ValueError(
            f"{name}: expected keypoints (N, 18, 2) and parsings (N, H, W), "
            f"got {tuple(kp.shape)} and {tuple(labels.shape)}"
        )
    if kp.shape[0] != labels.shape[0]:
        raise ValueError(f"{name}: {kp.shape[0]} keypoint sets but {labels.shape[0]} parsings")
    if kp.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    validate_keypoints(kp, tuple(labels.shape[-2:]), name=f"{name} keypoints")
    return kp, labels


def normalized_poses(keypoints: torch.Tensor) -> torch.Tensor:
    """Keypoints centred on the mean of the present joints and divided by the torso scale (missing stay NaN)."""
    kp = keypoints.float()
    present = is_present(kp)
    w = present.float()[..., None]
    centre = (kp * w).sum(1, keepdim=True) / w.sum(1, keepdim=True).clamp_min(1)
    out = (kp - centre) / torso_scale(kp)[:, None, None]
    return torch.where(present[..., None], out, torch.full_like(out, float("nan")))


def pose_distances(a: torch.Tensor, b: torch.Tensor, min_common: int = 4) -> torch.Tensor:
    """Mean distance (torso-scale units) over the joints present in both poses, (N, M) from normalised poses.

    Pairs with fewer than ``min_common`` shared joints get +inf (not comparable). Matrix products only.
    """
    ma, mb = (~torch.isnan(a[..., 0])).float(), (~torch.isnan(b[..., 0])).float()
    xa, xb = torch.nan_to_num(a), torch.nan_to_num(b)
    sq_a, sq_b = (xa**2).sum(-1), (xb**2).sum(-1)
    # Σ_k ma mb |xa - xb|² = Σ ma sq_a mb + Σ ma mb sq_b - 2 Σ (ma xa)(mb xb); distances are mean of |·|,
    # approximated by the root of the mean squared distance (same ranking for rigid offsets).
    common = ma @ mb.T
    total = (
        (ma * sq_a) @ mb.T
        + ma @ (mb * sq_b).T
        - 2 * (xa * ma[..., None]).flatten(1) @ (xb * mb[..., None]).flatten(1).T
    )
    dist = (total.clamp_min(0) / common.clamp_min(1)).sqrt()
    return torch.where(common >= min_common, dist, torch.full_like(dist, float("inf")))


# --------------------------------------------------------------------------------------------------
# The exact reference
# --------------------------------------------------------------------------------------------------


def _pair_costs(
    kp_s,
    lab_s,
    kp_c,
    lab_c,
    si: torch.Tensor,
    ci: torch.Tensor,
    *,
    normalize: bool,
    batch_size: int,
    progress: bool = False,
    device=None,
) -> torch.Tensor:
    """Exact C for the pairs (si[k], ci[k]): warp the source parts by f_j, compare with the candidate's parts.

    Over one-hot parsings and binary part masks, a pixel of part j costs ``m_c + m_s - 2 m_c m_s [l_c = l_s]``
    (m the part masks, l the labels; ``|a - b|²`` of two one-hot vectors). So the source's *label map* is
    warped (label + 1, 0 where no part lands; nearest, as the one-hot warp) instead of its 10 one-hot
    channels: the same costs at a tenth of the sampling."""
    from tqdm.auto import tqdm

    size = tuple(lab_s.shape[-2:])
    out = torch.empty(len(si))
    for start in tqdm(range(0, len(si), batch_size), desc="exact search", disable=not progress):
        s, c = si[start : start + batch_size], ci[start : start + batch_size]
        k_s, k_c = kp_s[s].to(device), kp_c[c].to(device)
        transforms = part_transforms(k_s, k_c)
        code = (lab_s[s].to(device).float() + 1)[:, None]  # (b, 1, H, W): label + 1
        moved = warp_parts(code, transforms, reduce=None, mode="nearest")[:, :, 0]  # (b, 10, H, W), 0: no part
        m_s = moved > 0
        m_c = part_masks(k_c, size) > 0.5  # (b, 10, H, W)
        same = m_c & m_s & (moved == lab_c[c].to(device)[:, None].float() + 1)
        cost = (m_c.sum((1, 2, 3)) + m_s.sum((1, 2, 3)) - 2 * same.sum((1, 2, 3))).float()
        out[start : start + batch_size] = (cost / m_c.sum((1, 2, 3)).clamp_min(1) if normalize else cost).cpu()
    return out


def exact_costs(
    source_keypoints,
    source_parsings,
    candidate_keypoints,
    candidate_parsings,
    *,
    batch_size: int = 64,
    normalize: bool = False,
    progress: bool = False,
) -> torch.Tensor:
    """C(s, p) for every pair by warping the source parts with f_j (N x M warps): the reference, (N, M).

    ``normalize`` divides each pair's cost by the candidate's total part area (mismatch per pixel).
    """
    kp_s, lab_s = _as_set(source_keypoints, source_parsings, "sources")
    kp_c, lab_c = _as_set(candidate_keypoints, candidate_parsings, "candidates")
    if tuple(lab_c.shape[-2:]) != tuple(lab_s.shape[-2:]):
        raise ValueError(f"sources are {tuple(lab_s.shape[-2:])} but candidates are {tuple(lab_c.shape[-2:])}")
    n, m = kp_s.shape[0], kp_c.shape[0]
    si, ci = torch.arange(n).repeat_interleave(m), torch.arange(m).repeat(n)
    costs = _pair_costs(kp_s, lab_s, kp_c, lab_c, si, ci, normalize=normalize, batch_size=batch_size, progress=progress)
    return costs.view(n, m)


# --------------------------------------------------------------------------------------------------
# The index and the fast costs
# --------------------------------------------------------------------------------------------------


@dataclass
class SearchIndex:
    """Per image: its parts resampled to a canonical frame. Built once per dataset, saved as safetensors.

    parts (N, 10, L * c * c) float16 canonical contents (one-hot, nearest resampled); areas (N, 10) the
    part areas in pixels (0 when the part is missing); present (N, 10); keypoints (N, 18, 2); size (H, W)
    of the parsings; canonical c.
    """

    parts: torch.Tensor
    areas: torch.Tensor
    present: torch.Tensor
    keypoints: torch.Tensor
    size: tuple[int, int]
    canonical: int

    def __len__(self) -> int:
        return self.parts.shape[0]

    @classmethod
    def build(
        cls, keypoints, parsings, *, canonical: int = 12, batch_size: int = 512, device=None, progress: bool = False
    ) -> "SearchIndex":
        kp, labels = _as_set(keypoints, parsings, "index")
        size = tuple(labels.shape[-2:])
        device = torch.device(device or "cpu")
        chunks = []
        from tqdm.auto import tqdm

        for start in tqdm(range(0, kp.shape[0], batch_size), desc="search index", disable=not progress):
            k = kp[start : start + batch_size].to(device)
            chunks.append(_encode_parts(k, to_onehot(labels[start : start + batch_size].to(device)), canonical))
        parts = torch.cat([c[0] for c in chunks]).cpu()
        areas = torch.cat([c[1] for c in chunks]).cpu()
        present = torch.cat([c[2] for c in chunks]).cpu()
        return cls(parts, areas, present, kp.float(), size, canonical)

    def save(self, path: str | os.PathLike) -> None:
        from safetensors.torch import save_file

        meta = {"format": INDEX_FORMAT, "size": json.dumps(list(self.size)), "canonical": str(self.canonical)}
        save_file(
            {
                "parts": self.parts.contiguous(),
                "areas": self.areas.contiguous(),
                "present": self.present.to(torch.uint8).contiguous(),
                "keypoints": self.keypoints.contiguous(),
            },
            os.fspath(path),
            metadata=meta,
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SearchIndex":
        from safetensors import safe_open

        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no search index at {path}; build one with SearchIndex.build(...).save(path)")
        try:
            with safe_open(path, framework="pt") as handle:
                meta = handle.metadata() or {}
                tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        except Exception as err:
            raise ValueError(f"{path} is not a readable safetensors file ({err})") from None
        if meta.get("format") != INDEX_FORMAT or set(tensors) != {"parts", "areas", "present", "keypoints"}:
            raise ValueError(f"{path} is not an SPT search index ({INDEX_FORMAT})")
        return cls(
            tensors["parts"],
            tensors["areas"],
            tensors["present"].bool(),
            tensors["keypoints"],
            tuple(json.loads(meta["size"])),
            int(meta["canonical"]),
        )


def _canonical_grid(polygons: torch.Tensor, c: int) -> torch.Tensor:
    """Pixel positions (B, 10, c, c, 2) of the canonical cell centres mapped bilinearly into each quad."""
    t = (torch.arange(c, device=polygons.device, dtype=polygons.dtype) + 0.5) / c
    v, u = torch.meshgrid(t, t, indexing="ij")  # v along edge c0->c3, u along c0->c1
    u, v = u[..., None], v[..., None]
    c0, c1, c2, c3 = (polygons[:, :, i, None, None] for i in range(4))
    return (1 - u) * (1 - v) * c0 + u * (1 - v) * c1 + u * v * c2 + (1 - u) * v * c3


def _encode_parts(kp: torch.Tensor, onehot: torch.Tensor, c: int):
    """Canonical contents (B, 10, L*c*c) float16, areas (B, 10) and presence (B, 10) of a batch."""
    b, num_labels, height, width = onehot.shape
    geo = part_geometry(kp)
    grid = _canonical_grid(geo.polygons, c)  # (B, 10, c, c, 2) pixels
    norm = torch.stack([(2 * grid[..., 0] + 1) / width - 1, (2 * grid[..., 1] + 1) / height - 1], -1)
    # Nearest, like the exact search's warp of the one-hot parsing (agrees with it more often than bilinear).
    sampled = F.grid_sample(
        onehot, norm.reshape(b, NUM_PARTS * c, c, 2), mode="nearest", padding_mode="zeros", align_corners=False
    )  # (B, L, 10*c, c)
    parts = sampled.reshape(b, num_labels, NUM_PARTS, c, c).permute(0, 2, 1, 3, 4).reshape(b, NUM_PARTS, -1)
    parts = parts * geo.present[..., None]
    areas = _polygon_areas(geo.polygons) * geo.present
    return parts.half(), areas.float(), geo.present


def _polygon_areas(polygons: torch.Tensor) -> torch.Tensor:
    x, y = polygons[..., 0], polygons[..., 1]
    return 0.5 * (x * y.roll(-1, -1) - x.roll(-1, -1) * y).sum(-1).abs()


def _source_parts(index: SearchIndex, rows: torch.Tensor, device) -> torch.Tensor:
    """Sources' canonical parts with the mirror rule: a missing part borrows its mirror's contents."""
    parts = index.parts[rows].to(device).float()
    present = index.present[rows].to(device)
    mirror = list(MIRROR_PARTS)
    use_mirror = ~present & present[:, mirror]
    return torch.where(use_mirror[..., None], parts[:, mirror], parts)


def match_costs(
    sources: SearchIndex,
    candidates: SearchIndex,
    source_rows=None,
    *,
    device=None,
    normalize: bool = False,
    candidate_chunk: int = 8192,
) -> torch.Tensor:
    """The fast C(s, p) (see the module docstring) for ``source_rows`` (default all) x all candidates."""
    _check_compatible(sources, candidates)
    device = torch.device(device or "cpu")
    rows = torch.arange(len(sources)) if source_rows is None else torch.as_tensor(source_rows)
    v_s = _source_parts(sources, rows, device)  # (n, 10, D)
    cells = sources.canonical**2
    sq_s = (v_s**2).sum(-1)  # (n, 10)
    out = []
    for start in range(0, len(candidates), candidate_chunk):
        v_c = candidates.parts[start : start + candidate_chunk].to(device).float()
        w_c = candidates.areas[start : start + candidate_chunk].to(device) / cells  # (m, 10)
        cross = v_s.flatten(1) @ (v_c * w_c[..., None]).flatten(1).T
        cost = sq_s @ w_c.T + (w_c * (v_c**2).sum(-1)).sum(-1)[None] - 2 * cross
        # Parts the target lacks are sent off-image by f_j: they cost nothing, as in the exact search.
        if normalize:
            cost = cost / candidates.areas[start : start + candidate_chunk].to(device).sum(-1).clamp_min(1)[None]
        out.append(cost.clamp_min(0))
    return torch.cat(out, 1)


def _check_compatible(a: SearchIndex, b: SearchIndex) -> None:
    if a.canonical != b.canonical or tuple(a.size) != tuple(b.size) or a.parts.shape[-1] != b.parts.shape[-1]:
        raise ValueError(f"indexes differ: size {a.size} vs {b.size}, canonical {a.canonical} vs {b.canonical}")


# --------------------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------------------


@dataclass
class PseudoLabels:
    """For each source: ``index`` (N, k) of the chosen candidates (best first, -1 if none allowed) and their
    ``cost`` (N, k); for the best one, the target pose ``target_keypoints`` P*_t (N, 18, 2), the pseudo
    label ``target_parsing`` S*_t (N, H, W) and ``target_mask`` M*_t (N, 1, H, W)."""

    index: torch.Tensor
    cost: torch.Tensor
    target_keypoints: torch.Tensor
    target_parsing: torch.Tensor
    target_mask: torch.Tensor


def find_pseudo_labels(
    sources: tuple,
    candidates: tuple,
    *,
    top_k: int = 1,
    min_pose_distance: float = 0.25,
    method: str = "fast",
    rerank: int = 32,
    normalize: bool = True,
    canonical: int = 12,
    source_index: SearchIndex | None = None,
    candidate_index: SearchIndex | None = None,
    batch_size: int = 1024,
    device=None,
    progress: bool = False,
    allow_unmatched: bool = False,
) -> PseudoLabels:
    """S*_t for each source among the candidates.

    ``sources`` and ``candidates`` are ``(keypoints (N, 18, 2), parsings (N, H, W))`` of one size. Candidates
    whose normalised pose lies within ``min_pose_distance`` (torso-scale units, ``pose_distances``) of the
    source's are excluded, and so are poses sharing fewer than 4 joints with it. ``method`` is ``"fast"``
    (canonical-frame matrix products; prebuilt indexes may be passed) or ``"exact"`` (per-pair warps).
    ``rerank``: the fast search shortlists that many candidates per source and orders them by the exact
    cost (``rerank`` warps per source instead of M); 0 keeps the fast order. ``normalize`` ranks by
    mismatch per candidate part pixel, so that candidates with fewer visible parts (close-ups) are not
    favoured for having less to compare. A source with no allowed candidate is an error, unless
    ``allow_unmatched`` (then its index is -1).
    """
    if method not in ("fast", "exact"):
        raise ValueError(f"method must be 'fast' or 'exact', got {method!r}")
    kp_s, lab_s = _as_set(*sources, "sources")
    kp_c, lab_c = _as_set(*candidates, "candidates")
    if tuple(lab_s.shape[-2:]) != tuple(lab_c.shape[-2:]):
        raise ValueError(f"sources are {tuple(lab_s.shape[-2:])} but candidates are {tuple(lab_c.shape[-2:])}")
    top_k = min(int(top_k), kp_c.shape[0])
    device = torch.device(device or "cpu")
    if method == "fast":
        source_index = source_index or SearchIndex.build(kp_s, lab_s, canonical=canonical, device=device)
        candidate_index = candidate_index or SearchIndex.build(kp_c, lab_c, canonical=canonical, device=device)
        if len(source_index) != kp_s.shape[0] or len(candidate_index) != kp_c.shape[0]:
            raise ValueError("a prebuilt index does not match its set's length")
    pose_c = normalized_poses(kp_c).to(device)
    best_i, best_c = [], []
    from tqdm.auto import tqdm

    for start in tqdm(range(0, kp_s.shape[0], batch_size), desc="pseudo-label search", disable=not progress):
        rows = torch.arange(start, min(start + batch_size, kp_s.shape[0]))
        if method == "fast":
            cost = match_costs(source_index, candidate_index, rows, device=device, normalize=normalize)
        else:
            cost = exact_costs(kp_s[rows], lab_s[rows], kp_c, lab_c, normalize=normalize).to(device)
        # Excluded: poses too close to the source's, and poses not comparable with it (inf distance).
        distance = pose_distances(normalized_poses(kp_s[rows]).to(device), pose_c)
        cost = cost.masked_fill((distance < min_pose_distance) | torch.isinf(distance), float("inf"))
        if method == "fast" and rerank > 0:
            cost = _rerank(cost, rows, kp_s, lab_s, kp_c, lab_c, max(rerank, top_k), normalize)
        values, indices = cost.topk(top_k, dim=1, largest=False)
        indices = torch.where(torch.isinf(values), torch.full_like(indices, -1), indices)
        best_i.append(indices.cpu())
        best_c.append(values.cpu())
    index, cost = torch.cat(best_i), torch.cat(best_c)
    chosen = index[:, 0]
    if (chosen < 0).any() and not allow_unmatched:
        missing = torch.nonzero(chosen < 0)[:, 0].tolist()
        raise ValueError(
            f"no candidate is allowed for sources {missing[:10]}: every candidate's pose is within "
            f"min_pose_distance={min_pose_distance} or shares fewer than 4 joints"
        )
    # Unmatched sources (index -1, allow_unmatched) get the first candidate's fields as filler.
    chosen = chosen.clamp_min(0)
    size = tuple(lab_c.shape[-2:])
    return PseudoLabels(index, cost, kp_c[chosen].float(), lab_c[chosen], pose_mask(kp_c[chosen].float(), size))


def _rerank(cost: torch.Tensor, rows: torch.Tensor, kp_s, lab_s, kp_c, lab_c, k: int, normalize: bool) -> torch.Tensor:
    """Replace the fast costs of each source's ``k`` best candidates by their exact costs; others become inf."""
    k = min(k, cost.shape[1])
    values, shortlist = cost.topk(k, dim=1, largest=False)
    allowed = torch.isfinite(values)
    si = rows[:, None].expand_as(shortlist)[allowed.cpu()].cpu()
    ci = shortlist[allowed].cpu()
    exact = _pair_costs(kp_s, lab_s, kp_c, lab_c, si, ci, normalize=normalize, batch_size=64, device=cost.device)
    out = torch.full_like(cost, float("inf"))
    rerow = torch.arange(len(rows), device=cost.device)[:, None].expand_as(shortlist)[allowed]
    out[rerow, shortlist[allowed]] = exact.to(cost.device, cost.dtype)
    return out


# --------------------------------------------------------------------------------------------------
# A pass over a datasets.Dataset
# --------------------------------------------------------------------------------------------------


def downsample_set(keypoints: np.ndarray, labels: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A set (keypoints (N, 18, 2), labels (N, H, W)) at another size: labels nearest, keypoints rescaled."""
    from PIL import Image

    from .pose import rescale_keypoints

    frame = labels.shape[-2:]
    if tuple(frame) == tuple(size):
        return keypoints, labels
    small = np.stack(
        [np.asarray(Image.fromarray(m.astype(np.uint8)).resize((size[1], size[0]), Image.NEAREST)) for m in labels]
    )
    return np.stack([rescale_keypoints(k, frame, size) for k in keypoints]), small


def dataset_arrays(
    dataset,
    *,
    keypoints_column: str = "keypoints",
    parsing_column: str = "parsing",
    size: tuple[int, int] | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints (N, 18, 2) and label maps (N, H, W) of a ``datasets.Dataset`` (parsing as Image or array),
    optionally downsampled to ``size`` (labels nearest, keypoints rescaled)."""
    from tqdm.auto import tqdm

    for column in (keypoints_column, parsing_column):
        if column not in dataset.column_names:
            raise ValueError(f"the dataset has no {column!r} column (columns: {dataset.column_names})")
    keypoints = np.asarray(dataset[keypoints_column], dtype=np.float32)
    maps = []
    for start in tqdm(range(0, len(dataset), 1000), desc="reading parsings", disable=not progress):
        batch = dataset[start : start + 1000][parsing_column]
        maps += [np.asarray(m, dtype=np.uint8) for m in batch]
    labels = np.stack(maps)
    return downsample_set(keypoints, labels, size) if size is not None else (keypoints, labels)


def add_pseudo_labels(
    dataset,
    candidates=None,
    *,
    index_path: str | os.PathLike | None = None,
    search_size: tuple[int, int] = (64, 64),
    accelerator=None,
    progress: bool = True,
    **search_kwargs,
):
    """The dataset (columns ``keypoints`` and ``parsing``, as ``make_dataset`` writes them) with the search's
    result as columns: ``pseudo_index`` (the candidate row giving S*_t and
    P*_t; -1 where no candidate is allowed), ``pseudo_cost`` and ``target_keypoints`` (P*_t in the dataset's
    pixels).

    ``candidates`` defaults to the dataset itself. The candidates' index is loaded from ``index_path`` when it
    exists there (and matches), else built and saved there. With an ``accelerate.Accelerator`` of several
    processes, the sources are split between them and the results gathered on every process.
    """
    candidates = dataset if candidates is None else candidates
    cand_kp, cand_lab = dataset_arrays(candidates, size=search_size, progress=progress)
    src_kp, src_lab = (
        (cand_kp, cand_lab) if candidates is dataset else dataset_arrays(dataset, size=search_size, progress=progress)
    )
    canonical = search_kwargs.pop("canonical", 12)
    index = None
    saved = index_path is not None and os.path.isfile(index_path)
    if accelerator is not None:
        # Every process looks before the main one may write the index, so that all take the same branch
        # (a process that found the freshly written file would skip the barrier below and hang the others).
        accelerator.wait_for_everyone()
    if saved:
        index = SearchIndex.load(index_path)
        if len(index) != len(cand_kp) or tuple(index.size) != tuple(search_size) or index.canonical != canonical:
            raise ValueError(
                f"the search index at {index_path} was built for another candidate set "
                f"({len(index)} rows at {index.size}, canonical {index.canonical}); delete it to rebuild"
            )
    if index is None:
        is_main = accelerator is None or accelerator.is_main_process
        if is_main:
            index = SearchIndex.build(cand_kp, cand_lab, canonical=canonical, progress=progress)
            if index_path is not None:
                index.save(index_path)
        if accelerator is not None:
            accelerator.wait_for_everyone()
            if not is_main:
                index = (
                    SearchIndex.load(index_path)
                    if index_path is not None
                    else SearchIndex.build(cand_kp, cand_lab, canonical=canonical)
                )
    rows = list(range(len(src_kp)))
    device = accelerator.device if accelerator is not None else search_kwargs.pop("device", None)
    if accelerator is not None and accelerator.num_processes > 1:
        with accelerator.split_between_processes(rows) as mine:
            mine = list(mine)
    else:
        mine = rows
    source_index = index if candidates is dataset else None
    if source_index is not None:
        source_index = SearchIndex(
            index.parts[mine],
            index.areas[mine],
            index.present[mine],
            index.keypoints[mine],
            index.size,
            index.canonical,
        )
    result = find_pseudo_labels(
        (src_kp[mine], src_lab[mine]),
        (cand_kp, cand_lab),
        source_index=source_index,
        candidate_index=index,
        canonical=canonical,
        device=device,
        progress=progress and (accelerator is None or accelerator.is_main_process),
        allow_unmatched=True,
        **search_kwargs,
    )
    chosen, cost = result.index[:, 0].tolist(), result.cost[:, 0].tolist()
    if accelerator is not None and accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        pairs = gather_object(list(zip(mine, chosen, cost)))
        pairs = sorted(set(pairs))
        chosen, cost = [p[1] for p in pairs], [p[2] for p in pairs]
    from datasets import Array2D

    full_kp = np.asarray(candidates["keypoints"], dtype=np.float32)
    full_kp = np.concatenate([full_kp, np.full((1, 18, 2), -1.0, dtype=np.float32)])  # row -1: unmatched
    out = dataset.add_column("pseudo_index", chosen).add_column("pseudo_cost", cost)
    return out.add_column("target_keypoints", full_kp[chosen].tolist(), feature=Array2D(shape=(18, 2), dtype="float32"))
