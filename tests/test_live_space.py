"""The Space's tests run beside a Space serving on the same machine: their test servers keep to their own Gradio
folder (``conftest.py``), so the live Space's cached files (its examples) survive the test servers' shutdown."""

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def cached_files(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_the_app_tests_leave_a_live_space_on_the_same_machine_working(tmp_path, live_space):
    # ``shared`` stands for the machine's default Gradio folder (/tmp/gradio), which both would use unset.
    shared, temp = tmp_path / "gradio", tmp_path / "tmp"
    temp.mkdir()
    with live_space(tmp_path, shared, temp) as (server, port, url):
        before = cached_files(shared)
        examples = [path for path in before if path.suffix == ".png"]
        assert examples, f"the live Space cached no example image in {shared}"
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-m", "not slow", "-p", "no:cacheprovider"]
            + ["tests/test_app.py"],
            cwd=ROOT,
            env=os.environ | {"GRADIO_TEMP_DIR": str(shared), "TMPDIR": str(temp)},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout[-3000:]
        after = cached_files(shared)
        gone = [str(path.relative_to(shared)) for path in before if after.get(path) != before[path]]
        assert not gone, f"the app tests deleted or changed the live Space's files: {gone}"
        for path in examples:  # what an example button fetches
            with urllib.request.urlopen(f"{url}gradio_api/file={path}", timeout=30) as answer:
                assert answer.status == 200 and answer.read() == before[path]
        assert server.poll() is None
