"""The Space, launched on localhost and driven through gradio_client."""

import os
import socket

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import app  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_browse_returns_the_views():
    image, skeleton, (base, annotations), others, keypoints_json, info = app.browse(
        "test", "128 x 64 (Market-1501)", 0, 2, 5
    )
    assert image.shape[0] == app.DISPLAY_HEIGHT and image.shape[1] == app.DISPLAY_HEIGHT // 2
    assert skeleton.size == (image.shape[1], image.shape[0])
    assert {name for _, name in annotations} <= set(app.SPT10_LABELS[1:]) and annotations
    assert all(mask.shape == image.shape[:2] for mask, _ in annotations)
    assert len(others) == 4 and '"coco18"' in keypoints_json and "person 2" in info


def test_bad_ids_give_readable_errors():
    with pytest.raises(app.gr.Error, match="Person id"):
        app.browse("test", "128 x 128 (SyntheticPeople)", 0, 1.5, 0)
    with pytest.raises(app.gr.Error, match="size"):
        app.browse("test", "64 x 64", 0, 1, 0)


def test_space_api_over_http():
    from gradio_client import Client

    port = _free_port()
    app.demo.queue().launch(prevent_thread_lock=True, server_port=port, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        result = client.predict("test", "128 x 128 (SyntheticPeople)", 0, 4, 9, api_name="/browse")
        image_path, _, parsing, gallery, keypoints_json, info = result
        from PIL import Image

        assert Image.open(image_path).size == (app.DISPLAY_HEIGHT, app.DISPLAY_HEIGHT)
        assert parsing["annotations"] and len(gallery) == 4
        assert "pose 9" in info
        with pytest.raises(Exception, match="less than minimum value 0"):
            client.predict("test", "128 x 128 (SyntheticPeople)", 0, -3, 9, api_name="/browse")
    finally:
        app.demo.close()
