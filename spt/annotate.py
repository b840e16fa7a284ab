"""Keypoints and parsing for a folder of your own photos, written in the PATN layout.

    python -m spt.annotate PHOTOS_DIR --out DIR [--pose auto | mediapipe | detector] [--model pretrained/spt-synthetic]
                                                [--parsing rough | hub:<repo id> | none]

The estimation is ``spt.estimation.PersonEstimator``'s, the same as the pipeline's and the Space's: keypoints
from MediaPipe's BlazePose (offline; the pose detector of ``--model`` where mediapipe is not installed), a
rough parsing inside the person mask, or a Hub human parser. Each photo's line says how many joints were
found; a photo whose essential joints (neck, a shoulder, a hip) are missing is written with a warning, and an
unreadable file is skipped with a message while the others are written.

Output (``--split``, default ``test``): ``DIR/<split>/`` the photos, ``DIR/custom-annotation-<split>.csv``
(PATN keypoints), ``DIR/parsing/<split>/<stem>.png`` (SPT-10 palette PNGs): what ``spt.data.fashion`` reads.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil

import torch
from PIL import Image

from .cli import ArgumentParser, device_problem, run
from .estimation import POSE_FRONT_ENDS, FrontEndUnavailable, PersonEstimator, detector_of, mediapipe_available
from .files import list_images
from .parsing import save_parsing
from .pose import write_patn_csv
from .processor import open_photo

logger = logging.getLogger(__name__)


def annotate(
    images_dir: str,
    out: str,
    *,
    model: str | None = None,
    pose: str = "auto",
    parsing: str = "rough",
    parsing_scheme: str = "lip20",
    split: str = "test",
    device: str = "cpu",
    progress: bool = True,
) -> dict:
    """Annotate every readable photo of ``images_dir``.

    Returns ``{"images": written, "pose": front-end, "parsing": front-end, "joints": {name: count},
    "incomplete": [names missing an essential joint], "skipped": {name: reason}}``.
    """
    from tqdm.auto import tqdm

    if not split or split in (".", "..") or any(c in split for c in "/\\:") or split != split.strip():
        raise ValueError(
            f"--split must be a plain folder name (like test or train), got {split!r}: it names a folder and a CSV "
            f"inside --out, and a path there would write outside it"
        )
    names, unusable = list_images(images_dir)
    for name, why in unusable.items():
        logger.warning("skipped %s: %s", os.path.join(images_dir, name), why)
    detector = None  # the model is loaded only when its pose detector will run
    if model is not None and (pose == "detector" or (pose == "auto" and mediapipe_available())):
        from .pipeline import SPTPipeline

        detector = detector_of(SPTPipeline.from_pretrained(model), device)
        if detector is None:
            raise FrontEndUnavailable(
                f"{model} has no pose_detector; pass a pipeline trained with the pose_detector "
                "stage (e.g. pretrained/spt-synthetic)"
            )
    estimator = PersonEstimator(pose, parsing, detector=detector, parsing_scheme=parsing_scheme, device=device)
    if estimator.fallback_reason:
        logger.warning("%s: keypoints from %s's pose detector instead", estimator.fallback_reason, model)
    os.makedirs(os.path.join(out, split), exist_ok=True)
    if estimator.parser is not None:
        os.makedirs(os.path.join(out, "parsing", split), exist_ok=True)
    annotations, joints, incomplete, skipped = {}, {}, [], dict(unusable)
    for name in tqdm(names, desc="annotating", disable=not progress):
        path = os.path.join(images_dir, name)
        try:
            image = Image.fromarray(open_photo(path))
        except (OSError, Image.DecompressionBombError) as err:
            skipped[name] = f"not a readable image ({type(err).__name__})"
            logger.warning("skipped %s: %s", path, skipped[name])
            continue
        estimate = estimator(image)
        joints[name] = len(estimate.found)
        if estimate.missing_essentials:
            incomplete.append(name)
            logger.warning("%s: %s", name, estimate.summary())
        shutil.copyfile(path, os.path.join(out, split, name))
        annotations[name] = estimate.keypoints
        if estimate.parsing is not None:
            save_parsing(os.path.join(out, "parsing", split, os.path.splitext(name)[0] + ".png"), estimate.parsing)
    write_patn_csv(os.path.join(out, f"custom-annotation-{split}.csv"), annotations)
    return {
        "images": len(annotations),
        "pose": estimator.pose_front_end,
        "parsing": estimator.parsing_front_end or "none",
        "joints": joints,
        "incomplete": incomplete,
        "skipped": skipped,
    }


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(
        prog="python -m spt.annotate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("images_dir", help="folder of photos (png, jpg, jpeg, bmp, webp)")
    parser.add_argument("--out", required=True, help="output folder, PATN layout")
    parser.add_argument(
        "--pose",
        default="auto",
        choices=POSE_FRONT_ENDS,
        help="keypoint front-end: mediapipe (BlazePose, offline), detector (the --model's pose "
        "detector) or auto (mediapipe when installed, else the detector)",
    )
    parser.add_argument(
        "--model",
        default="pretrained/spt-synthetic",
        help="SPT pipeline whose pose detector the detector front-end uses",
    )
    parser.add_argument(
        "--parsing",
        default="rough",
        help="'rough' (offline, body parts inside the person mask), 'hub:<repo id>' or 'none'",
    )
    parser.add_argument("--parsing-scheme", default="lip20", help="label scheme of a hub parser: lip20 or atr18")
    parser.add_argument("--split", default="test", help="split name of the output (its folder and CSV)")
    parser.add_argument(
        "--device",
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="device of the detector front-end and of a hub parser",
    )
    args = parser.parse_args(argv)
    problem = device_problem(args.device)
    if problem:
        parser.error(f"--device {args.device}: {problem}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        summary = annotate(
            args.images_dir,
            args.out,
            model=args.model,
            pose=args.pose,
            parsing=args.parsing,
            parsing_scheme=args.parsing_scheme,
            split=args.split,
            device=args.device,
        )
    except (FrontEndUnavailable, FileNotFoundError, ValueError) as err:
        raise SystemExit(f"error: {err}") from None
    for name, count in summary["joints"].items():
        print(f"{name}: {count}/18 joints" + (" (essential joints missing)" if name in summary["incomplete"] else ""))
    for name, reason in summary["skipped"].items():
        print(f"{name}: skipped, {reason}")
    print(
        f"annotated {summary['images']} of {len(summary['joints']) + len(summary['skipped'])} images in {args.out}: "
        f"keypoints by {summary['pose']}, parsing by {summary['parsing']}"
        + (" (rough: body parts inside the person, not the real clothes)" if summary["parsing"] == "rough" else "")
        + (f"; {len(summary['incomplete'])} without a usable person" if summary["incomplete"] else "")
        + (f"; {len(summary['skipped'])} skipped" if summary["skipped"] else "")
    )


if __name__ == "__main__":
    run(main, prog="python -m spt.annotate")
