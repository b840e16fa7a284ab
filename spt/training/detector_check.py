"""The pose detector Φ's check on held-out images, and the floor a stage holds it to.

The pose loss (weight 700) steers H_A with Φ's heatmaps, and the evaluation reads the outputs' pose with it, so
a detector that does not see the joints makes both meaningless without any error. Every stage that writes a
pipeline with a detector measures it (``DetectorReport``, saved as ``DETECTOR_REPORT`` and stated in the model
card); the pose_detector stage stops below ``min_detector_pckh``, and appearance / e2e refuse such a detector.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field

from .config import TrainConfig

DETECTOR_REPORT = "pose_detector_eval.json"
logger = logging.getLogger(__name__)


class DetectorTooWeak(ValueError):
    """The pose detector is below the floor; the message gives its figure and the ways out."""


@dataclass
class DetectorReport:
    """PCKh@0.5 of a pose detector on held-out images (pooled and per joint), and the stage's final losses."""

    pckh: float
    per_joint: dict
    images: int
    held_out: str
    final_losses: dict = field(default_factory=dict)

    @classmethod
    def measure(cls, detector, config: TrainConfig, count: int = 256) -> "DetectorReport":
        from ..evaluation.detector import detector_scores
        from .data import held_out_pose_images

        images, keypoints = held_out_pose_images(config, count)
        scores = detector_scores(detector, images, keypoints)
        where = (
            f"SyntheticPeople {config.world}-world validation people, never trained on,"
            if config.dataset == "synthetic"
            else f"the test split of {config.data_dir}"
        )
        return cls(
            scores["pckh"],
            scores["per_joint"],
            scores["images"],
            f"{where} at {config.image_size[0]}x{config.image_size[1]}",
        )

    @classmethod
    def measure_or_none(cls, detector, config: TrainConfig, floor: float) -> "DetectorReport | None":
        """``measure``, or None with a warning when the dataset has no held-out images (a PATN folder without a
        test split); with a ``floor`` to hold, that is an error naming the way out instead."""
        try:
            return cls.measure(detector, config)
        except FileNotFoundError as err:
            if floor > 0:
                raise DetectorTooWeak(
                    f"the pose detector cannot be checked against --min_detector_pckh {floor:g}: "
                    f"{err}. Add the test split, or pass --min_detector_pckh 0"
                ) from None
            logger.warning("the pose detector is not measured: %s", err)
            return None

    def summary(self) -> str:
        return f"PCKh@0.5 {self.pckh:.3f} on {self.images} held-out images ({self.held_out})"

    def require(self, floor: float, user: str) -> None:
        if self.pckh < floor:
            raise DetectorTooWeak(
                f"the pose detector finds {self.summary()}, below the floor --min_detector_pckh {floor:g}: "
                f"{user} would steer H_A with a detector that does not see the pose. Train the pose_detector stage "
                "longer (--max_steps) with the foreground-weighted loss (--heatmap_foreground 10, the default), or "
                "pass --min_detector_pckh 0 to go on anyway"
            )

    @classmethod
    def load(cls, folder: str) -> "DetectorReport | None":
        path = os.path.join(folder, DETECTOR_REPORT)
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8") as handle:
            return cls(**json.load(handle))

    def save(self, folder: str) -> None:
        with open(os.path.join(folder, DETECTOR_REPORT), "w", encoding="utf-8") as handle:
            json.dump(asdict(self), handle, indent=2)
