"""The command lines' one error boundary (spt.cli): a user's mistake is one line on stderr and exit status 2; a
fault of the program keeps its traceback. Each command line is run as ``python <it>`` runs it (its
``__main__``), in this process, with one mistake and with one planted fault."""

import os
import runpy
import subprocess
import sys
import warnings

import pytest

from spt.cli import run

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def as_main(target: str):
    """Run a command line's ``__main__`` as ``python -m`` / ``python file.py`` would."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "found in sys.modules": it is, and is run again
        if target.endswith(".py"):
            runpy.run_path(os.path.join(ROOT, target), run_name="__main__")
        else:
            runpy.run_module(target, run_name="__main__", alter_sys=True)


# (command line, arguments with one user mistake, what its line says, what to break for a fault, its argv)
COMMANDS = [
    (
        "train_accelerate.py",
        ["--stage", "semantic", "--adam_beta1", "5", "--log_with", "none"],
        "adam_beta1 must be in",
        "spt.training.train",
        ["--stage", "pose_detector", "--log_with", "none"],
    ),
    (
        "spt.evaluation",
        ["--model", "no/such/folder"],
        "no/such/folder is not an SPT pipeline folder",
        "spt.pipeline.SPTPipeline.from_pretrained",
        ["--model", "pretrained/spt-synthetic"],
    ),
    (
        "spt.annotate",
        ["/no/such/photos", "--out", "x", "--pose", "detector"],
        "image folder not found: /no/such/photos",
        "spt.files.list_images",
        [ROOT, "--out", "x"],
    ),
    (
        "spt.data.synthetic",
        ["--grid", "g.png", "--identities", "0"],
        "--identities must be between 1 and",
        "spt.data.synthetic.cli.make_people",
        ["--grid", "g.png"],
    ),
    (
        "pretrained/write_card.py",
        ["only-one-argument"],
        "the following arguments are required: eval_dir",
        "spt.training.config.TrainConfig.from_file",
        [os.path.join(ROOT, "pretrained", "spt-synthetic"), "eval"],
    ),
]


@pytest.mark.parametrize("command, argv, message, _fault, _argv", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_user_error_is_one_line_and_status_2(command, argv, message, _fault, _argv, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [command, *argv])
    with pytest.raises(SystemExit) as exit_:
        as_main(command)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("W0000", "INFO:", "Warp", " "))]
    assert exit_.value.code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert "Traceback" not in err


@pytest.mark.parametrize("command, _argv, _message, fault, argv", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_fault_keeps_its_traceback(command, _argv, _message, fault, argv, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [command, *argv])

    def broken(*args, **kwargs):
        raise RuntimeError("a planted fault")

    monkeypatch.setattr(fault, broken)
    with pytest.raises(RuntimeError, match="a planted fault"):  # not turned into a line and an exit status
        as_main(command)


def test_the_boundary_itself(capsys, monkeypatch):
    def mistake(argv):
        raise ValueError("--flag x: first line\n  second line")

    with pytest.raises(SystemExit) as exit_:
        run(mistake, [], prog="prog")
    assert exit_.value.code == 2 and capsys.readouterr().err == "error: prog: --flag x: first line; second line\n"
    with pytest.raises(SystemExit) as exit_:
        run(lambda argv: (_ for _ in ()).throw(SystemExit("error: worded by the command")), [])
    assert exit_.value.code == 2 and capsys.readouterr().err == "error: worded by the command\n"
    with pytest.raises(KeyError):
        run(lambda argv: {}["fault"], [])
    monkeypatch.setenv("SPT_TRACEBACK", "1")
    with pytest.raises(ValueError):  # a user error's traceback, on request
        run(mistake, [])


def test_the_real_command_line_prints_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "spt.data.synthetic", "--grid", "g.png", "--size", "20000", "20000"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: python -m spt.data.synthetic: --size must be")
