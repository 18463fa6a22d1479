"""Input forms and input safety (SPEC §6): multipart, URLs and SSRF, bombs, paths."""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator

import pytest
from inprocess import InProcessApi
from PIL import Image
from service_support import MODEL, b64, h, wait_settled

V1 = f"/v1/{MODEL}"
V2 = f"/v2/{MODEL}"


@pytest.fixture
def key(api: InProcessApi) -> str:
    return api.create_key()


@pytest.fixture(scope="module")
def image_host(images) -> Iterator[str]:
    """A loopback HTTP api serving the test images (and a redirect to one)."""
    files = {
        "/main.png": images["main"],
        "/mask.png": images["mask"],
        "/object.png": images["object"],
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/main.png")
                self.end_headers()
                return
            data = files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def url_payload(host: str) -> dict[str, str]:
    return {
        "main_image": f"{host}/main.png",
        "mask_image": f"{host}/mask.png",
        "object_image": f"{host}/object.png",
    }


# ----- multipart -----


def test_multipart_upload_with_typed_form_fields(api: InProcessApi, key, images):
    files = {
        "main_image": ("main.png", images["main"], "image/png"),
        "mask_image": ("mask.png", images["mask"], "image/png"),
        "object_image": ("logo.png", images["logo"], "image/png"),
    }
    data = {
        "steps": "20",
        "growmask": "3",
        "subject_strength": "0.5",
        "base64": "false",
        "image_format": "webp",
    }
    r = api.post(V1, files=files, data=data, headers=h(key))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(r.content)).size == (128, 128)
    job = api.post(V2, files=files, data={"base64": "true"}, headers=h(key))
    assert job.status_code == 200
    done = wait_settled(api, job.json()["status_url"], h(key))
    assert done.json()["status"] == "COMPLETED"


def test_multipart_bad_field_is_400_naming_it(api: InProcessApi, key, images):
    files = {
        name: (name, images["main"], "image/png")
        for name in ("main_image", "mask_image", "object_image")
    }
    for data, field in (
        ({"steps": "many"}, "steps"),
        ({"steps": "5"}, "steps"),
        ({"base64": "maybe"}, "base64"),
        ({"bogus": "1"}, "bogus"),
    ):
        r = api.post(V2, files=files, data=data, headers=h(key))
        assert r.status_code == 400 and r.json()["error"].startswith(field), r.text
    r = api.post(V2, files={**files, "steps": ("s", b"30", "text/plain")}, headers=h(key))
    assert r.status_code == 400 and r.json()["error"].startswith("steps")


# ----- URL inputs and SSRF (loopback targets only) -----


@pytest.mark.parametrize(
    "target",
    [
        "{host}/main.png",
        "{host}/redirect",
        "http://localhost:{port}/main.png",
        "http://[::1]:{port}/main.png",
        "http://0.0.0.0:{port}/x",
        "http://2130706433:{port}/main.png",
    ],
)
def test_private_url_refused_by_default(api: InProcessApi, key, payload, image_host, target):
    port = image_host.rsplit(":", 1)[1]
    url = target.format(host=image_host, port=port)
    r = api.post(V1, json={**payload, "main_image": url}, headers=h(key))
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("main_image")
    job = api.post(V2, json={**payload, "main_image": url}, headers=h(key))
    assert job.status_code == 200  # the fetch happens in the worker, not at submit
    failed = wait_settled(api, job.json()["status_url"], h(key))
    assert failed.status_code == 422 and "main_image" in failed.json()["error"]


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/x.png", "gopher://127.0.0.1:70/"]
)
def test_other_schemes_refused(api: InProcessApi, key, payload, url):
    r = api.post(V1, json={**payload, "object_image": url}, headers=h(key))
    assert r.status_code == 400 and r.json()["error"].startswith("object_image")


def test_private_url_allowed_with_setting(make_app, image_host):
    srv = make_app({"SEGSWAP_ALLOW_PRIVATE_URLS": "1"})
    key = srv.create_key()
    r = srv.post(V1, json=url_payload(image_host), headers=h(key))
    assert r.status_code == 200, r.text
    redirected = {**url_payload(image_host), "main_image": f"{image_host}/redirect"}
    assert srv.post(V1, json=redirected, headers=h(key)).status_code == 200
    missing = {**url_payload(image_host), "mask_image": f"{image_host}/nothing.png"}
    r = srv.post(V1, json=missing, headers=h(key))
    assert r.status_code == 400 and r.json()["error"].startswith("mask_image")


def test_server_file_paths_are_not_read(api: InProcessApi, key, payload, tmp_path, images):
    path = tmp_path / "on-the-api.png"
    path.write_bytes(images["main"])
    r = api.post(V1, json={**payload, "main_image": str(path)}, headers=h(key))
    assert r.status_code == 400 and r.json()["error"].startswith("main_image")


# ----- decompression bomb and pixel cap -----


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """A 16000×16000 1-bit PNG: ~30 KB on the wire, 256 M pixels decoded."""
    buffer = io.BytesIO()
    Image.new("1", (16000, 16000)).save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def test_decompression_bomb_is_413_and_server_keeps_serving(api: InProcessApi, key, payload, bomb):
    assert len(bomb) < 3_000_000
    for field in ("main_image", "mask_image", "object_image"):
        r = api.post(V1, json={**payload, field: b64(bomb)}, headers=h(key))
        assert r.status_code == 413, r.text
        assert r.json()["error"].startswith(field) and "pixels" in r.json()["error"]
    job = api.post(V2, json={**payload, "main_image": b64(bomb)}, headers=h(key))
    failed = wait_settled(api, job.json()["status_url"], h(key))
    assert failed.status_code == 422 and "pixels" in failed.json()["error"]
    assert api.get("/health").status_code == 200
    assert api.post(V1, json=payload, headers=h(key)).status_code == 200


def test_pixel_cap_is_a_setting(make_app, payload):
    srv = make_app({"SEGSWAP_MAX_PIXELS": "10000"})  # 128×128 = 16384 pixels
    r = srv.post(V1, json=payload, headers=h(srv.create_key()))
    assert r.status_code == 413 and "10,000" in r.json()["error"]
