"""The Space: its callbacks, then the app launched on localhost and driven through gradio_client and a
headless Chromium. A tiny random pipeline at 64x32 (the embedded checkpoint's size) stands in for the model."""

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import app  # noqa: E402
from spt.pipeline import SPTPipeline  # noqa: E402
from spt.space import errors, model, sources, views  # noqa: E402

SIZE = (64, 32)


@pytest.fixture(scope="module", autouse=True)
def tiny_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    SPTPipeline.from_preset("tiny", image_size=SIZE).save_pretrained(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPT_MODEL", str(folder))
        model.load_pipeline.cache_clear()
        yield folder
    model.load_pipeline.cache_clear()


@pytest.fixture(scope="module")
def server(free_port):
    port = free_port()
    app.launch(prevent_thread_lock=True, server_port=port, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    app.demo.close()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


def example(k: int = 0) -> list[str]:
    return app.example_uploads()[k][:3]


# -- callbacks --------------------------------------------------------------------------------------


def test_browse_returns_the_views():
    image, skeleton, (base, annotations), others, keypoints_json, info = app.browse(
        "test", "128 x 64 (Market-1501)", 0, 2, 5
    )
    assert image.shape[0] == views.DISPLAY_HEIGHT and image.shape[1] == views.DISPLAY_HEIGHT // 2
    assert skeleton.shape == image.shape
    assert {name for _, name in annotations} <= set(app.SPT10_LABELS[1:]) and annotations
    assert all(mask.shape == image.shape[:2] for mask, _ in annotations)
    assert len(others) == 4 and '"coco18"' in keypoints_json and "person 2" in info


def test_browse_shows_either_world_and_the_served_models_world_by_default(tiny_model):
    three = app.browse("test", "128 x 64 (Market-1501)", 0, 2, 5, "3D (clothed bodies, photo textures)")
    flat = app.browse("test", "128 x 64 (Market-1501)", 0, 2, 5, "2D (flat people)")
    assert not np.array_equal(three[0], flat[0])
    assert model.served_world() == "2d"  # the test model's folder has no train_config.json
    np.testing.assert_array_equal(app.browse("test", "128 x 64 (Market-1501)", 0, 2, 5)[0], flat[0])
    with pytest.raises(app.gr.Error, match="Unknown world"):
        app.browse("test", "128 x 64 (Market-1501)", 0, 2, 5, "4D")


def test_served_world_reads_the_training_config(tmp_path):
    (tmp_path / "train_config.json").write_text(json.dumps({"world": "3d"}))
    assert model.served_world(str(tmp_path)) == "3d"
    (tmp_path / "train_config.json").write_text("{not json")
    model._world_of.cache_clear()
    assert model.served_world(str(tmp_path)) == "2d"
    assert model.served_world(str(tmp_path / "missing")) == "2d"


def test_a_negative_dataset_seed_is_named():
    with pytest.raises(app.gr.Error, match="Dataset seed must be a whole number from 0 up, got -1"):
        app.browse("test", "128 x 64 (Market-1501)", -1, 2, 5)


def test_bad_ids_give_readable_errors():
    with pytest.raises(app.gr.Error, match="Person id"):
        app.browse("test", "128 x 128 (SyntheticPeople)", 0, 1.5, 0)
    with pytest.raises(app.gr.Error, match="size"):
        app.browse("test", "64 x 64", 0, 1, 0)


def test_examples_load_cropped_to_the_model_aspect(tmp_path):
    rows = app.example_uploads()
    assert len(rows) == 8 and all(len(r) == 4 and os.path.exists(r[2]) for r in rows)
    source, note = sources.uploaded_person(*rows[0])
    assert source.image.shape == (*SIZE, 3) and source.parsing.shape == SIZE and note == ""
    original = json.load(open(rows[0][1]))["keypoints"]
    # The 256x128 example has the model's aspect: it is only scaled by 1/4 to 64x32.
    for (x, y), (cx, cy) in zip(original, source.keypoints):
        if cx >= 0:
            assert abs(cx - ((x + 0.5) / 4 - 0.5)) < 0.01 and abs(cy - ((y + 0.5) / 4 - 0.5)) < 0.01
    # A 128x128 upload is cut to a 128x64 window around the person's box, then halved: x -> (x - left) / 2.
    from spt.data.synthetic import SyntheticPeople, write_examples
    from spt.processor import person_centre

    name = write_examples(str(tmp_path), SyntheticPeople((128, 128), seed=0, split="test"), [1], 1)[0]
    files = [str(tmp_path / f"{name}{ext}") for ext in (".png", ".json", "_parsing.png")]
    square, _ = sources.uploaded_person(*files, "spt10")
    keypoints = np.array(json.load(open(files[1]))["keypoints"], np.float32)
    left = int(np.clip(round(person_centre(keypoints)[0] - 32), 0, 64))
    assert left != 32  # this person stands off the centre: a centred cut would be another window
    for (x, y), (cx, cy) in zip(keypoints, square.keypoints):
        if cx >= 0:
            assert abs(cx - ((x + 0.5 - left) / 2 - 0.5)) < 0.01 and abs(cy - ((y + 0.5) / 2 - 0.5)) < 0.01


def test_photo_alone_gets_estimated_keypoints_and_a_rough_parsing_inside_the_person(tmp_path):
    from skimage import data

    photo = tmp_path / "camera.png"
    Image.fromarray(data.camera()).save(photo)
    source, note = sources.uploaded_person(str(photo), None, None, "spt10")
    assert source.keypoints.shape == (18, 2) and source.parsing.shape == SIZE
    assert "joints found by mediapipe" in note and "rough parsing" in note
    assert not source.parsing[~source.mask].any() and source.parsing.any()
    # The 512x512 photo is cut to 512x256 around the cameraman: his hand on the camera (the right wrist)
    # falls outside, his neck, shoulders and a hip stay in.
    assert (source.keypoints[:, 0] >= 0).sum() >= 9 and source.problem() is None
    (_, _), image, _, _ = app.generate(source, app.gallery_pose(1, SIZE))
    assert image.shape == (views.DISPLAY_HEIGHT, views.DISPLAY_HEIGHT // 2, 3)


def test_a_photo_without_a_person_is_not_generated_until_joints_are_placed(tmp_path):
    from skimage import data

    photo = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()).save(photo)
    source, _, _, note, _, _ = app.pick_upload(str(photo), None, None, "spt10")
    assert "No usable person: 0/18 joints found" in note and "missing: neck" in note
    assert "The default model was trained on" not in note  # the test model is not the embedded one
    with pytest.raises(app.gr.Error, match="No usable person"):
        app.generate(source, app.gallery_pose(1, SIZE))
    with pytest.raises(app.gr.Error, match="No usable person"):
        app.generate_api(str(photo), None, None, "spt10", "1")

    class Click:  # gr.SelectData's index: the pixel clicked on the enlarged source view
        def __init__(self, x, y):
            self.index = (x, y)

    factor = views.factor(SIZE[0])
    for joint, (x, y) in {"neck": (16, 14), "right_shoulder": (10, 16), "right_hip": (12, 34)}.items():
        source, _, _, note, _, _ = app.place_source_joint(source, joint, Click(x * factor, y * factor))
    np.testing.assert_allclose(source.keypoints[1], (16, 14), atol=0.5)
    assert "No usable person" not in note and source.problem() is None
    app.generate(source, app.gallery_pose(1, SIZE))


def test_pose_transfer_texture_transfer_and_layout_editing():
    source = sources.synthetic_person(3, 0, SIZE)
    (base, annotations), image, parsing, timing = app.generate(source, app.gallery_pose(1, SIZE))
    assert image.shape == (views.DISPLAY_HEIGHT, views.DISPLAY_HEIGHT // 2, 3) and parsing.shape == SIZE
    assert "ms" in timing
    a, b, ab = app.texture_transfer(5, 0, 8, 3)
    assert a.shape == b.shape == ab.shape == image.shape
    # The editor shows the parsing enlarged in palette colours; decoding it gives the labels back.
    edited = app.to_editor(parsing)
    assert (views.decode_layout({"composite": edited}, SIZE) == parsing).all()
    edited[: edited.shape[0] // 2] = views.PALETTE[4]
    labels = views.decode_layout({"composite": edited}, SIZE)
    assert (labels[: SIZE[0] // 2] == 4).all() and (labels[SIZE[0] // 2 :] == parsing[SIZE[0] // 2 :]).all()
    out, _ = app.regenerate_from_layout(source, app.gallery_pose(1, SIZE), {"composite": edited})
    assert out.shape == image.shape


def test_pose_editing_moves_mirrors_and_resets():
    kp = app.gallery_pose(0, SIZE)
    event = type("Select", (), {"index": [views.factor(SIZE[0]) * 10, views.factor(SIZE[0]) * 20]})()
    moved, view, text = app.move_joint(kp.tolist(), "right_wrist", event)
    assert moved[app.KEYPOINT_NAMES.index("right_wrist")] == pytest.approx([10, 20], abs=0.5)
    assert json.loads(text)["keypoints"][app.KEYPOINT_NAMES.index("right_wrist")] == pytest.approx([10, 20], abs=0.5)
    mirrored = np.asarray(app.mirror_pose(moved)[0])
    assert not np.allclose(mirrored, moved)
    assert np.allclose(app.reset_pose(kp.tolist())[0], kp)
    with pytest.raises(app.gr.Error, match="Choose which joint"):
        app.move_joint(kp.tolist(), "tail", event)


class _Progress:
    def tqdm(self, iterable, **kwargs):
        return iterable


def test_animations_are_gifs_with_every_frame(tmp_path):
    source, target = sources.synthetic_person(3, 0, SIZE), app.gallery_pose(2, SIZE)
    path = app.animate(source, target, "to the target pose and back", 3, progress=_Progress())
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 4  # 3 frames there, 1 on the way back
    with Image.open(app.animate(source, None, "walking cycle", 6, progress=_Progress())) as gif:
        assert gif.n_frames == 6 and gif.size == (views.DISPLAY_HEIGHT // 2, views.DISPLAY_HEIGHT)
    sequence = tmp_path / "walk.json"
    sequence.write_text(
        json.dumps({"frames": [app.gallery_pose(k, SIZE).tolist() for k in range(5)], "size": list(SIZE)})
    )
    with Image.open(
        app.animate(source, None, "uploaded keypoint sequence", 2, str(sequence), progress=_Progress())
    ) as gif:
        assert gif.n_frames == 5
    sequence.write_text(json.dumps([[[1, 2]] * 18, [[1, 2]] * 17]))
    with pytest.raises(app.gr.Error, match=r"Bad keypoints in the sequence \(pose 1\): .*\(17, 2\)"):
        app.animate(source, None, "uploaded keypoint sequence", 2, str(sequence), progress=_Progress())


def test_an_uploaded_photo_is_fitted_when_asked_and_a_test_person_never():
    photo, keypoints, parsing = example(0)
    source, _ = sources.uploaded_person(photo, keypoints, parsing, "spt10")
    target = app.gallery_pose(1, SIZE)
    _, fitted, _, timing = app.generate(source, target, True, progress=_Progress())
    assert "fitted to the photo in" in timing and f"({model.DEFAULT_ADAPT_STEPS} steps)" in timing
    _, plain, _, plain_timing = app.generate(source, target, False, progress=_Progress())
    assert "fitted" not in plain_timing and not np.array_equal(fitted, plain)
    person = sources.synthetic_person(3, 0, SIZE)
    assert "fitted" not in app.generate(person, target, True, progress=_Progress())[3]
    # The API fits by default, and not when told.
    by_default = app.generate_api(photo, keypoints, parsing, "spt10", "1")
    assert not np.array_equal(by_default, app.generate_api(photo, keypoints, parsing, "spt10", "1", False))


def test_an_animation_of_an_uploaded_photo_is_fitted_once_for_all_its_frames(monkeypatch):
    from spt.space import callbacks

    calls = []

    def counted(source, poses, progress=None):
        calls.append(len(poses))
        return model.fit_to_photo(source, poses, progress)

    monkeypatch.setattr(callbacks, "fit_to_photo", counted)
    photo, keypoints, parsing = example(0)
    source, _ = sources.uploaded_person(photo, keypoints, parsing, "spt10")
    with Image.open(app.animate(source, None, "walking cycle", 5, None, True, progress=_Progress())) as gif:
        assert gif.n_frames == 5
    assert calls == [5]


# -- over HTTP --------------------------------------------------------------------------------------


def test_generation_from_an_example_over_http(client):
    from gradio_client import handle_file

    photo, keypoints, parsing = example(2)
    path = client.predict(
        handle_file(photo), handle_file(keypoints), handle_file(parsing), "spt10", "3", api_name="/generate"
    )
    with Image.open(path) as image:
        assert image.size == (SIZE[1], SIZE[0]) and image.mode == "RGB"
    target = json.dumps({"keypoints": app.gallery_pose(5, SIZE).tolist(), "size": list(SIZE)})
    path = client.predict(handle_file(photo), None, None, "spt10", target, api_name="/generate")
    assert Image.open(path).size == (SIZE[1], SIZE[0])


def test_bad_uploads_give_readable_errors_over_http(client, tmp_path):
    from gradio_client import handle_file

    photo, keypoints, parsing = example(0)
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("hello")
    with pytest.raises(Exception, match="notes.png is not an image: upload a PNG or JPEG photo"):
        client.predict(handle_file(str(not_an_image)), None, None, "spt10", "1", api_name="/generate")
    wrong_shape = tmp_path / "keypoints.json"
    wrong_shape.write_text(json.dumps({"keypoints": [[1, 2]] * 17}))
    with pytest.raises(Exception, match="Bad keypoints: .*18"):
        client.predict(handle_file(photo), handle_file(str(wrong_shape)), None, "spt10", "1", api_name="/generate")
    with pytest.raises(Exception, match="Pose index must be 0-11"):
        client.predict(
            handle_file(photo), handle_file(keypoints), handle_file(parsing), "spt10", "99", api_name="/generate"
        )


@pytest.mark.slow
def test_sixteen_concurrent_generations_are_all_served_without_cross_talk(client):
    from gradio_client import handle_file

    photo, keypoints, parsing = example(4)
    poses = [k % sources.NUM_POSES for k in range(16)]
    jobs = [
        client.submit(
            handle_file(photo), handle_file(keypoints), handle_file(parsing), "spt10", str(k), api_name="/generate"
        )
        for k in poses
    ]
    with ThreadPoolExecutor(16) as pool:
        paths = list(pool.map(lambda job: job.result(timeout=180), jobs))
    # Each answer is the image of its own pose: the same as one call alone.
    expected = {k: app.generate_api(photo, keypoints, parsing, "spt10", str(k)) for k in set(poses)}
    for k, path in zip(poses, paths):
        np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), expected[k])
    assert len({np.asarray(Image.open(p)).tobytes() for p in paths}) == sources.NUM_POSES


def test_browse_api_over_http(client):
    image_path, _, parsing, gallery, keypoints_json, info = client.predict(
        "test", "128 x 128 (SyntheticPeople)", 0, 4, 9, api_name="/browse"
    )
    assert Image.open(image_path).size == (views.DISPLAY_HEIGHT, views.DISPLAY_HEIGHT)
    assert parsing["annotations"] and len(gallery) == 4 and "pose 9" in info
    with pytest.raises(Exception, match="less than minimum value 0"):
        client.predict("test", "128 x 128 (SyntheticPeople)", 0, -3, 9, api_name="/browse")


# -- in a browser -----------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (.ci/run installs it where it can: apt-get install chromium)",
)
def test_headless_chromium_renders_the_main_controls(server):
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000", "--dump-dom", server],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for control in (
        "Pose transfer",
        "Texture transfer",
        "Edit layout",
        "Animate",
        "Browse SyntheticPeople",
        "Generate",
        "Use this person",
        "Mirror",
        "Reset",
        "Joint to move",
        "Predicted target parsing",
    ):
        assert control in dom, f"{control!r} is not on the page"


@pytest.fixture(scope="module")
def page(server):
    """The page in headless Chromium, driven by Playwright."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it where it can: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(60_000)
        page.goto(server)
        page.get_by_text("generated in").wait_for()  # the worked example is on the page
        yield page
        browser.close()


def error_boxes(page) -> int:
    """Gradio's "Error" boxes drawn over the outputs of a failed event."""
    return page.locator(".wrap .error:visible").count()


@pytest.mark.slow
def test_in_the_browser_a_bad_paste_is_a_toast_then_the_fix_generates_without_closing_anything(page):
    page.get_by_text("Keypoints (paste JSON or a PATN CSV row)").click()
    editor = page.locator(".cm-content").first
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('{"keypoints": [[1, 2], [3, 4]]}')
    page.get_by_role("button", name="Use pasted keypoints").click()
    toast = page.locator(".toast-body").filter(has_text="18")
    toast.wait_for()
    assert error_boxes(page) == 0  # nothing covers the views or the keypoints box
    # the fix goes into the same box, no toast closed: a gallery pose's keypoints, as the page wrote them
    pose = json.dumps({"keypoints": app.gallery_pose(3, SIZE).tolist()})
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(pose)
    page.get_by_role("button", name="Use pasted keypoints").click()
    page.wait_for_function("document.querySelector('.cm-content').innerText.includes('keypoints')")
    before = page.locator("#generated img").get_attribute("src")
    page.get_by_role("button", name="Generate", exact=True).click()
    page.wait_for_function(f"(document.querySelector('#generated img') || {{}}).src != {json.dumps(before)}")
    assert toast.count() <= 1 and error_boxes(page) == 0
    assert "generated in" in page.locator("body").inner_text()
    # an id out of range is a toast that names the field, and the id box stays editable
    for bad in ("-4", "2.5"):  # out of range, not whole: both refused by name, not clamped or rounded
        page.locator("input[aria-label='Pose id']").first.fill(bad)
        page.get_by_role("button", name="Use this person").click()
        page.locator(".toast-body").filter(
            has_text=f"Pose id must be a whole number from 0 to 99999, got {bad}"
        ).wait_for()
    assert error_boxes(page) == 0
    page.locator("input[aria-label='Pose id']").first.fill("1")


@pytest.mark.slow
def test_in_the_browser_an_example_loaded_empties_the_id_boxes(page):
    page.locator("input[aria-label='Person id']").first.fill("3")
    example = page.get_by_text(app.example_label(app.example_uploads()[0][0]), exact=True)
    if not example.is_visible():
        page.get_by_text("…or an example, or your own photo").click()
    example.click()
    page.wait_for_function("document.querySelector(\"input[aria-label='Person id']\").value === ''")
    assert page.get_by_text("Photo (PNG/JPEG)").is_visible()  # the upload slots are drawn (by gr.File's frontend)
    assert page.locator("input[aria-label='Pose id']").first.input_value() == ""


@pytest.mark.slow
def test_in_the_browser_the_generated_image_is_served_as_png(page):
    page.get_by_role("button", name="Generate", exact=True).click()
    src = page.locator("#generated img").get_attribute("src")
    body = page.request.get(src).body()
    assert body[:8] == b"\x89PNG\r\n\x1a\n", src


@pytest.mark.slow
def test_in_the_browser_the_layout_editors_swatches_are_named(page):
    from spt.parsing import SPT10_LABELS

    page.get_by_role("tab", name="Edit layout").click()
    page.get_by_role("button", name="Brush", exact=True).click()
    page.get_by_role("button", name="Color", exact=True).click()
    swatches = page.locator(".swatch button.color")
    swatches.first.wait_for()
    assert [swatches.nth(k).get_attribute("title") for k in range(swatches.count())] == list(SPT10_LABELS)
    page.get_by_role("tab", name="Pose transfer").click()


def test_uploads_over_the_size_limit_are_refused_over_http(client, tmp_path):
    from gradio_client import handle_file

    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (21 * 2**20))  # over MAX_UPLOAD (20 MB)
    with pytest.raises(Exception, match="(?i)(too large|exceeds|size)"):
        client.predict(handle_file(str(big)), None, None, "spt10", "1", api_name="/generate")


def test_the_output_folder_drops_old_files(tmp_path):
    first = errors.output_path("a.gif")
    os.utime(first, (0, 0))  # written long ago
    second = errors.output_path("b.gif")
    assert os.path.dirname(first) == os.path.dirname(second) and not os.path.exists(first) and os.path.exists(second)
    os.remove(second)


@pytest.mark.slow
def test_a_bad_spt_model_stops_the_server_at_start_with_the_reason(tmp_path):
    env = os.environ | {"SPT_MODEL": str(tmp_path / "nonexistent"), "GRADIO_ANALYTICS_ENABLED": "False"}
    done = subprocess.run(
        [sys.executable, "app.py"],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "cannot serve the model" in done.stderr and "nonexistent" in done.stderr


def test_every_shown_image_is_served_as_lossless_png():
    images = [block for block in app.demo.blocks.values() if isinstance(block, app.gr.Image)]
    generated = [block for block in images if block.elem_id == "generated"]
    assert generated and all(block.format == "png" for block in images)


def test_the_id_boxes_follow_the_source_shown():
    """An example or an upload is no SyntheticPeople person: loading it empties the Person/Pose id boxes (they
    kept the previous person's numbers before); a person picked by id keeps them through joint edits."""
    update = app.pick_upload(*app.example_uploads()[0])
    assert update.person_id is None and update.pose_id is None
    picked = app.pick_source(2, 5).source
    assert (picked.person_id, picked.pose_id) == (2, 5)


def test_the_worked_example_is_computed_once_and_ready_before_the_first_visit():
    import time

    app.demo.warm_up.cache_clear()
    app.demo.warm_up()
    start = time.perf_counter()
    opened = app.demo.warm_up()  # what every visit then gets: no model run
    assert time.perf_counter() - start < 0.05 and app.demo.warm_up.cache_info().hits >= 1
    assert len(opened) > 10


def test_a_full_queue_answers_in_words_and_asks_to_retry(server, free_port):
    import threading

    import gradio as gr
    import httpx
    from starlette.middleware import Middleware

    assert any(m.cls is errors.BusyAnswer for m in app.demo.server_app.user_middleware)  # the Space's own server
    release = threading.Event()
    with gr.Blocks() as busy:
        box = gr.Textbox()
        box.submit(lambda text: release.wait(30) and text, box, box, api_name="echo")
    busy.queue(max_size=1, default_concurrency_limit=1)
    port = free_port()
    busy.launch(
        prevent_thread_lock=True,
        server_port=port,
        quiet=True,
        app_kwargs={"middleware": [Middleware(errors.BusyAnswer)]},
    )
    try:
        join = f"http://127.0.0.1:{port}/gradio_api/queue/join"
        answers = [
            httpx.post(join, json={"data": ["x"], "fn_index": 0, "session_hash": f"s{k}"}, timeout=30) for k in range(4)
        ]  # one runs, one waits, the rest find the queue full
        assert answers[0].status_code == 200
        full = answers[-1]
        assert full.status_code == 503 and full.json()["detail"] == errors.BUSY and full.headers["retry-after"] == "60"
        assert "Try again" in errors.BUSY
    finally:
        release.set()
        busy.close()


def test_upload_leftovers_are_removed_and_nothing_else(tmp_path):
    old_closed, old_open, fresh = tmp_path / "tmpa", tmp_path / "tmpb", tmp_path / "tmpc"
    for path in (old_closed, old_open, fresh):
        path.write_bytes(b"\0" * 10)
    served = tmp_path / ("0" * 64)
    served.mkdir()
    (served / "photo.png").write_bytes(b"png")
    now = time.time()
    for path in (old_closed, old_open):
        os.utime(path, (now - 60, now - 60))
    with open(old_open, "ab"):  # an upload still being received
        assert errors.remove_upload_leftovers(str(tmp_path), now) == 1
    assert not old_closed.exists() and old_open.exists() and fresh.exists() and (served / "photo.png").exists()
    assert errors.remove_upload_leftovers(str(tmp_path / "missing")) == 0


def test_generating_from_files_leaves_no_loose_file_in_the_upload_folder(client, server):
    from gradio.utils import get_upload_folder
    from gradio_client import handle_file

    def loose():
        folder = get_upload_folder()
        return {e.name for e in os.scandir(folder) if e.is_file()} if os.path.isdir(folder) else set()

    before = loose()
    photo, keypoints, parsing = example(1)
    client.predict(handle_file(photo), handle_file(keypoints), handle_file(parsing), "spt10", "2", api_name="/generate")
    assert loose() - before == set()  # Gradio's own gr.File leaves one empty file per upload here


def test_a_parsing_read_in_the_wrong_scheme_is_flagged_and_the_right_one_is_not():
    photo, keypoints, parsing, scheme = app.example_uploads()[0]
    assert scheme == "spt10"
    _, note = sources.uploaded_person(photo, keypoints, parsing, "spt10")
    assert "does not look like" not in note
    _, note = sources.uploaded_person(photo, keypoints, parsing, "lip20")  # SPT-10's upper clothes (3) are LIP's gloves
    assert "does not look like lip20 labels" in note and "reads well as spt10" in note


def test_the_test_servers_keep_to_their_own_temp_folders():
    """A Space serving on this machine shares nothing with the test servers (conftest.py)."""
    import tempfile

    from gradio.utils import get_upload_folder

    own = os.path.dirname(get_upload_folder())
    assert os.path.basename(own).startswith("spt-tests-") and tempfile.gettempdir() == own
    assert os.path.dirname(errors.output_path("x.gif")).startswith(own)


def test_a_photo_gives_the_same_pixels_through_the_python_api_and_the_space(tmp_path):
    """A 4:3 (landscape) photo, with its keypoints and parsing files, generated by the README's Python call and
    by the Space's /generate: one image processor frames both, so the outputs agree to the last bit of rounding."""
    from spt.data.synthetic import SyntheticPeople, write_examples
    from spt.parsing import load_parsing
    from spt.pose import load_keypoints_json
    from spt.processor import person_centre

    name = write_examples(str(tmp_path), SyntheticPeople((96, 128), seed=0, split="test"), [2], 1)[0]
    photo, keypoints_file, parsing_file = (str(tmp_path / f"{name}{ext}") for ext in (".png", ".json", "_parsing.png"))
    space = app.generate_api(photo, keypoints_file, parsing_file, "spt10", "3", False)  # unfitted, as the call below

    pipe = model.load_pipeline()
    image, keypoints = Image.open(photo), load_keypoints_json(keypoints_file)
    framing = pipe.image_processor.framing((image.height, image.width), person_centre(keypoints))
    target = framing.back(app.gallery_pose(3, SIZE))  # the Space's pose 3, in the photo's pixels
    out = pipe(image, target, source_pose=keypoints, source_parsing=load_parsing(parsing_file), output_type="np")
    api = np.round(out.images[0] * 255)
    assert space.shape == api.shape == (*SIZE, 3)
    assert np.abs(api - space).max() <= 1
