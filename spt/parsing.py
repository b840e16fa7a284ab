"""Human parsing: the SPT-10 label scheme, merges from LIP-20 and ATR-18, one-hot, colours and IO.

SPT-10 is the scheme of the official SPT code and the one every network here sees (one-hot,
``(B, 10, H, W)``): 0 background, 1 face, 2 hair, 3 upper clothes, 4 pants, 5 skirt, 6 left arm,
7 right arm, 8 left leg, 9 right leg. Left and right are the person's own.

Public parsers label in LIP-20 or ATR-18; ``merge_to_spt10`` maps them. Most labels map by a table
(hat -> hair, sunglasses -> face, coat/scarf/dress -> upper clothes, jumpsuit -> pants, shoes -> the leg
of their side). LIP's glove and socks carry no side: they join the arm (leg) of the side whose pixels
are nearest, which a table cannot express, so those two labels are resolved by a distance transform.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

SPT10_LABELS = (
    "background",
    "face",
    "hair",
    "upper_clothes",
    "pants",
    "skirt",
    "left_arm",
    "right_arm",
    "left_leg",
    "right_leg",
)
NUM_LABELS = len(SPT10_LABELS)
BACKGROUND, FACE, HAIR, UPPER_CLOTHES, PANTS, SKIRT, LEFT_ARM, RIGHT_ARM, LEFT_LEG, RIGHT_LEG = range(NUM_LABELS)

LIP20_LABELS = (
    "background",
    "hat",
    "hair",
    "glove",
    "sunglasses",
    "upper_clothes",
    "dress",
    "coat",
    "socks",
    "pants",
    "jumpsuits",
    "scarf",
    "skirt",
    "face",
    "left_arm",
    "right_arm",
    "left_leg",
    "right_leg",
    "left_shoe",
    "right_shoe",
)
ATR18_LABELS = (
    "background",
    "hat",
    "hair",
    "sunglasses",
    "upper_clothes",
    "skirt",
    "pants",
    "dress",
    "belt",
    "left_shoe",
    "right_shoe",
    "face",
    "left_leg",
    "right_leg",
    "left_arm",
    "right_arm",
    "bag",
    "scarf",
)

# Sided labels resolved by the nearest pixels of a pair of SPT-10 labels (see the module docstring).
_ARM_SIDE = (LEFT_ARM, RIGHT_ARM)
_LEG_SIDE = (LEFT_LEG, RIGHT_LEG)

# Each source label -> an SPT-10 label, or a (left, right) pair to be resolved by proximity.
LIP20_TO_SPT10 = {
    "background": BACKGROUND,
    "hat": HAIR,
    "hair": HAIR,
    "glove": _ARM_SIDE,
    "sunglasses": FACE,
    "upper_clothes": UPPER_CLOTHES,
    "dress": UPPER_CLOTHES,
    "coat": UPPER_CLOTHES,
    "socks": _LEG_SIDE,
    "pants": PANTS,
    "jumpsuits": PANTS,
    "scarf": UPPER_CLOTHES,
    "skirt": SKIRT,
    "face": FACE,
    "left_arm": LEFT_ARM,
    "right_arm": RIGHT_ARM,
    "left_leg": LEFT_LEG,
    "right_leg": RIGHT_LEG,
    "left_shoe": LEFT_LEG,
    "right_shoe": RIGHT_LEG,
}
# ATR's belt sits on the waistband: pants. Its bag does not move with any body part: background.
ATR18_TO_SPT10 = {
    "background": BACKGROUND,
    "hat": HAIR,
    "hair": HAIR,
    "sunglasses": FACE,
    "upper_clothes": UPPER_CLOTHES,
    "skirt": SKIRT,
    "pants": PANTS,
    "dress": UPPER_CLOTHES,
    "belt": PANTS,
    "left_shoe": LEFT_LEG,
    "right_shoe": RIGHT_LEG,
    "face": FACE,
    "left_leg": LEFT_LEG,
    "right_leg": RIGHT_LEG,
    "left_arm": LEFT_ARM,
    "right_arm": RIGHT_ARM,
    "bag": BACKGROUND,
    "scarf": UPPER_CLOTHES,
}


@dataclass(frozen=True)
class LabelScheme:
    name: str
    labels: tuple[str, ...]
    to_spt10: dict

    @property
    def num_labels(self) -> int:
        return len(self.labels)


SCHEMES = {
    "spt10": LabelScheme("spt10", SPT10_LABELS, {name: i for i, name in enumerate(SPT10_LABELS)}),
    "lip20": LabelScheme("lip20", LIP20_LABELS, LIP20_TO_SPT10),
    "atr18": LabelScheme("atr18", ATR18_LABELS, ATR18_TO_SPT10),
}

# SPT-10 colours: distinct, readable on white and on the person; the index is the label.
PALETTE = np.array(
    [
        (0, 0, 0),
        (255, 200, 150),
        (120, 60, 20),
        (230, 40, 40),
        (40, 80, 220),
        (200, 60, 200),
        (255, 160, 0),
        (255, 230, 0),
        (0, 180, 120),
        (0, 220, 220),
    ],
    dtype=np.uint8,
)


def get_scheme(scheme: str) -> LabelScheme:
    try:
        return SCHEMES[scheme.lower().replace("-", "").replace("_", "")]
    except KeyError:
        raise ValueError(f"unknown parsing scheme {scheme!r}; known: {sorted(SCHEMES)}") from None


def validate_labels(labels, num_labels: int = NUM_LABELS, *, name: str = "parsing") -> np.ndarray:
    """An integer label map (H, W) (or batch) with every value in [0, num_labels); else ValueError."""
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    arr = np.asarray(labels)
    if arr.ndim < 2:
        raise ValueError(f"{name} must be a label map (H, W), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise ValueError(f"{name} must hold integer labels, got non-integer floats")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer labels, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = np.unique(arr[(arr < 0) | (arr >= num_labels)])
    if bad.size:
        raise ValueError(f"{name} has unknown labels {bad.tolist()[:10]}: expected 0..{num_labels - 1}")
    return arr


def merge_to_spt10(labels, scheme: str = "lip20") -> np.ndarray:
    """Map a LIP-20 / ATR-18 / SPT-10 label map (H, W) to SPT-10 (uint8)."""
    src = get_scheme(scheme)
    arr = validate_labels(labels, src.num_labels, name=f"{src.name} parsing")
    if arr.ndim != 2:
        return np.stack([merge_to_spt10(a, scheme) for a in arr])
    lut = np.zeros(src.num_labels, dtype=np.uint8)
    sided: list[tuple[int, tuple[int, int]]] = []
    for index, name in enumerate(src.labels):
        target = src.to_spt10[name]
        if isinstance(target, tuple):
            sided.append((index, target))
        else:
            lut[index] = target
    out = lut[arr]
    for index, pair in sided:
        where = arr == index
        if where.any():
            out[where] = _nearest_side(out, where, pair)
    return out


def _nearest_side(merged: np.ndarray, where: np.ndarray, pair: tuple[int, int]) -> np.ndarray:
    """For pixels ``where``, the label of ``pair`` whose pixels are nearest.

    With neither label in the map, the image side decides: a person facing the camera has their left
    on the image's right.
    """
    left, right = pair
    have_left, have_right = (merged == left).any(), (merged == right).any()
    if not (have_left or have_right):
        xs = np.nonzero(where)[1]
        return np.where(xs >= merged.shape[1] / 2, left, right).astype(np.uint8)
    if not have_right:
        return np.full(int(where.sum()), left, dtype=np.uint8)
    if not have_left:
        return np.full(int(where.sum()), right, dtype=np.uint8)
    d_left = ndimage.distance_transform_edt(merged != left)[where]
    d_right = ndimage.distance_transform_edt(merged != right)[where]
    return np.where(d_left <= d_right, left, right).astype(np.uint8)


MIRROR_LABELS = (BACKGROUND, FACE, HAIR, UPPER_CLOTHES, PANTS, SKIRT, RIGHT_ARM, LEFT_ARM, RIGHT_LEG, LEFT_LEG)


def mirror_parsing(labels: torch.Tensor) -> torch.Tensor:
    """SPT-10 label maps (..., H, W) flipped horizontally, the left and right arms and legs swapped (the
    person's left arm seen in a mirror is a right arm): the parsing of the mirrored image."""
    table = torch.tensor(MIRROR_LABELS, device=labels.device, dtype=torch.long)
    return table[labels.long().flip(-1)].to(labels.dtype)


def to_onehot(labels, num_labels: int = NUM_LABELS) -> torch.Tensor:
    """Label maps (B, H, W) or (H, W) -> float one-hot (B, L, H, W) or (L, H, W), on the input's device."""
    if not isinstance(labels, torch.Tensor):
        labels = torch.from_numpy(validate_labels(labels, num_labels))
    elif labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_labels):
        raise ValueError(f"parsing has labels outside 0..{num_labels - 1}")
    onehot = F.one_hot(labels.long(), num_labels).float()
    return onehot.movedim(-1, -3)


def from_onehot(onehot: torch.Tensor) -> torch.Tensor:
    """Probabilities or one-hot (B, L, H, W) -> label maps (B, H, W) by argmax."""
    return onehot.argmax(-3)


def straight_through_onehot(parsing: torch.Tensor) -> torch.Tensor:
    """The one-hot of ``parsing.argmax(1)`` in the forward pass, the gradient of ``parsing`` in the backward one."""
    hard = to_onehot(from_onehot(parsing), parsing.shape[1]).to(parsing.dtype)
    return hard + parsing - parsing.detach()


def colorize(labels) -> np.ndarray:
    """SPT-10 label map (H, W) -> RGB uint8 (H, W, 3) in the palette."""
    return PALETTE[validate_labels(labels)]


def legend() -> list[tuple[str, str]]:
    """``[(label name, '#rrggbb'), …]`` in label order, e.g. for ``gr.AnnotatedImage(color_map=…)``."""
    return [(name, "#%02x%02x%02x" % tuple(int(c) for c in PALETTE[i])) for i, name in enumerate(SPT10_LABELS)]


def overlay(image, labels, alpha: float = 0.5) -> Image.Image:
    """The parsing's colours blended over ``image`` (background pixels left as they are)."""
    rgb = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image, dtype=np.float32)
    lab = validate_labels(labels)
    if rgb.shape[:2] != lab.shape:
        raise ValueError(f"image {rgb.shape[:2]} and parsing {lab.shape} differ in size")
    colors = PALETTE[lab].astype(np.float32)
    a = alpha * (lab > 0)[..., None]
    return Image.fromarray((rgb * (1 - a) + colors * a).round().astype(np.uint8))


def to_pil(labels) -> Image.Image:
    """A palette ('P') PNG-ready image: pixel values are the SPT-10 labels, shown in the palette's colours."""
    img = Image.fromarray(validate_labels(labels).astype(np.uint8), mode="P")
    img.putpalette(PALETTE.flatten().tolist())
    return img


def save_parsing(path: str | os.PathLike, labels) -> None:
    """Write an SPT-10 label map as a palette PNG (lossless; viewable in colour)."""
    to_pil(labels).save(path)


def load_parsing(path: str | os.PathLike, scheme: str = "spt10") -> np.ndarray:
    """Read a parsing (.png label values, or .npy) in ``scheme`` and return it merged to SPT-10 (H, W) uint8.

    PNGs must store labels as pixel values (mode 'L' or 'P'); an RGB colour image is refused, since
    colours do not identify labels across tools.
    """
    return merge_file_labels(read_label_map(path), scheme, path)


def merge_file_labels(labels, scheme: str, path: str | os.PathLike) -> np.ndarray:
    """``merge_to_spt10`` of a label map read from ``path`` (``read_label_map``), its errors naming the file."""
    try:
        return merge_to_spt10(labels, scheme)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def read_label_map(path: str | os.PathLike) -> np.ndarray:
    """The label values of a parsing file (.png of label indices, or .npy) as stored, in no scheme yet."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"parsing file not found: {path}")
    if str(path).endswith(".npy"):
        return np.load(path)
    with Image.open(path) as img:
        if img.mode not in ("L", "P", "I", "I;16"):
            raise ValueError(
                f"{path}: parsing PNG must store label indices (mode L or P), got mode {img.mode}; "
                "a coloured visualisation cannot be read back as labels"
            )
        return np.asarray(img)


# What the middle of the torso wears in SPT-10, whatever the scheme it was drawn in.
_TORSO_WEAR = (UPPER_CLOTHES, PANTS, SKIRT)


def torso_wear_share(labels, scheme: str, keypoints) -> float | None:
    """Among the person's pixels on the line from the neck to the middle of the hips (its middle 70%), the
    share that ``labels`` read in ``scheme`` call upper clothes, pants or skirt. None when the neck or both hips
    are missing, or the line crosses too few person pixels to tell."""
    src = get_scheme(scheme)
    kp = np.asarray(keypoints, np.float64).reshape(-1, 2)
    labels = np.asarray(labels)
    hips = [kp[i] for i in (8, 11) if (kp[i] >= 0).all()]
    if not (kp[1] >= 0).all() or not hips or labels.ndim != 2 or labels.max(initial=0) >= src.num_labels:
        return None
    steps = np.linspace(0.15, 0.85, 32)[:, None]
    points = np.round(kp[1] + steps * (np.mean(hips, 0) - kp[1])).astype(int)
    inside = (
        (points[:, 0] >= 0) & (points[:, 0] < labels.shape[1]) & (points[:, 1] >= 0) & (points[:, 1] < labels.shape[0])
    )
    # Only the sampled pixels are read, each through the scheme's table (sided labels are arms or legs: not wear).
    targets = [src.to_spt10[name] for name in src.labels]
    sampled = labels[points[inside, 1], points[inside, 0]].astype(np.int64)
    person = sampled[np.array([t != BACKGROUND for t in targets])[sampled]]
    if person.size < 8:
        return None
    return float(np.array([t in _TORSO_WEAR for t in targets])[person].mean())


def scheme_mismatch(labels, scheme: str, keypoints) -> str | None:
    """A warning when a parsing looks drawn in another scheme than ``scheme``: read in ``scheme`` the torso
    (neck to hips) is not mostly clothes while read in another scheme it clearly is, e.g. an SPT-10 map (upper
    clothes = 3) read as LIP-20 (3 = glove). Hair over a back or crossed arms lower every scheme's reading
    alike, so they do not warn. None when it fits or the pose cannot tell."""
    share = torso_wear_share(labels, scheme, keypoints)
    if share is None or share >= 0.5:
        return None
    fits = [
        name
        for name in SCHEMES
        if name != get_scheme(scheme).name and (torso_wear_share(labels, name, keypoints) or 0) >= max(0.5, share + 0.3)
    ]
    if not fits:
        return None
    return (
        f"The parsing does not look like {get_scheme(scheme).name} labels: read so, only {share:.0%} of the "
        f"torso (neck to hips) is clothes, while it reads well as {' or '.join(fits)}: choose that under "
        "'Parsing labels' if that is how it was drawn."
    )
