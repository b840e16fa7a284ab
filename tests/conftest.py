import os
import tempfile

# Tests never touch the network: Hub calls must fail fast (set before huggingface_hub is imported).
os.environ["HF_HUB_OFFLINE"] = "1"
# The test servers get their own Gradio upload/cache folder and temp folder (set before gradio is imported):
# shutting a test server down empties its cache, which in the shared /tmp/gradio would delete the files of a
# Space serving on the same machine.
SESSION_TEMP = tempfile.mkdtemp(prefix="spt-tests-")
os.environ["GRADIO_TEMP_DIR"] = os.path.join(SESSION_TEMP, "gradio")
tempfile.tempdir = SESSION_TEMP

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def front_pose() -> np.ndarray:
    """A hand-made front-view pose in a 128x128 frame (the person's right on the image's left)."""
    return np.array(
        [
            [64, 20],
            [64, 35],
            [50, 36],
            [44, 55],
            [40, 72],
            [78, 36],
            [84, 55],
            [88, 72],
            [56, 75],
            [55, 98],
            [54, 120],
            [72, 75],
            [73, 98],
            [74, 120],
            [61, 17],
            [67, 17],
            [57, 19],
            [71, 19],
        ],
        dtype=np.float32,
    )


def pytest_sessionfinish(session, exitstatus):
    import shutil

    shutil.rmtree(SESSION_TEMP, ignore_errors=True)
