"""Pipeline inputs and outputs: images, keypoints and parsings from what users pass (PIL, numpy, torch, JSON)
to the tensors the networks take, and back (in the spirit of diffusers' ``VaeImageProcessor``).

Every function raises a ``ValueError`` that names the input (its ``name``) and says what is wrong.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch
from PIL import Image, ImageOps

from .parsing import NUM_LABELS, SCHEMES, get_scheme, merge_to_spt10, validate_labels
from .pose import KEYPOINT_NAMES, is_present, keypoints_from_json, rescale_keypoints, validate_keypoints


def uint8_to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """(..., H, W, 3) uint8 pixels -> (..., 3, H, W) float in [-1, 1]: the one conversion into the networks."""
    pixels = np.ascontiguousarray(pixels)
    if not pixels.flags.writeable:  # e.g. np.asarray of a PIL image; torch warns on read-only memory
        pixels = pixels.copy()
    return torch.from_numpy(pixels).movedim(-1, -3).float().div(127.5).sub(1)


def tensor_to_uint8(images: torch.Tensor) -> np.ndarray:
    """(..., 3, H, W) in [-1, 1] -> (..., H, W, 3) uint8: the one conversion out of them."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().movedim(-3, -1).cpu().numpy()


# A gray photo saved as JPEG (or resampled) keeps its channels within a few levels of R = G = B.
GRAYSCALE_TOLERANCE = 3 / 255
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as PIL's "L" conversion


def is_grayscale(images: torch.Tensor, tolerance: float = GRAYSCALE_TOLERANCE) -> torch.Tensor:
    """(B,) bool: which of (B, 3, H, W) images in [-1, 1] have every pixel's channels within ``tolerance``
    (in [0, 1] units) of each other."""
    spread = images.float().amax(-3) - images.float().amin(-3)  # (B, H, W), in [-1, 1] units
    return (spread <= 2 * tolerance).flatten(1).all(1)


def keep_grayscale(generated: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
    """``generated`` (B, 3, H, W) with the samples whose source is gray (``is_grayscale``) replaced by their
    luma in all three channels: a gray photo holds no colour, so any colour in its output is invented (the
    networks invent green and purple there, though the 3D world shoots some of its people in black and white)."""
    gray = is_grayscale(sources)
    if not gray.any():
        return generated
    weights = torch.tensor(LUMA, device=generated.device, dtype=generated.dtype).view(1, 3, 1, 1)
    luma = (generated * weights).sum(1, keepdim=True).expand_as(generated)
    return torch.where(gray.view(-1, 1, 1, 1).to(generated.device), luma, generated)


def postprocess(generated: torch.Tensor, output_type: str):
    """Generated (B, 3, H, W) in [-1, 1] as ``output_type``: "pt" (as is), "np" ((B, H, W, 3) float in [0, 1])
    or "pil" (a list of images)."""
    if output_type == "pt":
        return generated
    if output_type == "np":
        return ((generated.float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()
    return [Image.fromarray(pixels) for pixels in tensor_to_uint8(generated)]


_CONVERTIBLE_MODES = {"L", "LA", "P", "PA", "RGBA", "CMYK", "YCbCr", "I", "I;16", "I;16B", "I;16L", "F"}
NEUTRAL = (128, 128, 128)  # what a transparent pixel of a cut-out shows: no colour the person could take


def to_rgb(image: Image.Image) -> Image.Image:
    """An image of any mode PIL opens as 8-bit RGB, as it is meant to be seen: 16- and 32-bit greys scaled to 8
    bits (PIL's own conversion clips them, so a 16-bit photo opened pure white), and transparent pixels
    composited onto a neutral grey (PIL's conversion drops alpha and shows the colour they hide)."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        pixels = np.asarray(image, dtype=np.float64)
        if image.mode == "F":
            top = 1.0 if np.nanmax(pixels, initial=0) <= 1 else 255.0
        else:
            top = 65535.0 if image.mode.startswith("I;16") or np.max(pixels, initial=0) > 255 else 255.0
        grey = np.clip(np.nan_to_num(pixels) / top * 255 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, NEUTRAL + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


MAX_PHOTO_PIXELS = 16_000_000  # larger photos are downscaled on opening, before any model sees them


def upright(image: Image.Image) -> Image.Image:
    """The image as it is meant to be seen: turned as its EXIF orientation says (phones store portraits
    sideways with Orientation 6 or 8). Images without the tag come back as they are."""
    if image.getexif().get(0x0112, 1) == 1:
        return image
    return ImageOps.exif_transpose(image)


def open_photo(path, max_pixels: int = MAX_PHOTO_PIXELS) -> np.ndarray:
    """A photo file as upright RGB uint8 (H, W, 3), downscaled (aspect kept) when above ``max_pixels``, so
    no request decodes more than that into the models. PIL's errors (``OSError``, ``DecompressionBombError``)
    pass through for the caller to name the file."""

    def within(im):  # the image's size scaled down to max_pixels, aspect kept
        scale = (max_pixels / (im.width * im.height)) ** 0.5
        return max(1, int(im.width * scale)), max(1, int(im.height * scale))

    with Image.open(path) as im:
        if im.width * im.height > max_pixels:
            im.draft("RGB", within(im))  # JPEG: decode at a reduced size straight away
        im = upright(im)  # before resizing, which would drop the EXIF tag
        if im.width * im.height > max_pixels:
            im = im.resize(within(im), Image.BILINEAR)
        return np.asarray(to_rgb(im))


MIN_IMAGE_SIDE = 16  # below this an image holds no person to speak of


def image_to_tensor(image, name: str) -> torch.Tensor:
    """One image -> (3, H, W) float in [-1, 1], at least ``MIN_IMAGE_SIDE`` pixels each way."""
    tensor = _any_to_tensor(image, name)
    if min(tensor.shape[-2:]) < MIN_IMAGE_SIDE:
        raise ValueError(
            f"{name} is {tensor.shape[-2]}x{tensor.shape[-1]} pixels; it must be at least "
            f"{MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} to hold a person"
        )
    return tensor


def _any_to_tensor(image, name: str) -> torch.Tensor:
    if isinstance(image, Image.Image):
        image = upright(image)
        if image.mode != "RGB":
            if image.mode not in _CONVERTIBLE_MODES:
                raise ValueError(f"{name}: image mode {image.mode!r} is not supported; give an RGB image")
            warnings.warn(f"{name}: converting a {image.mode!r} image to RGB", stacklevel=4)
            image = to_rgb(image)
        image = np.asarray(image)
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"{name}: an array image must be (H, W, 3) RGB, got shape {image.shape}")
        if image.dtype == np.uint8:
            return uint8_to_tensor(image)
        if image.dtype.kind != "f" or not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
            raise ValueError(
                f"{name}: a non-uint8 array image must be float in [0, 1], got {image.dtype} "
                f"in [{image.min()}, {image.max()}]"
            )
        return torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1) * 2 - 1
    if isinstance(image, torch.Tensor):
        if image.is_meta:
            raise ValueError(f"{name} is a meta tensor (no data): pass real pixels")
        if image.dtype == torch.bool or image.is_complex():
            raise ValueError(f"{name}: a tensor image must be real numbers in [-1, 1], got {image.dtype}")
        if image.dim() != 3 or image.shape[0] != 3:
            raise ValueError(
                f"{name}: a tensor image must be (3, H, W) (or a (B, 3, H, W) batch), got {tuple(image.shape)}"
            )
        image = image.detach().float().cpu()
        if not torch.isfinite(image).all() or image.min() < -1.001 or image.max() > 1.001:
            raise ValueError(f"{name}: tensor images must be in [-1, 1], got [{image.min():.3g}, {image.max():.3g}]")
        return image.clamp(-1, 1)
    raise ValueError(f"{name}: expected a PIL image, a numpy array or a tensor, got {type(image).__name__}")


def as_list(value, name: str, kind: str) -> list:
    """Split a batch into items: lists/tuples of items, or batched arrays/tensors."""
    if value is None:
        return [None]
    if kind == "image" and isinstance(value, torch.Tensor) and value.dim() == 4:
        return list(value)
    if kind == "pose":
        if isinstance(value, (str, bytes, dict)):
            return [value]
        arr = value if isinstance(value, (np.ndarray, torch.Tensor)) else None
        if arr is None and isinstance(value, (list, tuple)) and value and not isinstance(value[0], (str, bytes, dict)):
            try:
                arr = np.asarray(value, dtype=object if _ragged(value) else np.float32)
            except (OverflowError, TypeError, ValueError) as err:
                raise ValueError(
                    f"{name}: keypoints must be pixel coordinates of shape (18, 2) or (B, 18, 2) ({err})"
                ) from None
            if arr.dtype == object:
                raise ValueError(f"{name}: keypoints must be (18, 2) or (B, 18, 2)")
        if arr is not None:
            if arr.ndim == 3 and arr.shape[0] == 0 or arr.size == 0:
                raise ValueError(f"{name} is empty: give one (18, 2) pose or a (B, 18, 2) batch")
            return list(arr) if arr.ndim == 3 else [arr]
        if isinstance(value, (list, tuple)) and not value:
            raise ValueError(f"{name} is empty: give one (18, 2) pose or a (B, 18, 2) batch")
        return list(value)
    if kind == "parsing" and isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 3:
        if value.shape[-1] == 1 and value.shape[-2] >= MIN_IMAGE_SIDE:
            return [value[..., 0]]  # one (H, W, 1) map, as image libraries write a grey image
        return list(value)
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"{name} is empty")
        return list(value)
    return [value]


def _ragged(value) -> bool:
    try:
        np.asarray(value, dtype=np.float32)
        return False
    except (ValueError, TypeError):
        return True


def read_keypoints(value, name: str, frame: tuple[int, int] | None = None) -> np.ndarray:
    """A pose from an array, a list, a tensor, JSON text or a JSON file, checked once: its shape and numbers,
    and, given ``frame`` (the image the pose is used with), that every joint lies inside it. JSON that states
    its ``"size"`` is rescaled to ``frame`` first. One with no joint at all is refused."""
    if isinstance(value, (str, bytes, dict)):
        if isinstance(value, str) and os.path.isfile(value):
            with open(value, encoding="utf-8", errors="replace") as handle:
                value = handle.read()
        try:
            value = keypoints_from_json(value, frame)
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None
    kp = validate_keypoints(value, frame, name=name)
    if not (kp[..., 0] >= 0).any():
        raise ValueError(f"{name} has no joint: all 18 are missing (-1, -1), so there is no pose to use")
    return kp


NECK, RIGHT_HIP, LEFT_HIP = (KEYPOINT_NAMES.index(name) for name in ("neck", "right_hip", "left_hip"))


def check_pose_spread(kp: np.ndarray, name: str, frame: tuple[int, int]) -> None:
    """Refuse a pose (18, 2) that draws no body: its joints all within a few pixels (4% of the frame's height), or
    its hips on its neck (a torso of no height, in any view). Each joint on its own can be valid and still say
    nothing, and the networks would draw a picture from it anyway."""
    present = kp[(kp >= 0).all(1)]
    if len(present) >= 2:
        span = float((present.max(0) - present.min(0)).max())
        if span < max(2.0, 0.04 * frame[0]):
            raise ValueError(
                f"{name}: its {len(present)} joints all lie within {span:.1f} pixels of each other in a "
                f"{frame[0]}x{frame[1]} image; a pose must spread over the body (check the keypoints' scale)"
            )
    if all(kp[j, 0] >= 0 for j in (NECK, RIGHT_HIP, LEFT_HIP)):
        height = max(float(np.linalg.norm(kp[h] - kp[NECK])) for h in (RIGHT_HIP, LEFT_HIP))
        if height < 1.0:
            raise ValueError(f"{name}: its hips lie on its neck (a torso of no height); give a pose with a body")


def check_scheme(scheme) -> str:
    """The name of the label scheme ``scheme`` (SPT-10, LIP-20, ATR-18), or a ValueError that names it."""
    if not isinstance(scheme, str):
        raise ValueError(f"parsing_scheme must be one of {sorted(SCHEMES)}, got {scheme!r}")
    return get_scheme(scheme).name


def read_labels(value, name: str, scheme: str) -> np.ndarray:
    scheme = check_scheme(scheme)  # an unknown one is named before the labels are read
    if isinstance(value, torch.Tensor):
        if value.is_meta:
            raise ValueError(f"{name} is a meta tensor (no data): pass a real label map")
        value = value.detach().cpu()
        value = value.float() if value.dtype == torch.bfloat16 else value
    if getattr(value, "dtype", None) is not None and str(value.dtype) in ("bool", "torch.bool"):
        raise ValueError(f"{name} must hold integer labels (0..{NUM_LABELS - 1} in SPT-10), got a bool mask")
    if isinstance(value, Image.Image):
        if value.mode not in ("L", "P"):
            raise ValueError(
                f"{name}: a parsing image must be a label map (mode 'L' or 'P' whose values are "
                f"labels), got mode {value.mode!r}; colour images do not identify labels"
            )
        value = np.asarray(value)
    arr = validate_labels(value, 256, name=name)
    if arr.ndim != 2:
        raise ValueError(f"{name}: a parsing must be an (H, W) label map, got shape {arr.shape}")
    return merge_to_spt10(arr, scheme) if scheme != "spt10" else validate_labels(arr, NUM_LABELS, name=name)


def broadcast(items: dict[str, list]) -> int:
    sizes = {len(v) for v in items.values() if len(v) != 1}
    if len(sizes) > 1:
        raise ValueError("batch sizes differ: " + ", ".join(f"{k}={len(v)}" for k, v in items.items()))
    return sizes.pop() if sizes else 1


def resize_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(labels.astype(np.uint8)).resize((size[1], size[0]), Image.NEAREST))


RESIZE_MODES = ("crop", "stretch")


def person_centre(keypoints=None, mask=None) -> tuple[float, float] | None:
    """(x, y) centre of the person's box: its mask where one is given and not empty, else the joints present;
    None when neither says where the person is."""
    if mask is not None and np.asarray(mask).any():
        ys, xs = np.nonzero(np.asarray(mask))
    elif keypoints is not None:
        kp = np.asarray(keypoints, np.float32).reshape(-1, 2)
        kp = kp[(kp >= 0).all(1)]
        if not len(kp):
            return None
        xs, ys = kp[:, 0], kp[:, 1]
    else:
        return None
    return float(xs.min() + xs.max()) / 2, float(ys.min() + ys.max()) / 2


class Framing:
    """How a photo of ``frame`` (H, W) is brought to the model's ``size`` (H, W): the window
    (``left``, ``top``, ``width``, ``height``) cut from it, resized to ``size``. Images go bicubic, label maps
    nearest, keypoints through the same cut and scale (joints cut off become missing); ``back`` takes
    keypoints of the model's frame to the photo's."""

    def __init__(self, frame: tuple[int, int], size: tuple[int, int], window: tuple[int, int, int, int]):
        self.frame, self.size = (int(frame[0]), int(frame[1])), (int(size[0]), int(size[1]))
        self.left, self.top, self.width, self.height = (int(v) for v in window)

    @property
    def identity(self) -> bool:
        return (self.left, self.top, self.height, self.width) == (0, 0, *self.frame) and self.frame == self.size

    def _cut(self, array: np.ndarray) -> np.ndarray:
        return array[self.top : self.top + self.height, self.left : self.left + self.width]

    def image(self, pixels: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 of the photo -> the model's frame."""
        if self.identity:
            return pixels
        cut = Image.fromarray(np.ascontiguousarray(self._cut(pixels)))
        return np.asarray(cut.resize((self.size[1], self.size[0]), Image.BICUBIC))

    def labels(self, labels: np.ndarray) -> np.ndarray:
        """(H, W) label map (or mask) of the photo -> the model's frame, nearest."""
        return labels if self.identity else resize_labels(np.ascontiguousarray(self._cut(labels)), self.size)

    def keypoints(self, keypoints) -> np.ndarray:
        """(18, 2) keypoints in the photo's pixels (as ``read_keypoints`` or ``validate_keypoints`` return them)
        -> the model's; joints outside the window become missing."""
        kp = np.array(keypoints, np.float32)
        present = is_present(kp)
        kp[present] -= (self.left, self.top)
        inside = (kp[:, 0] >= 0) & (kp[:, 0] <= self.width - 1) & (kp[:, 1] >= 0) & (kp[:, 1] <= self.height - 1)
        kp[~(present & inside)] = -1
        return rescale_keypoints(kp, (self.height, self.width), self.size)

    def back(self, keypoints) -> np.ndarray:
        """(18, 2) keypoints in the model's pixels -> the photo's."""
        kp = rescale_keypoints(keypoints, self.size, (self.height, self.width))
        kp[is_present(kp)] += (self.left, self.top)
        return kp


class SPTImageProcessor:
    """Brings photos to the model's frame, and is the one place that decides how (diffusers'
    ``VaeImageProcessor`` is the model): ``resize_mode="crop"`` (the default) cuts the largest window of the
    model's aspect ratio, centred on the person's box where it is known (``person_centre``: the mask, else the
    joints), else on the photo, then resizes it, so that nobody is squashed; ``"stretch"`` resizes the whole
    photo, as an explicit choice (a detector that must see every joint). The pipeline, the Space, the
    evaluation and the data loaders all use it, so one photo gives the same pixels whichever way it comes in.
    """

    def __init__(self, size: tuple[int, int], resize_mode: str = "crop"):
        if resize_mode not in RESIZE_MODES:
            raise ValueError(f"resize_mode must be one of {RESIZE_MODES}, got {resize_mode!r}")
        self.size = (int(size[0]), int(size[1]))
        self.resize_mode = resize_mode

    def framing(self, frame: tuple[int, int], centre: tuple[float, float] | None = None) -> Framing:
        """The window for a photo of ``frame`` (H, W), around ``centre`` (x, y) or the photo's centre."""
        h, w = int(frame[0]), int(frame[1])
        if self.resize_mode == "stretch":
            return Framing((h, w), self.size, (0, 0, w, h))
        cw = min(w, round(h * self.size[1] / self.size[0]))
        ch = min(h, round(w * self.size[0] / self.size[1]))
        cx, cy = centre if centre is not None else (w / 2, h / 2)
        left = int(np.clip(round(cx - cw / 2), 0, w - cw))
        top = int(np.clip(round(cy - ch / 2), 0, h - ch))
        return Framing((h, w), self.size, (left, top, cw, ch))

    def fit(self, image: np.ndarray, keypoints=None, parsing=None, mask=None, around_person: bool = True):
        """A photo (H, W, 3) uint8 with its keypoints, parsing and person mask (each may be None) in the model's
        frame, and the ``Framing`` used. ``around_person=False`` centres the window on the photo (DeepFashion's
        usual central crop of its white-padded 256x256 photos)."""
        centre = person_centre(keypoints, mask) if around_person else None
        framing = self.framing(image.shape[:2], centre)
        return (
            framing.image(image),
            None if keypoints is None else framing.keypoints(keypoints),
            None if parsing is None else framing.labels(parsing),
            None if mask is None else framing.labels(np.asarray(mask).astype(np.uint8)) > 0,
            framing,
        )
