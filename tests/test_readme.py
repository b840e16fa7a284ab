"""The README's Quick start is what CI runs, and its front matter is a valid Space header."""

import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _ci_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    return re.search(r"^SPACE_CMD='(.+)'$", ci, re.M)[1], re.search(r"^TEST_CMD='(.+)'$", ci, re.M)[1]


def test_ci_runs_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", quick, re.S)
    commands = [line for block in blocks for line in block.splitlines() if line and not line.startswith("#")]
    assert commands == list(_ci_commands())


def test_space_front_matter():
    readme = (ROOT / "README.md").read_text()
    assert readme.startswith("---\n")
    header = readme.split("---\n", 2)[1]
    fields = dict(line.split(": ", 1) for line in header.strip().splitlines())
    assert fields["sdk"] == "gradio" and fields["app_file"] == "app.py" and fields["title"]
    assert (ROOT / fields["app_file"]).exists()


def test_readme_images_exist():
    readme = (ROOT / "README.md").read_text()
    for path in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme):
        assert (ROOT / path).exists(), path


def test_the_python_api_example_runs_as_written(tmp_path, monkeypatch):
    """The README's first Python API block, run from the repository root (the files it writes go to tmp)."""
    import shutil

    readme = (ROOT / "README.md").read_text()
    api = readme.split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", api, re.S)[1]
    for folder in ("pretrained", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert Image.open("generated.png").size == (64, 128) and Image.open("parsing.png").size == (64, 128)
    predicted, edited, trousers = namespace["out"].target_parsing[0], namespace["edited"], namespace["trousers"]
    assert (predicted == 5).sum() > 100  # the example's person wears a skirt, so the edit changes something
    np.testing.assert_array_equal(edited, np.where(predicted == 5, 4, predicted))
    np.testing.assert_array_equal(trousers.target_parsing[0], edited)  # the edited layout is the one rendered
    changed = np.abs(
        np.asarray(Image.open("trousers.png"), np.int16) - np.asarray(Image.open("generated.png"), np.int16)
    )
    assert changed[predicted == 5].mean() > 2 * changed[predicted == 0].mean()  # the skirt changed, not the scene


@pytest.mark.slow
def test_the_training_quick_start_runs_as_written(tmp_path):
    """The README's training quick start, line by line in bash from the repository root, with its runs/quick
    folder moved to tmp: four stages, then the evaluation's table."""
    import subprocess
    import time

    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme.split("## Training", 1)[1], re.S)[1]
    assert "--stage e2e" in block and "python -m spt.evaluation" in block
    script = block.replace("runs/quick", str(tmp_path / "quick"))
    start = time.perf_counter()
    # About 3 minutes on an idle 2-core machine; the limit (there to catch a hang) grows with the machine's load,
    # so a shared, busy CPU slows the run without failing it.
    busy = os.getloadavg()[0] / (os.cpu_count() or 1)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600 * min(3.0, max(1.0, busy)),
        env=os.environ | {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = (tmp_path / "quick" / "eval" / "metrics.md").read_text()
    assert "| SSIM (PATN, sigma 1.5) |" in table and (tmp_path / "quick" / "e2e" / "model_index.json").exists()
    print(f"quick start: {time.perf_counter() - start:.0f} s")


def test_the_readme_is_a_front_door_whose_links_and_paths_hold():
    """At most 300 lines; every relative link of the README and of docs/ leads to a file of the repository, and
    every repository path the README names in backticks exists."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            assert path.exists() and ROOT in path.parents, (page.name, target)
    for path in re.findall(r"`((?:spt|docs|benchmarks|pretrained|tests|examples)/[\w./-]+|[\w-]+\.py)`", readme):
        assert (ROOT / path).exists(), path
