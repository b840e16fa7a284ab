"""A small z-buffer rasteriser in torch, on the CPU and without a display: which triangle each pixel sees.

Triangles are binned by the size of their pixel bounding box; each bin tests its triangles against every
pixel centre of a box of that size at once (barycentric coordinates), and the nearest candidate per pixel
wins (a scatter-min on depth). At the sizes of this project most triangles cover a pixel or two, so the
whole mesh is a few vectorised passes.
"""

from __future__ import annotations

import torch


def rasterize(xy: torch.Tensor, depth: torch.Tensor, faces: torch.Tensor, size: tuple[int, int]):
    """Visible triangle per pixel.

    Args:
        xy: (V, 2) vertex positions in pixels (x right, y down; pixel centres at integer + 0.5).
        depth: (V,) distance along the view axis (larger is farther); vertices with depth <= 0 are behind.
        faces: (F, 3) vertex indices.
        size: (height, width).

    Returns:
        face (H, W) int64, the triangle seen (-1 where none), and bary (H, W, 3) its barycentric weights.
    """
    height, width = size
    tri = xy[faces]  # (F, 3, 2)
    z = depth[faces]
    lo = torch.floor(tri.min(1).values - 0.5).long()
    hi = torch.floor(tri.max(1).values - 0.5).long()
    lo = lo.clamp_min(0)
    hi = torch.minimum(hi, torch.tensor([width - 1, height - 1]))
    keep = (hi >= lo).all(1) & (z > 0).all(1)
    # Signed area: degenerate (zero-area) triangles cover nothing.
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    keep &= area.abs() > 1e-12
    extent = (hi - lo + 1).amax(1)
    best = torch.full((height * width,), float("inf"), dtype=depth.dtype)
    cand_pix, cand_face, cand_z, cand_w = [], [], [], []
    size_bin = 1
    ids = torch.nonzero(keep).squeeze(1)
    while len(ids):
        in_bin = extent[ids] <= size_bin
        chosen = ids[in_bin]
        ids = ids[~in_bin]
        if len(chosen):
            offs = torch.arange(size_bin)
            oy, ox = torch.meshgrid(offs, offs, indexing="ij")
            px = lo[chosen, 0, None] + ox.reshape(1, -1)  # (n, s*s)
            py = lo[chosen, 1, None] + oy.reshape(1, -1)
            inside_box = (px <= hi[chosen, 0, None]) & (py <= hi[chosen, 1, None])
            cx, cy = px.to(xy.dtype) + 0.5, py.to(xy.dtype) + 0.5
            t = tri[chosen]
            a = area[chosen, None]
            w1 = ((cx - t[:, 0, 0, None]) * e2[chosen, 1, None] - (cy - t[:, 0, 1, None]) * e2[chosen, 0, None]) / a
            w2 = (e1[chosen, 0, None] * (cy - t[:, 0, 1, None]) - e1[chosen, 1, None] * (cx - t[:, 0, 0, None])) / a
            w0 = 1 - w1 - w2
            inside = inside_box & (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
            n, m = torch.nonzero(inside, as_tuple=True)
            weights = torch.stack([w0[n, m], w1[n, m], w2[n, m]], 1)
            zc = (weights * z[chosen[n]]).sum(1)
            cand_pix.append(py[n, m] * width + px[n, m])
            cand_face.append(chosen[n])
            cand_z.append(zc)
            cand_w.append(weights)
        size_bin *= 2
    face = torch.full((height * width,), -1, dtype=torch.long)
    bary = torch.zeros((height * width, 3), dtype=xy.dtype)
    if cand_pix:
        pix, fid, zc, w = (torch.cat(c) for c in (cand_pix, cand_face, cand_z, cand_w))
        best.scatter_reduce_(0, pix, zc, reduce="amin")
        win = zc <= best[pix]
        face[pix[win]] = fid[win]
        bary[pix[win]] = w[win]
    return face.view(height, width), bary.view(height, width, 3)
