"""Keypoint files: the PATN CSV (read and written losslessly), our JSON, and OpenPose's JSON output."""

from __future__ import annotations

import json
import os
import re
from typing import Iterable, Mapping

import numpy as np

from ..files import atomic_write
from .keypoints import KEYPOINT_NAMES, MISSING, NUM_KEYPOINTS, rescale_keypoints, validate_keypoints

PATN_HEADER = "name:keypoints_y:keypoints_x"
_PATN_ROW = re.compile(r"^(?P<name>[^:]+):\s*(?P<y>\[[^\]]*\])\s*:\s*(?P<x>\[[^\]]*\])\s*$")


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def format_patn_row(name: str, keypoints) -> str:
    """One PATN annotation row: ``name: [y0, …, y17]: [x0, …, x17]`` (-1 for a missing joint)."""
    kp = validate_keypoints(keypoints).astype(np.float64)
    if ":" in name:
        raise ValueError(f"image name {name!r} may not contain ':' in the PATN CSV format")
    ys = ", ".join(_format_number(v) for v in kp[:, 1])
    xs = ", ".join(_format_number(v) for v in kp[:, 0])
    return f"{name}: [{ys}]: [{xs}]"


def parse_patn_row(line: str, *, where: str = "row") -> tuple[str, np.ndarray]:
    """Parse one PATN row into ``(name, keypoints (18, 2) as (x, y))``."""
    match = _PATN_ROW.match(line.strip())
    if not match:
        raise ValueError(f"{where}: expected 'name: [18 y values]: [18 x values]', got {line.strip()[:80]!r}")
    try:
        ys = json.loads(match["y"])
        xs = json.loads(match["x"])
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: keypoint lists are not numbers: {err}") from None
    for axis, values in (("y", ys), ("x", xs)):
        # bool is an int to Python: `true` would silently read as 1.
        if not isinstance(values, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        ):
            raise ValueError(f"{where}: the {axis} list must hold plain numbers, got {json.dumps(values)[:60]}")
    if len(ys) != NUM_KEYPOINTS or len(xs) != NUM_KEYPOINTS:
        raise ValueError(f"{where}: expected 18 y and 18 x values, got {len(ys)} and {len(xs)}")
    kp = np.stack([np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)], -1)
    kp[(kp[:, 0] < 0) | (kp[:, 1] < 0)] = MISSING  # PATN marks a missing joint by -1 in either list
    return match["name"].strip(), validate_keypoints(kp, name=where)


def read_patn_csv(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a PATN ``*-annotation-*.csv`` into ``{name: keypoints (18, 2)}``; errors name the file and line."""
    out: dict[str, np.ndarray] = {}
    lines_of: dict[str, int] = {}
    if not os.path.isfile(path):
        raise FileNotFoundError(f"annotation file not found: {path}")
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text (byte {raw[err.start]:#x}); save the CSV as UTF-8") from None
    if not lines or lines[0].strip() != PATN_HEADER:
        raise ValueError(f"{path}: line 1 must be the header {PATN_HEADER!r}")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        name, kp = parse_patn_row(line, where=f"{path}:{number}")
        if name in out:
            raise ValueError(
                f"{path}:{number}: {name!r} is annotated twice (first on line {lines_of[name]}); keep one row per image"
            )
        out[name], lines_of[name] = kp, number
    return out


def write_patn_csv(
    path: str | os.PathLike, annotations: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]]
) -> None:
    """Write ``{name: keypoints}`` in the PATN annotation format (integers stay integers: lossless)."""
    items = annotations.items() if isinstance(annotations, Mapping) else annotations
    rows = [PATN_HEADER] + [format_patn_row(name, kp) for name, kp in items]
    text = "\n".join(rows) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(
            f"{path}: a name is not valid UTF-8 ({text[err.start : err.end]!r}); rename the file"
        ) from None
    with atomic_write(path) as handle:  # a failure leaves the last good CSV, never an empty one
        handle.write(text)


def keypoints_to_json(keypoints, size: tuple[int, int] | None = None) -> str:
    """JSON form: ``{"format": "coco18", "keypoints": [[x, y], …], "names": […], "size": [H, W]}``."""
    kp = validate_keypoints(keypoints, size)
    obj = {"format": "coco18", "keypoints": [[float(x), float(y)] for x, y in kp], "names": list(KEYPOINT_NAMES)}
    if size is not None:
        obj["size"] = [int(size[0]), int(size[1])]
    return json.dumps(obj)


def keypoints_from_json(data, frame: tuple[int, int] | None = None) -> np.ndarray:
    """Keypoints from our JSON form, a bare 18x2 list, or OpenPose output (``people[0].pose_keypoints_2d``).

    ``data`` is a JSON string or the parsed object. OpenPose joints with confidence 0 become missing. Our form's
    ``"size"`` ([H, W], the frame the keypoints were written in) is checked, and with ``frame`` (the frame they
    are used in) the keypoints are rescaled from that size to it.
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as err:
            raise ValueError(f"keypoints JSON does not parse: {err}") from None
        except RecursionError:
            raise ValueError("keypoints JSON nests too deep to be keypoints (a list of 18 [x, y] pairs)") from None
    if isinstance(data, dict) and "people" in data:
        people = data["people"]
        if not isinstance(people, list) or not people:
            raise ValueError("OpenPose JSON has no person in 'people' (a list of {\"pose_keypoints_2d\": [...]})")
        if not isinstance(people[0], dict):
            raise ValueError(
                f"OpenPose JSON: each person in 'people' must be an object with pose_keypoints_2d, "
                f"got {json.dumps(people[0])[:40]}"
            )
        try:
            flat = np.asarray(people[0].get("pose_keypoints_2d", []), dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError("OpenPose pose_keypoints_2d must be a flat list of numbers") from None
        if flat.size != NUM_KEYPOINTS * 3:
            raise ValueError(f"OpenPose pose_keypoints_2d must hold 18x3 values (COCO-18), got {flat.size}")
        flat = flat.reshape(NUM_KEYPOINTS, 3)
        kp = flat[:, :2].copy()
        kp[flat[:, 2] <= 0] = MISSING
        return validate_keypoints(kp)
    if isinstance(data, dict):
        if "keypoints" not in data:
            raise ValueError("keypoints JSON needs a 'keypoints' field (18 [x, y] pairs)")
        size = data.get("size")
        if size is not None:
            if (
                not isinstance(size, list)
                or len(size) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
            ):
                raise ValueError(f"keypoints JSON: 'size' must be [height, width] in whole pixels, got {size!r}")
            size = tuple(size)
        kp = validate_keypoints(data["keypoints"], size)
        return (
            rescale_keypoints(kp, size, frame)
            if size is not None and frame is not None and size != tuple(frame)
            else kp
        )
    return validate_keypoints(data)


def save_keypoints_json(path: str | os.PathLike, keypoints, size: tuple[int, int] | None = None) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(keypoints_to_json(keypoints, size))


def load_keypoints_json(path: str | os.PathLike) -> np.ndarray:
    if not os.path.exists(path):
        raise FileNotFoundError(f"keypoints file not found: {path}")
    with open(path, encoding="utf-8") as handle:
        try:
            return keypoints_from_json(handle.read())
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
