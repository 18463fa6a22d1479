"""segswap.io.fetch against a throwaway HTTP(S) server on 127.0.0.1 (no other target)."""

from __future__ import annotations

import io
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from segswap.errors import ImageTooLarge, InputFetchError
from segswap.io import fetch as fetch_module
from segswap.io.fetch import FetchPolicy, fetch_url, is_public_address
from segswap.io.load import load_image
from segswap.settings import Settings


def png_bytes(array: np.ndarray, **options: object) -> bytes:
    """``array`` saved as PNG by Pillow."""
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG", **options)
    return out.getvalue()


FIELD = "main_image"
IMAGE = png_bytes(np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
OPEN = FetchPolicy(allow_private=True, max_bytes=1_000_000, timeout_s=2.0, max_redirects=5)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hosts: list[str] = []
    paths: list[str] = []

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        pass

    def send(
        self, status: int, body: bytes, content_type: str = "image/png", **headers: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path
        Handler.hosts.append(self.headers.get("Host", ""))
        Handler.paths.append(path)
        if path in ("/img.png", "/host") or path.startswith("/img.png?"):
            self.send(200, IMAGE)
        elif path == "/garbage":
            self.wfile.write(b"this is not HTTP\r\n\r\n")
            self.close_connection = True
        elif path == "/octet":
            self.send(200, IMAGE, "application/octet-stream")
        elif path == "/html":
            self.send(200, b"<html><body>hello</body></html>", "text/html; charset=utf-8")
        elif path == "/missing":
            self.send(404, b"not here", "text/plain")
        elif path.startswith("/to?"):
            self.send(302, b"", "text/plain", Location=path.split("?", 1)[1])
        elif path.startswith("/chain/"):
            left = int(path.rsplit("/", 1)[1])
            target = "/img.png" if left <= 1 else f"/chain/{left - 1}"  # left redirects
            self.send(301 if left % 2 else 307, b"", "text/plain", Location=target)
        elif path == "/loop":
            self.send(302, b"", "text/plain", Location="/loop")
        elif path == "/declared-big":
            self.send(200, IMAGE + b"\x00" * 5000)
        elif path == "/undeclared-big":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(IMAGE + b"\x00" * 5000)
            self.close_connection = True
        elif path == "/slow":
            time.sleep(1.5)
            self.send(200, IMAGE)
        elif path == "/short":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(IMAGE) + 100))
            self.end_headers()
            self.wfile.write(IMAGE)
            self.close_connection = True
        elif path == "/drip-headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nX-Slow: ")
            for _ in range(30):
                self.wfile.write(b"a")
                self.wfile.flush()
                time.sleep(0.05)
            self.close_connection = True
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b"\x89")
                self.wfile.flush()
                time.sleep(0.05)
        else:
            self.send(500, b"unexpected", "text/plain")


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hanging up early (caps, timeouts) is what several tests do


def serve(server: QuietServer) -> Iterator[str]:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    """``127.0.0.1:PORT`` of a plain HTTP server."""
    yield from serve(QuietServer(("127.0.0.1", 0), Handler))


def fetch(url: str, policy: FetchPolicy = OPEN) -> bytes:
    return fetch_url(url, field=FIELD, policy=policy)


# --- the private-address rule ----------------------------------------------------------


def test_loopback_is_refused_by_default(origin: str) -> None:
    with pytest.raises(
        InputFetchError, match=f"^{FIELD}: refusing .*non-public address .*127.0.0.1"
    ):
        fetch(f"http://{origin}/img.png", FetchPolicy())


def test_loopback_works_when_private_addresses_are_allowed(origin: str) -> None:
    assert fetch(f"http://{origin}/img.png") == IMAGE


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "127.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "localhost",
        "0.0.0.0",
        "[::]",
    ],
)
def test_odd_spellings_of_loopback_are_refused(host: str, origin: str) -> None:
    port = origin.rsplit(":", 1)[1]
    with pytest.raises(InputFetchError, match="non-public address"):
        fetch(f"http://{host}:{port}/img.png", FetchPolicy(timeout_s=2.0))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/x.png",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "javascript:alert(1)",
        "//127.0.0.1/x",
    ],
)
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(InputFetchError, match=f"^{FIELD}: only http and https"):
        fetch(url)


@pytest.mark.parametrize(
    "url", ["http:///x.png", "http://127.0.0.1:99999/", "http://127.0.0.1:port/"]
)
def test_malformed_urls(url: str) -> None:
    with pytest.raises(InputFetchError, match=FIELD):
        fetch(url)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2606:4700:4700::1111", True),
        ("64:ff9b::808:808", True),  # NAT64 of a public address
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # shared address space
        ("100.100.100.200", False),  # a cloud metadata address inside it
        ("0.0.0.0", False),
        ("255.255.255.255", False),
        ("224.0.0.1", False),
        ("198.18.0.1", False),
        ("192.0.0.1", False),
        ("192.0.2.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::", False),  # 6to4 of 169.254.169.254
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("2001:db8::1", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


# --- connecting to the address that was checked ------------------------------------------


def test_connects_to_the_checked_address_with_one_lookup(
    origin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = int(origin.rsplit(":", 1)[1])
    lookups: list[str] = []
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        if host == "images.example":
            # A rebinding resolver would answer differently the second time; there is none.
            return real("127.0.0.1", *args, **kwargs) if len(lookups) == 1 else []
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    Handler.hosts.clear()
    assert fetch(f"http://images.example:{port}/host") == IMAGE
    assert lookups == ["images.example"]
    assert Handler.hosts == [f"images.example:{port}"]


def test_every_address_of_a_host_must_be_public(
    origin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = int(origin.rsplit(":", 1)[1])

    def two_answers(host: str, *args: Any, **kwargs: Any) -> Any:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    with pytest.raises(InputFetchError, match=r"10\.0\.0\.7"):
        fetch(f"http://mixed.example:{port}/img.png", FetchPolicy(timeout_s=2.0))


# --- redirects -------------------------------------------------------------------------


def test_redirect_chain_is_followed(origin: str) -> None:
    assert fetch(f"http://{origin}/chain/3") == IMAGE
    assert fetch(f"http://{origin}/to?http://{origin}/img.png") == IMAGE


def test_redirect_chain_counts_against_the_limit(origin: str) -> None:
    limited = FetchPolicy(allow_private=True, max_redirects=2, timeout_s=2.0)
    assert fetch(f"http://{origin}/chain/2", limited) == IMAGE
    with pytest.raises(InputFetchError, match="redirected more than 2 times"):
        fetch(f"http://{origin}/chain/3", limited)
    with pytest.raises(InputFetchError, match="redirected more than 5 times"):
        fetch(f"http://{origin}/loop")


def test_every_redirect_is_checked_again(origin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend 127.0.0.1 is public so that the first hop passes the default policy.
    monkeypatch.setattr(fetch_module, "is_public_address", lambda ip: str(ip) == "127.0.0.1")
    strict = FetchPolicy(timeout_s=2.0)
    assert fetch(f"http://{origin}/img.png", strict) == IMAGE
    port = origin.rsplit(":", 1)[1]
    for target in (
        f"http://127.0.0.2:{port}/img.png",
        f"http://[::1]:{port}/",
        "file:///etc/passwd",
    ):
        with pytest.raises(InputFetchError, match="refusing|only http"):
            fetch(f"http://{origin}/to?{target}", strict)


# --- status, content, size and time ------------------------------------------------------


def test_non_2xx_status_is_reported(origin: str) -> None:
    with pytest.raises(InputFetchError, match=f"^{FIELD}: .*HTTP 404"):
        fetch(f"http://{origin}/missing")


def test_body_must_be_an_image(origin: str) -> None:
    with pytest.raises(InputFetchError, match='did not return an image \\(content-type "text/html'):
        fetch(f"http://{origin}/html")


def test_image_signature_wins_over_content_type(origin: str) -> None:
    assert fetch(f"http://{origin}/octet") == IMAGE


def test_declared_size_over_the_cap(origin: str) -> None:
    with pytest.raises(ImageTooLarge, match=f"^{FIELD}: .*limit of 1,000 bytes"):
        fetch(f"http://{origin}/declared-big", FetchPolicy(allow_private=True, max_bytes=1000))


def test_streamed_size_over_the_cap(origin: str) -> None:
    with pytest.raises(ImageTooLarge, match="limit of 1,000 bytes"):
        fetch(f"http://{origin}/undeclared-big", FetchPolicy(allow_private=True, max_bytes=1000))
    assert fetch(f"http://{origin}/undeclared-big", OPEN).startswith(IMAGE)


def test_slow_server_times_out(origin: str) -> None:
    started = time.monotonic()
    with pytest.raises(InputFetchError, match="timed out after 0.3 s"):
        fetch(f"http://{origin}/slow", FetchPolicy(allow_private=True, timeout_s=0.3))
    assert time.monotonic() - started < 1.0


def test_dripping_server_hits_the_overall_deadline(origin: str) -> None:
    started = time.monotonic()
    with pytest.raises(InputFetchError, match="timed out"):
        fetch(f"http://{origin}/drip", FetchPolicy(allow_private=True, timeout_s=0.4))
    assert time.monotonic() - started < 1.0


def test_request_target_is_percent_encoded_only_where_needed(origin: str) -> None:
    Handler.paths.clear()
    assert fetch(f"http://{origin}/img.png?q=ü x&sig=a%2Fb[1]#fragment") == IMAGE
    assert Handler.paths == ["/img.png?q=%C3%BC%20x&sig=a%2Fb[1]"]


def test_malformed_response_is_a_fetch_error(origin: str) -> None:
    with pytest.raises(InputFetchError, match=f"^{FIELD}: could not fetch the URL"):
        fetch(f"http://{origin}/garbage")


def test_hanging_dns_hits_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.5)
        raise socket.gaierror("too late")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    started = time.monotonic()
    with pytest.raises(InputFetchError, match="timed out after 0.3 s"):
        fetch("http://slow-dns.example/img.png", FetchPolicy(timeout_s=0.3))
    assert time.monotonic() - started < 1.0


def test_body_shorter_than_declared_is_an_error(origin: str) -> None:
    with pytest.raises(InputFetchError, match="closed after"):
        fetch(f"http://{origin}/short")


def test_trickled_headers_hit_the_overall_deadline(origin: str) -> None:
    started = time.monotonic()
    with pytest.raises(InputFetchError, match="timed out after 0.4 s"):
        fetch(f"http://{origin}/drip-headers", FetchPolicy(allow_private=True, timeout_s=0.4))
    assert time.monotonic() - started < 1.0


def test_connection_refused_is_a_fetch_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(InputFetchError, match=f"^{FIELD}: could not fetch the URL"):
        fetch(f"http://127.0.0.1:{port}/img.png")


def test_unresolvable_host_is_a_fetch_error() -> None:
    with pytest.raises(InputFetchError, match="could not resolve"):
        fetch("http://no-such-host.invalid/img.png")


def test_load_image_fetches_urls_under_the_settings(origin: str) -> None:
    url = f"http://{origin}/img.png"
    with pytest.raises(InputFetchError, match="SEGSWAP_ALLOW_PRIVATE_URLS"):
        load_image(url, field=FIELD, settings=Settings())
    result = load_image(url, field=FIELD, settings=Settings(allow_private_urls=True))
    assert result.shape == (4, 4, 3)


def test_from_settings() -> None:
    policy = FetchPolicy.from_settings(
        Settings(
            allow_private_urls=True, fetch_max_bytes=7, fetch_timeout=1.5, fetch_max_redirects=0
        )
    )
    assert policy == FetchPolicy(allow_private=True, max_bytes=7, timeout_s=1.5, max_redirects=0)


# --- HTTPS: certificates are verified against the URL's host name ----------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_origin(certificate: tuple[Path, Path]) -> Iterator[str]:
    server = QuietServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from serve(server)


def test_https_with_an_untrusted_certificate_fails(tls_origin: str) -> None:
    with pytest.raises(InputFetchError, match="TLS error .*certificate verify failed"):
        fetch(f"https://{tls_origin}/img.png")


def test_https_with_a_trusted_certificate(
    tls_origin: str, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    monkeypatch.setattr(fetch_module.ssl, "create_default_context", lambda: trusting)
    assert fetch(f"https://{tls_origin}/img.png") == IMAGE
    port = tls_origin.rsplit(":", 1)[1]
    assert fetch(f"https://localhost:{port}/img.png") == IMAGE
