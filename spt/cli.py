"""The command lines' one error boundary (as ``spt.space.errors`` is the page's).

A user's mistake (a bad flag, a missing or unreadable file, a value that makes no sense: what the project raises
as ``ValueError`` or an ``OSError`` about a path, with words that name the input) prints one line,
``error: <what, which flag or file, how to fix it>``, and exits with status 2, as argparse does for a bad flag.
Anything else is a fault of the program and keeps its traceback. ``SPT_TRACEBACK=1`` shows the traceback of a
user error too.

Every command line (``train_accelerate.py``, ``python -m spt.evaluation``, ``python -m spt.annotate``,
``python -m spt.data.synthetic``, ``pretrained/write_card.py``) builds its parser with ``ArgumentParser`` and
runs its ``main`` through ``run``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

# OSErrors that are about the user's paths; others (a full disk, a broken pipe) are faults worth a traceback.
USER_OS_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, FileExistsError)
USER_ERRORS = (ValueError, *USER_OS_ERRORS)


def one_line(message: object) -> str:
    """A message on one line: its lines joined with '; ', blank ones dropped."""
    return "; ".join(line.strip() for line in str(message).splitlines() if line.strip())


def fail(message: object, prog: str | None = None) -> None:
    """Print the one line of a user error to stderr and exit with status 2."""
    prefix = f"error: {prog}: " if prog else "error: "
    print(prefix + one_line(message), file=sys.stderr)
    raise SystemExit(2)


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose errors are one line (no usage block): ``error: <prog>: <message>``, status 2."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        fail(f"{message} (see {self.prog} --help)", self.prog)


def device_problem(device: str) -> str | None:
    """Why torch cannot run on ``device`` here (None when it can)."""
    import torch

    try:
        parsed = torch.device(device)
    except RuntimeError as err:
        return f"not a device name ({err})"
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            return "no CUDA device on this machine"
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            return f"this machine has {torch.cuda.device_count()} CUDA device(s)"
    elif parsed.type not in ("cpu", "mps"):
        return f"{parsed.type!r} is not supported (cpu or cuda)"
    return None


def run(main: Callable, argv: list[str] | None = None, prog: str | None = None):
    """``main(argv)`` inside the boundary (module docstring)."""
    try:
        return main(argv)
    except SystemExit as exit_:
        if isinstance(exit_.code, str):  # raise SystemExit("message"): a user error worded by the command
            message = exit_.code.removeprefix("error: ")
            fail(message, prog)
        raise
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except USER_ERRORS as err:
        if os.environ.get("SPT_TRACEBACK"):
            raise
        fail(err, prog)


__all__ = ["ArgumentParser", "USER_ERRORS", "device_problem", "fail", "one_line", "run"]
