"""The README's Quick start is what CI runs, and its front matter is a valid Space header."""

import re
from pathlib import Path

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
