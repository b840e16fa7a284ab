"""What bad input in a Space handler turns into, and where the Space writes the files it generates."""

from __future__ import annotations

import functools
import os
import re
import tempfile
import time

import gradio as gr
from PIL import Image

MAX_UPLOAD = "20mb"  # per file; Gradio refuses larger uploads before any handler runs


OUTPUT_MINUTES = 30  # how long a generated file the Space wrote itself (animations) is kept


_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\\/\s'\":,()]+)+[\\/]([^\\/\s'\":,()]+)")


def without_paths(text: str) -> str:
    """A message with every file path cut to its last name: the visitor sees no server folders."""
    return _PATH.sub(r"\1", text)


def user_errors(handler):
    """Turn what bad input raises inside a handler into a ``gr.Error`` the visitor can read (no server paths),
    instead of Gradio's generic "upstream app has raised an exception"."""

    @functools.wraps(handler)
    def wrapped(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except gr.Error as err:
            raise gr.Error(without_paths(str(err.message))) from None
        except Image.DecompressionBombError:
            raise gr.Error(f"The image is too large: upload one under {Image.MAX_IMAGE_PIXELS // 1_000_000} "
                           "megapixels") from None
        except (ValueError, OSError, KeyError, IndexError, TypeError) as err:
            raise gr.Error(without_paths(f"{err}" if isinstance(err, ValueError) else f"{type(err).__name__}: {err}")) from None

    return wrapped


def output_path(name: str) -> str:
    """A new file for a generated output in the Space's one output folder, where files older than
    ``OUTPUT_MINUTES`` are removed first (Gradio serves a copy from its own cache)."""
    folder = os.path.join(tempfile.gettempdir(), "spt-space-outputs")
    os.makedirs(folder, exist_ok=True)
    now = time.time()
    for old in os.scandir(folder):
        if now - old.stat().st_mtime > OUTPUT_MINUTES * 60:
            try:
                os.remove(old.path)
            except OSError:
                pass  # another worker removed it
    handle, path = tempfile.mkstemp(suffix="-" + name, dir=folder)
    os.close(handle)
    return path
