"""Error answers at the edges: requests the HTTP parser refuses, pathological JSON, wrong
methods, the credit header on every authenticated answer, and bounded metric labels."""

from __future__ import annotations

import socket

import httpx
import pytest
from service_support import HTTP_TIMEOUT, MODEL, Server

V1 = f"/v1/{MODEL}"
V2 = f"/v2/{MODEL}"


def h(key: str) -> dict[str, str]:
    return {"x-api-key": key}


def raw_request(server: Server, head: bytes) -> bytes:
    """Send ``head`` as is on a fresh connection; the whole answer (the server closes)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "content_length", [b"-5", b"99999999999999999999999999", b"12abc", b"1, 2"]
)
def test_unparseable_content_length_is_json_400(server: Server, key, content_length):
    answer = raw_request(
        server,
        b"POST "
        + V1.encode()
        + b" HTTP/1.1\r\nHost: x\r\nx-api-key: "
        + key.encode()
        + b"\r\ncontent-type: application/json\r\ncontent-length: "
        + content_length
        + b"\r\n\r\n{}",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer
    assert b"content-type: application/json" in head.lower()
    assert httpx.Response(400, content=body).json()["error"]


def test_bad_request_line_is_json_400(server: Server):
    answer = raw_request(server, b"GARBAGE\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer
    assert "error" in httpx.Response(400, content=body).json()
    assert httpx.get(server.url + "/health", timeout=HTTP_TIMEOUT).status_code == 200


def test_deeply_nested_json_is_400_not_500(server: Server, key):
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in (V1, V2):
        r = httpx.post(
            server.url + path,
            content=deep,
            headers={**h(key), "content-type": "application/json"},
            timeout=HTTP_TIMEOUT,
        )
        assert r.status_code == 400, r.text
        assert r.json()["error"].startswith("body")
    admin = server.create_key(admin=True)
    r = httpx.post(server.url + "/admin/keys", content=deep, headers=h(admin), timeout=HTTP_TIMEOUT)
    assert r.status_code == 400 and r.json()["error"].startswith("body")


def test_405_names_the_allowed_methods(server: Server, key):
    r = httpx.put(server.url + V1, headers=h(key), timeout=HTTP_TIMEOUT)
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    assert "PUT" in r.json()["error"] and "POST" in r.json()["error"]


def test_credit_header_is_current_and_on_authenticated_errors(server: Server, payload):
    key = server.create_key(credits=10)
    r = httpx.post(server.url + V2, json=payload, headers=h(key), timeout=HTTP_TIMEOUT)
    assert r.headers["X-Remaining-Credits"] == "9"
    # the very next poll shows the debit, not the key check cached before it
    poll = httpx.get(r.json()["status_url"], headers=h(key), timeout=HTTP_TIMEOUT)
    assert poll.headers["X-Remaining-Credits"] == "9"
    errors = [
        httpx.post(
            server.url + V2, json={**payload, "steps": 5}, headers=h(key), timeout=HTTP_TIMEOUT
        ),  # 400
        httpx.post(
            server.url + "/v2/other", json=payload, headers=h(key), timeout=HTTP_TIMEOUT
        ),  # 404 model
        httpx.get(
            server.url + "/v2/requests/nope", headers=h(key), timeout=HTTP_TIMEOUT
        ),  # 404 result
        httpx.get(
            server.url + "/v2/requests/nope/status", headers=h(key), timeout=HTTP_TIMEOUT
        ),  # 404 status
        httpx.post(
            server.url + V1, content=b"{", headers=h(key), timeout=HTTP_TIMEOUT
        ),  # 400 malformed
    ]
    for error in errors:
        assert error.status_code in (400, 404), error.text
        assert error.headers.get("X-Remaining-Credits") == "9", (error.url, error.text)
    assert (
        "X-Remaining-Credits"
        not in httpx.post(server.url + V1, json=payload, timeout=HTTP_TIMEOUT).headers
    )


def test_metric_labels_do_not_grow_with_made_up_paths(server: Server, key):
    for i in range(5):
        path = f"/made-up-{i}-xyzzy"
        answer = raw_request(  # refused by size before any route is matched
            server,
            f"POST {path} HTTP/1.1\r\nHost: x\r\ncontent-length: 999999999\r\n\r\n".encode(),
        )
        assert answer.startswith(b"HTTP/1.1 413"), answer
        slash = httpx.get(
            server.url + f"/v2/requests/made-up-{i}-xyzzy/", headers=h(key), timeout=HTTP_TIMEOUT
        )
        assert slash.status_code in (307, 404)
    text = httpx.get(server.url + "/metrics", timeout=HTTP_TIMEOUT).text
    assert "xyzzy" not in text


def test_head_is_answered_wherever_get_is(server: Server, key):
    """Load balancers check health with HEAD: the GET answer's status and headers, no body."""
    for path in ("/", "/docs", "/redoc", "/health", "/openapi.json", "/docs/assets/favicon.png"):
        get = httpx.get(server.url + path, timeout=HTTP_TIMEOUT)
        head = httpx.head(server.url + path, timeout=HTTP_TIMEOUT)
        assert (get.status_code, head.status_code) == (200, 200), path
        assert head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert head.headers["content-length"] == str(len(get.content)), path
    keyed = httpx.head(
        server.url + "/v2/requests/nope/status", headers=h(key), timeout=HTTP_TIMEOUT
    )
    assert keyed.status_code == 404 and keyed.content == b""
    assert (
        httpx.head(server.url + "/v2/requests/nope/status", timeout=HTTP_TIMEOUT).status_code == 401
    )
    r = httpx.head(
        server.url + V1, headers=h(key), timeout=HTTP_TIMEOUT
    )  # a path without GET: 405, no body
    assert r.status_code == 405 and r.headers["allow"] == "POST" and r.content == b""
    r = httpx.delete(server.url + "/health", timeout=HTTP_TIMEOUT)
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    assert r.json()["error"] == "method DELETE is not allowed on /health (allowed: GET, HEAD)"
