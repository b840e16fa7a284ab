"""What bad input in a Space handler turns into, and the files a request leaves: where the Space writes what it
generates, and the upload leftovers it removes."""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
import time

import gradio as gr
from gradio.utils import NamedString, get_upload_folder
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
            raise gr.Error(
                f"The image is too large: upload one under {Image.MAX_IMAGE_PIXELS // 1_000_000} megapixels"
            ) from None
        except (ValueError, OSError, KeyError, IndexError, TypeError) as err:
            raise gr.Error(
                without_paths(f"{err}" if isinstance(err, ValueError) else f"{type(err).__name__}: {err}")
            ) from None
        finally:
            remove_upload_leftovers()
            return_freed_memory()

    return wrapped


def on_page(handler, update=None, **on_failure):
    """A page event's handler whose bad input becomes a warning toast instead of a failed event. Gradio draws an
    "Error" box over every output of a failed event, which hides inputs that are also outputs (the pasted
    keypoints) and catches clicks until each box is closed; a toast covers nothing and fades. The outputs
    stay as they were (``gr.skip()``), except the fields of ``update`` (the handler's named tuple) given in
    ``on_failure``: functions of the message, e.g. a note saying why nothing was generated. The API events
    keep raising, so that callers get the error."""
    fields = update._fields if update is not None else None

    @functools.wraps(handler)
    def wrapped(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except gr.Error as err:
            gr.Warning(err.message, title="Not done")
            if fields is None:
                return gr.skip()
            return update(**{f: on_failure[f](err.message) if f in on_failure else gr.skip() for f in fields})

    return wrapped


class UploadedFile(gr.File):
    """``gr.File(type="filepath")`` without the empty file Gradio (6.x, ``components/file.py``) creates in its
    upload folder for every file it hands to a handler and never uses or removes."""

    def get_block_name(self) -> str:
        return "file"  # drawn by gr.File's own frontend

    def _process_single_file(self, f):
        if self.type == "filepath" and not self.file_types:
            return NamedString(f.path)
        return super()._process_single_file(f)


@functools.cache
def _malloc_trim():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def return_freed_memory() -> None:
    """Give the memory a request freed back to the system (glibc's ``malloc_trim``). Handlers run on a pool of
    threads, each with its own malloc arena that otherwise keeps what a large photo once needed: the soak test
    saw the server's RSS step up by 155 MB, for good, the first time another thread decoded a 20 Mpx upload."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


STALE_UPLOAD_S = 10  # a file in the upload folder untouched this long and not open is a leftover


def remove_upload_leftovers(folder: str | None = None, now: float | None = None) -> int:
    """Remove what uploads left loose in Gradio's upload folder: files directly in it (an upload being
    received is written there, then moved into a folder named by its hash, which is all Gradio serves) that
    no one is writing, i.e. not open in this process and unmodified for ``STALE_UPLOAD_S``; uploads the client
    abandoned halfway stay there otherwise. Where ``/proc`` cannot say what is open, the age must be an hour.
    Returns how many were removed."""
    folder = folder or get_upload_folder()
    now = time.time() if now is None else now
    try:
        loose = [entry for entry in os.scandir(folder) if entry.is_file(follow_symlinks=False)]
    except OSError:
        return 0
    if not loose:
        return 0
    try:
        open_now = {
            os.readlink(f"/proc/self/fd/{fd}")
            for fd in os.listdir("/proc/self/fd")
            if os.path.islink(f"/proc/self/fd/{fd}")
        }
        min_age = STALE_UPLOAD_S
    except OSError:
        open_now, min_age = set(), 3600
    removed = 0
    for entry in loose:
        try:
            if entry.path in open_now or now - entry.stat(follow_symlinks=False).st_mtime < min_age:
                continue
            os.remove(entry.path)
            removed += 1
        except OSError:
            pass  # removed or opened meanwhile
    return removed


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


BUSY = (
    "The Space is busy: every place in its queue is taken. Try again in a minute; nothing you sent was "
    "kept, so send the same request again."
)


class BusyAnswer:
    """ASGI middleware: when the queue refuses a job because it is full (HTTP 503 on ``…/queue/join``), the
    answer says so in words and asks the caller to retry (with ``Retry-After``), instead of Gradio's "Queue
    is full. Max size is 64 and size is 64". Every other request passes through untouched."""

    def __init__(self, app, retry_after_s: int = 60):
        self.app = app
        self.retry_after_s = retry_after_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].endswith("/queue/join"):
            return await self.app(scope, receive, send)
        replaced = False

        async def answer(message):
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 503:
                replaced = True
                body = json.dumps({"detail": BUSY}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(self.retry_after_s).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
            elif not replaced:  # the refused answer's own body is dropped
                await send(message)

        await self.app(scope, receive, answer)
