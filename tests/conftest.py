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

import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    """A port nothing listens on now (a fixed one could meet a stale server or a stale run's workers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def free_port():
    """``free_port()``: a port nothing listens on now (``_free_port``)."""
    return _free_port


@contextmanager
def _serve_space(folder: Path, cache: Path, temp: Path):
    """``python app.py`` (the embedded model) served in its own process on a free port, with ``cache`` as its
    Gradio folder and ``temp`` as its temp folder; yields (process, port, url) once the page answers."""
    port = _free_port()
    env = os.environ | {
        "GRADIO_SERVER_PORT": str(port),
        "TMPDIR": str(temp),
        "GRADIO_TEMP_DIR": str(cache),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("SPT_MODEL", None)
    url = f"http://127.0.0.1:{port}/"
    with open(folder / "server.log", "w") as log:
        server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(url, timeout=2)
                    break
                except OSError:
                    assert server.poll() is None, (folder / "server.log").read_text()[-3000:]
                    time.sleep(1)
            yield server, port, url
        finally:
            server.terminate()
            server.wait(30)


@pytest.fixture(scope="session")
def live_space():
    """``live_space(folder, cache, temp)``: a context manager serving ``python app.py`` (``_serve_space``)."""
    return _serve_space


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
