"""Reading folders of photos and writing results without losing anything: the helpers the evaluation, annotate
and the model card share."""

from __future__ import annotations

import contextlib
import os
import stat

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def list_images(folder: str | os.PathLike) -> tuple[list[str], dict[str, str]]:
    """The photos of ``folder`` that can be read, sorted, and the others with why.

    Only regular files are read (a FIFO or a device named ``*.jpg`` would block the read; a symlink loop or a
    dangling link has nothing to read); only names that are valid UTF-8 and hold no ':' or line break (the PATN
    CSV separates its fields with ':' and its rows with newlines, and its text is UTF-8). Two photos whose names
    differ only in their extension are refused with both names: everything written per photo is named by its
    stem, so one would overwrite the other."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"image folder not found: {folder}")
    names, skipped = [], {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        name = entry.name
        if not name.lower().endswith(IMAGE_EXTENSIONS):
            continue
        shown = name.encode("utf-8", "backslashreplace").decode("utf-8")
        try:
            regular = stat.S_ISREG(os.stat(entry.path).st_mode)
        except OSError as err:  # a dangling link, a symlink loop
            skipped[shown] = f"cannot be read ({err.strerror or err})"
            continue
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            skipped[shown] = "its name is not valid UTF-8; rename it"
            continue
        if not regular:
            skipped[name] = "not a regular file"
        elif any(c in name for c in ":\n\r"):
            skipped[name] = "a name with ':' or a line break cannot go into the PATN annotation CSV; rename it"
        else:
            names.append(name)
    stems: dict[str, str] = {}
    for name in names:
        stem = os.path.splitext(name)[0]
        if stem in stems:
            raise ValueError(
                f"{stems[stem]} and {name} in {folder} share the name {stem!r}: what is written for one would "
                "overwrite the other's; rename one of them"
            )
        stems[stem] = name
    if not names:
        reasons = f" (skipped: {skipped})" if skipped else ""
        raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {folder}{reasons}")
    return names, skipped


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"):
    """Open ``path`` for writing so that it is replaced only when the block ends without an error: a failure
    leaves the last good file (or none), never an empty or half-written one."""
    path = os.fspath(path)
    partial = f"{path}.partial"
    handle = open(partial, mode, encoding=None if "b" in mode else encoding)
    try:
        with handle:
            yield handle
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise


__all__ = ["IMAGE_EXTENSIONS", "atomic_write", "list_images"]
