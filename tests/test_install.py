"""A non-editable install, used from outside the checkout: the package carries what it needs (the card template,
the LPIPS weights), and the README's Python example and ``spt.annotate`` run on it."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``pip install --no-deps --target`` of the checkout (a wheel built and installed, not a link to the
    source); the dependencies come from the running environment."""
    site = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    shutil.copytree(
        ROOT,
        build / "src",
        ignore=shutil.ignore_patterns(".git", ".venv*", "build", "*.egg-info", "__pycache__", "runs"),
        symlinks=True,
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(build / "src"),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return site


def run(code_or_args, cwd, site):
    env = os.environ | {"PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}
    env.pop("SPT_SPACE_ROOT", None)
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_installed_package_runs_the_readme_example_annotate_and_writes_a_card(installed, tmp_path):
    work = tmp_path / "elsewhere"
    for folder in ("pretrained", "examples"):
        shutil.copytree(ROOT / folder, work / folder)
    where = run("import spt, spt.training.hub as h; print(spt.__file__); print(h.TEMPLATE.is_file())", work, installed)
    assert where.returncode == 0, where.stderr
    assert where.stdout.split()[0].startswith(str(installed)) and where.stdout.split()[1] == "True"

    readme = (ROOT / "README.md").read_text()
    example = re.search(r"```python\n(.*?)```", readme.split("## Python API", 1)[1], re.DOTALL)[1]
    done = run(example, work, installed)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (work / "generated.png").is_file() and (work / "trousers.png").is_file()

    photos = work / "photos"
    photos.mkdir()
    shutil.copy(work / "examples" / "synthetic_test_id0001_pose0002.png", photos / "a.png")
    done = run(["-m", "spt.annotate", str(photos), "--out", str(work / "annotated")], work, installed)
    assert done.returncode == 0, done.stderr[-3000:]
    assert any((work / "annotated").rglob("*.csv"))

    card = run(
        "from spt.training.hub import fill_model_card; import re; t = fill_model_card.__defaults__[0]"
        ".read_text(); print(len(re.findall('{{', t)))",
        work,
        installed,
    )
    assert card.returncode == 0 and int(card.stdout) > 5, card.stderr  # the template itself, not a link
