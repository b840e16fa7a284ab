"""The Space under a long mixed load: ``python app.py`` served in its own process (the embedded model) and
called 300 times over HTTP with good, bad and heavy input, uploads aborted halfway included. After a
warm-up that has sent every kind of call once, neither the server's memory nor the number of files in its
temp folders may keep growing. About 7 minutes, left out of the default run: ``python -m pytest -m soak``;
the figures are printed (``-s``) and written to ``soak.json`` in the test's temp folder."""

import io
import json
import os
import socket
import time
from pathlib import Path

import pytest
from PIL import Image

pytestmark = [pytest.mark.slow, pytest.mark.soak]

CALLS = 300
WARM_UP = 60  # every kind of call below has run by then, each input at least once
RSS_GROWTH_MB = 64  # allowed from the end of the warm-up to the end
FILE_GROWTH = 0  # temp files: none may be left behind by a call once its kind has been seen


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def count_files(*folders: Path) -> int:
    return sum(len(files) for folder in folders for _, _, files in os.walk(folder))


def abort_upload(port: int, size: int = 4 * 2**20):
    """Start a multipart upload of ``size`` bytes, send a quarter of it, hang up."""
    boundary = "soakboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(head) + size + 40}\r\n\r\n"
            ).encode()
            + head
        )
        sock.sendall(b"\x89PNG" + b"\0" * (size // 4))
        time.sleep(0.2)


@pytest.fixture(scope="module")
def space(tmp_path_factory, live_space):
    folder = tmp_path_factory.mktemp("soak")
    temp, cache = folder / "tmp", folder / "gradio"
    temp.mkdir()
    with live_space(folder, cache, temp) as (server, port, url):
        yield server, port, url, (temp, cache), folder


def test_300_mixed_calls_leave_memory_and_temp_files_flat(space, tmp_path):
    from gradio_client import Client, handle_file

    from spt.space.errors import STALE_UPLOAD_S
    from spt.space.sources import example_uploads

    server, port, url, temp_folders, folder = space
    client = Client(url, verbose=False)
    rows = example_uploads()[:3]
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("hello")
    bad_keypoints = tmp_path / "keypoints.json"
    bad_keypoints.write_text(json.dumps({"keypoints": [[1, 2]] * 17}))
    large = tmp_path / "large.png"  # 6400x3200 (20 Mpx): downscaled before any model runs
    with Image.open(rows[0][0]) as photo:
        photo.convert("RGB").resize((3200, 6400), Image.Resampling.NEAREST).save(large)
    sideways = tmp_path / "sideways.jpg"  # EXIF Orientation=6
    exif = Image.Exif()
    exif[0x0112] = 6
    with Image.open(rows[0][0]) as photo:
        buffer = io.BytesIO()
        photo.convert("RGB").transpose(Image.Transpose.ROTATE_90).save(buffer, "JPEG", exif=exif)
    sideways.write_bytes(buffer.getvalue())
    many_poses = json.dumps([{"keypoints": [[10.0, 10.0]] * 18}] * 300)

    def generate(photo, keypoints, parsing, target, fit=False):
        # Fitting to the photo (seconds a call) runs in one kind of call of its own, so the soak stays minutes long
        return client.predict(
            handle_file(str(photo)),
            keypoints and handle_file(str(keypoints)),
            parsing and handle_file(str(parsing)),
            "spt10",
            target,
            fit,
            api_name="/generate",
        )

    kinds = [
        *[(f"good {k}", lambda k=k: generate(*rows[k % 3][:3], str(k % 12))) for k in range(6)],
        ("photo only", lambda: generate(rows[1][0], None, None, "4")),
        ("photo fitted", lambda: generate(rows[2][0], None, None, "5", fit=True)),
        ("sideways photo", lambda: generate(sideways, None, None, "2")),
        ("20 Mpx photo", lambda: generate(large, None, None, "1")),
        (
            "browse",
            lambda: client.predict(
                "test", "128 x 64 (Market-1501)", 0, 3, 7, "3D (clothed bodies, photo textures)", api_name="/browse"
            ),
        ),
        ("not an image", lambda: generate(not_an_image, None, None, "1")),
        ("17 keypoints", lambda: generate(rows[0][0], bad_keypoints, None, "1")),
        ("pose 99", lambda: generate(*rows[0][:3], "99")),
        ("300 poses", lambda: generate(*rows[0][:3], many_poses)),
        ("aborted upload", lambda: abort_upload(port)),
    ]
    outcomes = {name: {"ok": 0, "error": 0} for name, _ in kinds}
    trace = []  # the server's RSS after each round of every kind
    samples = []
    for k in range(CALLS):
        name, call = kinds[k % len(kinds)]
        try:
            call()
            outcomes[name]["ok"] += 1
        except Exception:  # the bad ones are meant to fail: their messages are tested elsewhere
            outcomes[name]["error"] += 1
        assert server.poll() is None, "the server died"
        if (k + 1) % len(kinds) == 0:
            trace.append(round(rss_mb(server.pid)))
        if k + 1 == WARM_UP or k + 1 == CALLS:
            time.sleep(STALE_UPLOAD_S + 1)  # an upload abandoned last is a leftover by now
            kinds[0][1]()  # and the next call of any handler removes it
            samples.append(
                {"after_calls": k + 1, "rss_mb": round(rss_mb(server.pid), 1), "temp_files": count_files(*temp_folders)}
            )
    report = {"calls": CALLS, "warm_up": WARM_UP, "samples": samples, "rss_mb_every_round": trace, "outcomes": outcomes}
    (folder / "soak.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report))
    assert all(o["ok"] for n, o in outcomes.items() if n.startswith(("good", "photo", "sideways", "20 Mpx", "browse")))
    assert all(o["error"] == 0 for n, o in outcomes.items() if not n.startswith(("not", "17", "pose 99", "300")))
    warm, end = samples
    # The level after warm-up is the highest RSS seen during it: RSS swings by tens of MB from call to call.
    warm_level = max([warm["rss_mb"], *trace[: WARM_UP // len(kinds)]])
    assert end["rss_mb"] - warm_level <= RSS_GROWTH_MB, report
    assert end["temp_files"] - warm["temp_files"] <= FILE_GROWTH, report
