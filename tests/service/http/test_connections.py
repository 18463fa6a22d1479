"""Connections and memory are bounded: idle, half-header and half-body connections are
closed by the read timeouts, large bodies are parsed a bounded number at a time while
``/health`` still answers, and a client that disconnects mid-upload is one log line and
a 499 in ``/metrics``.

Timeouts are set to 1 s here; a test waits for the server to close a connection with a
generous upper bound (:data:`CLOSE_WAIT`) and asserts what it sees, never how fast.
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading
import time

import httpx
import pytest
from service_support import HTTP_TIMEOUT, MODEL, Server, wait_until

CLOSE_WAIT = 20.0
"""Most seconds a test waits for the server to close a connection."""


@pytest.fixture(scope="module")
def strict(make_server) -> Server:
    """A server with 1 s header and body read timeouts and a 2 s body deadline."""
    return make_server(
        {
            "SEGSWAP_HEADER_TIMEOUT": "1",
            "SEGSWAP_BODY_TIMEOUT": "1",
            "SEGSWAP_BODY_DEADLINE": "2",
        }
    )


def connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=CLOSE_WAIT)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails past
    :data:`CLOSE_WAIT`)."""
    data = b""
    deadline = time.monotonic() + CLOSE_WAIT
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"the server did not close the connection; got {data[:200]!r}")


def test_idle_connection_is_closed(strict: Server):
    with connect(strict) as sock:
        assert read_until_closed(sock) == b""


def test_half_header_connection_is_closed(strict: Server):
    with connect(strict) as sock:
        sock.sendall(b"POST /v2/seg-swap HTTP/1.1\r\nHost: x\r\nContent-Type: appl")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"].startswith("request headers")


def test_header_drip_is_closed_before_it_ends(strict: Server):
    """One header line every 0.25 s for 30 s: the header timeout (1 s in all) closes it."""
    with connect(strict) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        sent = 0
        try:
            for sent in range(120):  # noqa: B007 - how many were sent is checked
                time.sleep(0.25)
                sock.sendall(b"X-Drip-%d: y\r\n" % sent)
        except (BrokenPipeError, ConnectionResetError):
            pass
        else:
            answer = read_until_closed(sock)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert sent < 119  # closed while it was still dripping


def test_keep_alive_connection_with_half_next_request_is_closed(strict: Server):
    with connect(strict) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first or not first.rstrip().endswith(b"}"):
            first += sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /health HTTP/1.1\r\nHo")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 408 ")


def _v2_head(key: str, length: int) -> bytes:
    """The request line and headers of a v2 JSON submission of ``length`` bytes."""
    return (
        b"POST /v2/" + MODEL.encode() + b" HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nx-api-key: " + key.encode() + b"\r\n"
        b"Content-Length: " + str(length).encode() + b"\r\n\r\n"
    )


def test_half_body_connection_is_closed_with_408(strict: Server, payload):
    key = strict.create_key()
    body = json.dumps(payload).encode()
    with connect(strict) as sock:
        sock.sendall(_v2_head(key, len(body)) + body[:100])
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert "SEGSWAP_BODY_TIMEOUT" in json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]
    assert strict.credits(key) == 1000  # nothing was charged
    metrics = httpx.get(strict.url + "/metrics", timeout=HTTP_TIMEOUT).text
    assert re.search(r'route="/v2/seg-swap",status="408"\} [1-9]', metrics), metrics


def test_body_drip_is_cut_off_by_the_body_deadline(strict: Server, payload):
    """One body byte every 0.4 s (inside the 1 s per-piece timeout) for up to 60 bytes:
    the whole-body deadline (2 s + 1 s per MB announced) answers 408 and closes it."""
    key = strict.create_key()
    body = json.dumps(payload).encode()
    with connect(strict) as sock:
        sock.sendall(_v2_head(key, len(body)))
        answer = b""
        for sent in range(60):  # noqa: B007 - how many were sent is checked
            sock.sendall(body[sent : sent + 1])
            readable, _, _ = select.select([sock], [], [], 0.4)
            if readable:  # the server answered: read it, send no more
                answer = read_until_closed(sock)
                break
    assert sent < 59  # closed while it was still dripping
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert "SEGSWAP_BODY_DEADLINE" in json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]
    assert strict.credits(key) == 1000  # nothing was charged


def test_client_disconnect_mid_upload_is_one_line_and_499(make_server, payload):
    srv: Server = make_server()
    key = srv.create_key()
    body = json.dumps(payload).encode()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=CLOSE_WAIT) as sock:
        sock.sendall(_v2_head(key, len(body)) + body[: len(body) // 2])
        time.sleep(0.5)  # let the server start reading the body
    pattern = r'segswap_http_requests_total\{method="POST",route="/v2/seg-swap",status="499"\} 1'
    deadline = time.monotonic() + CLOSE_WAIT
    metrics = ""
    while time.monotonic() < deadline:
        metrics = httpx.get(srv.url + "/metrics", timeout=HTTP_TIMEOUT).text
        if re.search(pattern, metrics):
            break
        time.sleep(0.1)
    assert re.search(pattern, metrics), metrics
    assert 'status="500"' not in metrics
    log = srv.log()
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if "disconnected" in line]
    assert len(lines) == 1 and "/v2/seg-swap" in lines[0], log
    assert srv.credits(key) == 1000


def turns(server: Server) -> tuple[int, int]:
    """(reading, waiting) large bodies, as ``/metrics`` reports them."""
    text = httpx.get(server.url + "/metrics", timeout=CLOSE_WAIT).text
    found = dict(re.findall(r"^segswap_large_bodies_(reading|waiting) (\d+)$", text, re.M))
    return int(found["reading"]), int(found["waiting"])


def test_large_bodies_wait_their_turn_while_health_answers(make_server, payload):
    """With one large body parsed at a time, a second large request waits while the
    first is still being received; /health answers meanwhile; both then complete.
    Each step waits for what ``/metrics`` says the gate holds, not for a sleep."""
    srv: Server = make_server(
        {
            "SEGSWAP_LARGE_BODY_BYTES": "20000",
            "SEGSWAP_LARGE_BODY_CONCURRENCY": "1",
            "SEGSWAP_BODY_TIMEOUT": "60",
        }
    )
    key = srv.create_key()
    body = json.dumps(payload).encode()
    assert len(body) > 20000
    head = (
        b"POST /v2/" + MODEL.encode() + b" HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nx-api-key: " + key.encode() + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    first = socket.create_connection(("127.0.0.1", srv.port), timeout=CLOSE_WAIT)
    first.sendall(head + body[:1000])  # holds the gate while its body arrives
    wait_until(lambda: turns(srv) == (1, 0), "the first large body to take the turn")
    second: dict[str, httpx.Response] = {}

    def send_second() -> None:
        second["r"] = httpx.post(
            srv.url + f"/v2/{MODEL}",
            content=body,
            headers={"x-api-key": key, "content-type": "application/json"},
            timeout=CLOSE_WAIT,
        )

    thread = threading.Thread(target=send_second)
    thread.start()
    wait_until(lambda: turns(srv) == (1, 1), "the second large body to wait")
    assert "r" not in second  # waiting for the first large body
    assert httpx.get(srv.url + "/health", timeout=CLOSE_WAIT).status_code == 200
    first.sendall(body[1000:])
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += first.recv(65536)
    first.close()
    assert answer.startswith(b"HTTP/1.1 200 ")
    thread.join(CLOSE_WAIT)
    assert second["r"].status_code == 200, second["r"].text
    assert turns(srv) == (0, 0)
