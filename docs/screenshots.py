"""The README's screenshots of each Space tab, taken in a real headless Chromium.

    pip install playwright            # drives the system's chromium (apt-get install chromium); no download
    python docs/screenshots.py [--model pretrained/spt-synthetic] [--out docs/images]

The app is launched in-process on a free port; each tab is opened by its deep link (``/?tab=<id>``), the
page is left to finish its first generation (and, on the Edit layout and Animate tabs, the main button is
pressed), then the page is saved as ``space_<tab>.png``. Then two photos are uploaded on the Pose transfer
tab (scikit-image's cameraman and astronaut) and generated from: ``space_upload_<photo>.png``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Tab id -> (button to press after loading, or None; selector that shows the tab's work is done).
TABS = {
    "pose": (None, "#generated img"),
    "texture": (None, "#texture-result img"),
    "edit": ("Regenerate from this layout", "#edited-image img"),
    "animate": ("Render animation", "#animation img"),
    "browse": (None, "#browse-image img"),
}


def upload_photos(folder: str) -> dict[str, str]:
    """scikit-image's sample photos as upload files: a usable person, and one whose hips are out of frame."""
    from PIL import Image
    from skimage import data

    photos = {"camera": data.camera(), "astronaut": data.astronaut()}
    paths = {}
    for name, pixels in photos.items():
        paths[name] = os.path.join(folder, f"_upload_{name}.png")
        Image.fromarray(pixels).save(paths[name])
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.path.join(HERE, "..", "pretrained", "spt-synthetic"))
    parser.add_argument("--out", default=os.path.join(HERE, "images"))
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("error: no chromium on PATH (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("error: pip install playwright (it drives the system chromium)") from None

    os.environ["SPT_MODEL"] = os.path.abspath(args.model)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    sys.path.insert(0, os.path.join(HERE, ".."))
    import app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.launch(prevent_thread_lock=True, server_port=port, quiet=True)
    os.makedirs(args.out, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            for tab, (button, done) in TABS.items():
                page.goto(f"http://127.0.0.1:{port}/?tab={tab}")
                # The page's first generation (its text lives on the Pose transfer tab, hidden on the others).
                page.wait_for_selector("text=generated in", state="attached", timeout=120_000)
                if button:
                    page.get_by_role("button", name=button).click()
                page.wait_for_selector(done, timeout=300_000)
                page.wait_for_timeout(1500)  # images fade in
                path = os.path.join(args.out, f"space_{tab}.png")
                page.screenshot(path=path, full_page=True)
                print(f"wrote {path}")
            for name, photo in upload_photos(args.out).items():
                page.goto(f"http://127.0.0.1:{port}/?tab=pose")
                page.wait_for_selector("text=generated in", state="attached", timeout=120_000)
                page.get_by_text("…or an example, or your own photo").click()
                page.locator("input[type=file]").first.set_input_files(photo)
                page.wait_for_timeout(1500)
                page.get_by_role("button", name="Use the upload").click()
                page.wait_for_selector("text=Estimated:", timeout=120_000)
                page.get_by_role("button", name="Generate").click()
                try:  # fitted to the photo first (seconds), then generated
                    page.wait_for_selector("text=fitted to the photo", state="attached", timeout=60_000)
                    page.wait_for_timeout(1500)  # images fade in
                except PlaywrightTimeout:  # a photo without a usable person: its error toast is what there is
                    pass
                path = os.path.join(args.out, f"space_upload_{name}.png")
                page.screenshot(path=path, full_page=True)
                os.remove(photo)
                print(f"wrote {path}")
            browser.close()
    finally:
        app.demo.close()


if __name__ == "__main__":
    main()
