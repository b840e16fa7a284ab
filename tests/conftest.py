import os

# Tests never touch the network: Hub calls must fail fast (set before huggingface_hub is imported).
os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import pytest


@pytest.fixture
def front_pose() -> np.ndarray:
    """A hand-made front-view pose in a 128x128 frame (the person's right on the image's left)."""
    return np.array(
        [
            [64, 20], [64, 35], [50, 36], [44, 55], [40, 72], [78, 36], [84, 55], [88, 72],
            [56, 75], [55, 98], [54, 120], [72, 75], [73, 98], [74, 120],
            [61, 17], [67, 17], [57, 19], [71, 19],
        ],
        dtype=np.float32,
    )
