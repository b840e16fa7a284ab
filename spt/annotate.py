"""Keypoints and parsing for a folder of your own images, written in the PATN layout.

    python -m spt.annotate IMAGES_DIR --out DIR [--pose detector --model pretrained/spt-synthetic]
                                                 [--parsing pose | hub:<repo id> | none]

Front-ends:

* pose ``detector``: the pose detector Φ of an SPT pipeline folder (``--model``), run at the pipeline's
  image size, keypoints mapped back to each image's pixels;
* parsing ``hub:<repo id>``: a Hub human parser (a ``transformers`` semantic-segmentation model with LIP-20
  or ATR-18 labels, ``--parsing-scheme``) through its normal loader; it needs ``transformers`` and Hub
  access, and says so when either is missing;
* parsing ``pose``: a rough offline fallback that paints the 10 rigid body parts from the keypoints
  (head -> face, torso and upper arms -> upper clothes, forearms -> arms, thighs -> pants, shins -> legs).
  It knows nothing of the real clothes; the output says that this front-end ran.

Output (``--split``, default ``test``): ``DIR/<split>/`` the images, ``DIR/custom-annotation-<split>.csv``
(PATN keypoints), ``DIR/parsing/<split>/<stem>.png`` (SPT-10 palette PNGs): what ``spt.data.fashion`` reads.
"""

from __future__ import annotations

import argparse
import os
import shutil

import numpy as np
import torch
from PIL import Image

from .parsing import FACE, LEFT_ARM, LEFT_LEG, PANTS, RIGHT_ARM, RIGHT_LEG, UPPER_CLOTHES, merge_to_spt10, save_parsing
from .pose import part_masks, rescale_keypoints, write_patn_csv

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
# Part index (spt.pose.PART_NAMES) -> SPT-10 label for the pose-only parsing; painted in this order.
_POSE_PARSING = ((0, UPPER_CLOTHES), (6, PANTS), (8, PANTS), (7, RIGHT_LEG), (9, LEFT_LEG), (2, UPPER_CLOTHES),
                 (4, UPPER_CLOTHES), (3, RIGHT_ARM), (5, LEFT_ARM), (1, FACE))


class FrontEndUnavailable(RuntimeError):
    """A front-end cannot load here; the message says which and what to pass instead."""


def list_images(folder: str) -> list[str]:
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"image folder not found: {folder}")
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS))
    if not names:
        raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {folder}")
    return names


class DetectorPose:
    """Keypoints from the pose detector of an SPT pipeline (a loaded one, a folder or a Hub id)."""

    name = "detector"

    def __init__(self, model, device: str = "cpu"):
        from .pipeline import SPTPipeline

        pipe = SPTPipeline.from_pretrained(model) if isinstance(model, (str, os.PathLike)) else model
        if pipe.pose_detector is None:
            raise FrontEndUnavailable(f"{model} has no pose_detector; pass a pipeline trained with the "
                                      "pose_detector stage (e.g. pretrained/spt-synthetic)")
        self.detector = pipe.pose_detector.to(device).eval()
        self.size, self.device = pipe.image_size, device

    @torch.no_grad()
    def __call__(self, images: list[Image.Image]) -> list[np.ndarray]:
        h, w = self.size
        batch = torch.stack([torch.from_numpy(np.asarray(im.convert("RGB").resize((w, h), Image.BICUBIC)).copy())
                             for im in images]).permute(0, 3, 1, 2).float().div(127.5).sub(1)
        found = self.detector.detect(batch.to(self.device)).cpu().numpy()
        return [rescale_keypoints(kp, self.size, (im.height, im.width)) for kp, im in zip(found, images)]


class PoseParsing:
    """The rough offline parsing: the rigid parts painted with a label each."""

    name = "pose"

    def __call__(self, images: list[Image.Image], keypoints: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for im, kp in zip(images, keypoints):
            masks = part_masks(kp, (im.height, im.width)) > 0.5
            labels = np.zeros((im.height, im.width), np.uint8)
            for part, label in _POSE_PARSING:
                labels[masks[part]] = label
            out.append(labels)
        return out


class HubParsing:
    """A Hub semantic-segmentation human parser through ``transformers``' normal loader."""

    def __init__(self, repo_id: str, scheme: str = "lip20", device: str = "cpu"):
        self.name = f"hub:{repo_id}"
        try:
            from transformers import AutoImageProcessor, AutoModelForSemanticSegmentation
        except ImportError:
            raise FrontEndUnavailable("the hub parsing front-end needs `pip install transformers`; "
                                      "or pass --parsing pose (rough, offline)") from None
        try:
            self.processor = AutoImageProcessor.from_pretrained(repo_id)
            self.model = AutoModelForSemanticSegmentation.from_pretrained(repo_id).to(device).eval()
        except Exception as err:
            raise FrontEndUnavailable(f"could not load the human parser {repo_id!r} from the Hub ({type(err).__name__}); "
                                      "pass --parsing pose (rough, offline) or upload parsing maps yourself") from None
        self.scheme, self.device = scheme, device

    @torch.no_grad()
    def __call__(self, images: list[Image.Image], keypoints: list[np.ndarray]) -> list[np.ndarray]:
        inputs = self.processor(images=[im.convert("RGB") for im in images], return_tensors="pt").to(self.device)
        logits = self.model(**inputs).logits
        out = []
        for im, logit in zip(images, logits):
            up = torch.nn.functional.interpolate(logit[None], size=(im.height, im.width), mode="bilinear")
            out.append(merge_to_spt10(up.argmax(1)[0].cpu().numpy(), self.scheme))
        return out


def make_parsing_front_end(spec: str, scheme: str, device: str):
    if spec == "pose":
        return PoseParsing()
    if spec.startswith("hub:"):
        return HubParsing(spec[4:], scheme, device)
    if spec == "none":
        return None
    raise ValueError(f"unknown parsing front-end {spec!r}: use 'pose', 'hub:<repo id>' or 'none'")


def annotate(images_dir: str, out: str, *, model: str, parsing: str = "pose", parsing_scheme: str = "lip20",
             split: str = "test", batch_size: int = 16, device: str = "cpu", progress: bool = True) -> dict:
    """Annotate every image of ``images_dir``; returns ``{"images": n, "pose": name, "parsing": name}``."""
    from tqdm.auto import tqdm

    names = list_images(images_dir)
    pose = DetectorPose(model, device)
    parser = make_parsing_front_end(parsing, parsing_scheme, device)
    os.makedirs(os.path.join(out, split), exist_ok=True)
    if parser is not None:
        os.makedirs(os.path.join(out, "parsing", split), exist_ok=True)
    annotations = {}
    for start in tqdm(range(0, len(names), batch_size), desc="annotating", disable=not progress):
        chunk = names[start:start + batch_size]
        images = []
        for name in chunk:
            try:
                with Image.open(os.path.join(images_dir, name)) as im:
                    images.append(im.convert("RGB"))
            except OSError as err:
                raise ValueError(f"{os.path.join(images_dir, name)} is not a readable image: {err}") from None
        keypoints = pose(images)
        labels = parser(images, keypoints) if parser is not None else [None] * len(images)
        for name, kp, lab in zip(chunk, keypoints, labels):
            shutil.copyfile(os.path.join(images_dir, name), os.path.join(out, split, name))
            annotations[name] = kp
            if lab is not None:
                save_parsing(os.path.join(out, "parsing", split, os.path.splitext(name)[0] + ".png"), lab)
    write_patn_csv(os.path.join(out, f"custom-annotation-{split}.csv"), annotations)
    return {"images": len(names), "pose": pose.name, "parsing": parser.name if parser is not None else "none"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m spt.annotate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images_dir")
    parser.add_argument("--out", required=True)
    parser.add_argument("--pose", default="detector", choices=["detector"])
    parser.add_argument("--model", default="pretrained/spt-synthetic", help="SPT pipeline whose pose detector to use")
    parser.add_argument("--parsing", default="pose", help="'pose' (rough, offline), 'hub:<repo id>' or 'none'")
    parser.add_argument("--parsing-scheme", default="lip20", help="label scheme of a hub parser: lip20 or atr18")
    parser.add_argument("--split", default="test")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    try:
        summary = annotate(args.images_dir, args.out, model=args.model, parsing=args.parsing,
                           parsing_scheme=args.parsing_scheme, split=args.split, batch_size=args.batch_size,
                           device=args.device)
    except FrontEndUnavailable as err:
        raise SystemExit(f"error: {err}") from None
    print(f"annotated {summary['images']} images in {args.out}: keypoints by the {summary['pose']} front-end, "
          f"parsing by the {summary['parsing']} front-end"
          + (" (rough: body parts from the keypoints, not the real clothes)" if summary["parsing"] == "pose" else ""))


if __name__ == "__main__":
    main()
