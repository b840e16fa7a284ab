"""The SPT networks. Each component's defining module path is part of the checkpoint format
(``model_index.json`` records it), so these modules do not move."""

from .appearance import AppearanceGenerator
from .discriminators import PatchDiscriminator
from .pose_net import PoseDetector
from .semantic import SemanticGenerator

__all__ = ["AppearanceGenerator", "PatchDiscriminator", "PoseDetector", "SemanticGenerator"]
