"""Fetching URL inputs safely (SPEC §6), with the standard library only.

* ``http`` and ``https`` only.
* The host is resolved once; if any of its addresses is not a public unicast address
  (loopback, private, link-local, shared/CGNAT, multicast, reserved, unspecified, or an
  IPv6 form embedding one of those) the URL is refused, unless the policy allows private
  addresses. The connection then goes to an address that was checked, so a DNS answer
  that changes between the check and the connection (DNS rebinding) cannot redirect it.
  HTTPS certificates are still verified against the host name.
* Redirects are followed by hand, up to a limit, and every new URL is checked again.
* The whole fetch, DNS included, has one deadline; the body has a byte cap, checked
  against ``Content-Length`` first and counted while reading.
* The body must start with an image signature, whatever ``Content-Type`` says.

Every failure is an :class:`~segswap.errors.InputFetchError` or, for the byte cap,
:class:`~segswap.errors.ImageTooLarge`; nothing else escapes.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

from segswap.errors import ImageTooLarge, InputFetchError, InvalidParameter, shown
from segswap.io.decode import EXPECTED, sniff_format

if TYPE_CHECKING:
    from segswap.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SockAddr = tuple[socket.AddressFamily, tuple[object, ...]]

USER_AGENT = "segswap/0.1 (+image input fetcher)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_SENDABLE = "".join(chr(code) for code in range(0x21, 0x7F))
_PRIVATE_HINT = (
    "set SEGSWAP_ALLOW_PRIVATE_URLS=1 where segswap runs (or pass --allow-private-urls)"
    " to allow such addresses"
)

# Ranges the ipaddress properties miss on some Python versions, or count as global.
_EXTRA_BLOCKED: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.ip_network("0.0.0.0/8"),  # "this network"
    ipaddress.ip_network("100.64.0.0/10"),  # shared address space (CGNAT, some clouds)
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("198.18.0.0/15"),  # benchmarking
    ipaddress.ip_network("240.0.0.0/4"),  # reserved, and 255.255.255.255
    ipaddress.ip_network("fc00::/7"),  # unique local
    ipaddress.ip_network("fec0::/10"),  # site local (deprecated)
    ipaddress.ip_network("2001::/32"),  # Teredo: the real client address is hidden
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True, kw_only=True)
class FetchPolicy:
    """Limits of one URL fetch.

    Attributes:
        allow_private: also fetch from non-public addresses (``SEGSWAP_ALLOW_PRIVATE_URLS``).
        max_bytes: largest accepted body, bytes (≥ 1).
        timeout_s: deadline of the whole fetch, redirects and DNS included, seconds (> 0).
        max_redirects: redirects followed (≥ 0); one more is an error.
    """

    allow_private: bool = False
    max_bytes: int = 50 * 1024 * 1024
    timeout_s: float = 20.0
    max_redirects: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        """The policy the ``SEGSWAP_*`` settings describe."""
        return cls(
            allow_private=settings.allow_private_urls,
            max_bytes=settings.fetch_max_bytes,
            timeout_s=settings.fetch_timeout,
            max_redirects=settings.fetch_max_redirects,
        )


def is_public_address(ip: IPAddress) -> bool:
    """True for a public unicast address; False for loopback, private, link-local,
    multicast, reserved, unspecified and shared ranges, including IPv4 addresses
    embedded in IPv6 (IPv4-mapped, 6to4, NAT64)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public_address(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            return is_public_address(ip.sixtofour)
        if ip in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.is_site_local:
            return False
    if (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    ):
        return False
    return not any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version)


def fetch_url(url: str, *, field: str, policy: FetchPolicy) -> bytes:
    """Download an image file from ``url`` under ``policy``.

    Args:
        url: an ``http://`` or ``https://`` URL.
        field: the parameter name used in error messages.
        policy: the limits (see :class:`FetchPolicy`).

    Returns:
        The body, which starts with a PNG, JPEG, WebP, GIF, BMP or TIFF signature.

    Raises:
        ImageTooLarge: the body is larger than ``policy.max_bytes``.
        InputFetchError: anything else: a refused URL, a network error, a timeout, a
            non-2xx status, too many redirects, or a body that is not an image.
    """
    deadline = time.monotonic() + policy.timeout_s
    current = url.strip()
    for hop in range(policy.max_redirects + 1):
        try:
            location, body = _fetch_once(current, field, policy, deadline)
        except InvalidParameter:
            raise
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise _network_error(error, field, policy, deadline) from None
        if location is None:
            return body
        if hop == policy.max_redirects:
            break
        current = urljoin(current, location)
    raise InputFetchError(
        field, f"the URL redirected more than {policy.max_redirects} times; giving up"
    )


def check_url(url: str, *, field: str, policy: FetchPolicy) -> None:
    """Raise :class:`InputFetchError` naming ``field`` unless ``url`` is an http(s) URL
    whose host resolves, and only to addresses ``policy`` allows (the rules of
    :func:`fetch_url`, checked without connecting: e.g. a webhook URL at submit time)."""
    deadline = time.monotonic() + policy.timeout_s
    try:
        _checked_target(url.strip(), field, policy, deadline)
    except InvalidParameter:
        raise
    except (OSError, ValueError) as error:
        raise _network_error(error, field, policy, deadline) from None


def post_json(
    url: str, body: bytes, headers: dict[str, str], *, field: str, policy: FetchPolicy
) -> int:
    """POST ``body`` (JSON) to ``url`` under the rules of :func:`fetch_url` (addresses
    checked, then pinned; one deadline; no redirects followed) and return the HTTP status.

    Raises:
        InputFetchError: a refused URL, a network error or a timeout.
    """
    deadline = time.monotonic() + policy.timeout_s
    try:
        connection, target = _checked_target(url.strip(), field, policy, deadline)
    except InvalidParameter:
        raise
    except (OSError, ValueError) as error:
        raise _network_error(error, field, policy, deadline) from None
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _cut, (connection,))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request(
            "POST",
            target,
            body=body,
            headers={
                "User-Agent": USER_AGENT,
                "Content-Type": "application/json",
                "Connection": "close",
                **headers,
            },
        )
        _set_timeout(connection, _remaining(deadline, field, policy))
        response = connection.getresponse()
        response.read(64 * 1024)  # the answer's body is not used; read a little of it
        return int(response.status)
    except InvalidParameter:
        raise
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise _network_error(error, field, policy, deadline) from None
    finally:
        watchdog.cancel()
        connection.close()


def _checked_target(
    url: str, field: str, policy: FetchPolicy, deadline: float
) -> tuple[http.client.HTTPConnection, str]:
    """An (unopened) connection pinned to ``url``'s checked addresses, and the request
    target to send. Raises :class:`InputFetchError` for a URL the policy refuses."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"'{scheme}'" if scheme else "none"
        raise InputFetchError(field, f"only http and https URLs are fetched, got scheme {shown}")
    host = parts.hostname
    if not host:
        raise InputFetchError(field, "the URL has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise InputFetchError(field, "the URL's port is not a number in 1-65535") from None
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise InputFetchError(field, f"the URL's host {host!r} is not a valid name") from None

    addresses = _resolve(ascii_host, port, field, policy, deadline)
    if not policy.allow_private:
        for _, sockaddr in addresses:
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if not is_public_address(ip):
                raise InputFetchError(
                    field,
                    f"refusing to fetch from {host!r}: it resolves to a non-public address "
                    f"({ip}); {_PRIVATE_HINT}",
                )

    timeout = _remaining(deadline, field, policy)
    connection: http.client.HTTPConnection
    if scheme == "https":
        connection = _PinnedHTTPSConnection(ascii_host, port, addresses, timeout)
    else:
        connection = _PinnedHTTPConnection(ascii_host, port, addresses, timeout)
    # Percent-encode only what cannot go on the request line (spaces, controls, non-ASCII);
    # everything else is sent as given, so signed URLs keep their exact bytes.
    target = quote(parts.path or "/", safe=_SENDABLE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_SENDABLE)
    return connection, target


def _fetch_once(
    url: str, field: str, policy: FetchPolicy, deadline: float
) -> tuple[str | None, bytes]:
    """One request. Returns (the redirect's Location, b"") or (None, the body)."""
    connection, target = _checked_target(url, field, policy, deadline)
    # Socket timeouts bound each read, not a server that trickles bytes; the watchdog
    # closes the connection at the deadline whatever it is doing.
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _cut, (connection,))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request(
            "GET",
            target,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "image/png,image/jpeg,image/webp,image/*;q=0.8",
                "Accept-Encoding": "identity",
                "Connection": "close",
            },
        )
        _set_timeout(connection, _remaining(deadline, field, policy))
        response = connection.getresponse()
        status = response.status
        if status in _REDIRECTS:
            location = response.getheader("Location")
            if not location:
                raise InputFetchError(field, f"the URL answered HTTP {status} with no Location")
            return location.strip(), b""
        if not 200 <= status < 300:
            reason = response.reason.strip() if response.reason else ""
            raise InputFetchError(
                field, f"fetching the URL failed with HTTP {status} {reason}".rstrip()
            )
        body = _read_body(connection, response, field, policy, deadline)
    finally:
        watchdog.cancel()
        connection.close()
    if sniff_format(body) is None:
        content_type = response.getheader("Content-Type") or "none"
        raise InputFetchError(
            field,
            f"the URL did not return an image (content-type {shown(content_type)}); {EXPECTED}",
        )
    return None, body


def _read_body(
    connection: http.client.HTTPConnection,
    response: http.client.HTTPResponse,
    field: str,
    policy: FetchPolicy,
    deadline: float,
) -> bytes:
    header = (response.getheader("Content-Length") or "").strip()
    declared = int(header) if header.isdigit() else None
    if declared is not None and declared > policy.max_bytes:
        raise _too_large(field, policy, declared)
    chunks: list[bytes] = []
    size = 0
    while True:
        _set_timeout(connection, _remaining(deadline, field, policy))
        chunk = response.read1(_CHUNK)
        if not chunk:
            _remaining(deadline, field, policy)  # an end caused by the watchdog is a timeout
            if declared is not None and size < declared:
                raise InputFetchError(
                    field, f"the connection closed after {size:,} of {declared:,} bytes"
                )
            return b"".join(chunks)
        size += len(chunk)
        if size > policy.max_bytes:
            raise _too_large(field, policy, None)
        chunks.append(chunk)


def _resolve(
    host: str, port: int, field: str, policy: FetchPolicy, deadline: float
) -> list[SockAddr]:
    """``getaddrinfo`` under the fetch deadline (it has no timeout of its own, so it runs
    in a daemon thread that is abandoned if it hangs)."""
    found: list[list[tuple[Any, ...]]] = []
    failed: list[BaseException] = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as error:
            failed.append(error)

    worker = threading.Thread(target=lookup, name="segswap-dns", daemon=True)
    worker.start()
    worker.join(_remaining(deadline, field, policy))
    if failed:
        raise InputFetchError(field, f"could not resolve the URL's host {host!r}")
    if not found:
        raise _timeout(field, policy)
    addresses: list[SockAddr] = []
    for family, _, _, _, sockaddr in found[0]:
        entry = (family, tuple(sockaddr))
        if family in (socket.AF_INET, socket.AF_INET6) and entry not in addresses:
            addresses.append(entry)
    if not addresses:
        raise InputFetchError(field, f"the URL's host {host!r} has no IP address")
    return addresses


def _open_socket(addresses: list[SockAddr], timeout: float | None) -> socket.socket:
    """A TCP connection to the first of ``addresses`` (all already checked) that answers."""
    last: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(sockaddr)
            return sock
        except OSError as error:
            sock.close()
            last = error
    assert last is not None
    raise last


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to pre-checked addresses instead of a fresh DNS lookup."""

    def __init__(self, host: str, port: int, addresses: list[SockAddr], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _open_socket(self._addresses, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to pre-checked addresses; the certificate is verified against
    the URL's host name with the default (system) trust store."""

    def __init__(self, host: str, port: int, addresses: list[SockAddr], timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._addresses = addresses

    def connect(self) -> None:
        sock = _open_socket(self._addresses, self.timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _cut(connection: http.client.HTTPConnection) -> None:
    """Shut a connection down from another thread: any blocked read returns at once."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError, ValueError):
            sock.shutdown(socket.SHUT_RDWR)


def _network_error(
    error: BaseException, field: str, policy: FetchPolicy, deadline: float
) -> InputFetchError:
    # Past the deadline, whatever broke was the timeout or the watchdog cutting in.
    if isinstance(error, TimeoutError) or time.monotonic() >= deadline:
        return _timeout(field, policy)
    if isinstance(error, ssl.SSLError):
        return InputFetchError(field, f"TLS error fetching the URL: {_short(error)}")
    return InputFetchError(field, f"could not fetch the URL: {_short(error)}")


def _set_timeout(connection: http.client.HTTPConnection, seconds: float) -> None:
    if connection.sock is not None:
        connection.sock.settimeout(seconds)


def _remaining(deadline: float, field: str, policy: FetchPolicy) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timeout(field, policy)
    return left


def _timeout(field: str, policy: FetchPolicy) -> InputFetchError:
    return InputFetchError(field, f"fetching the URL timed out after {policy.timeout_s:g} s")


def _too_large(field: str, policy: FetchPolicy, declared: int | None) -> ImageTooLarge:
    size = "more" if declared is None else f"{declared:,} bytes, more"
    return ImageTooLarge(
        field, f"the URL returned {size} than the limit of {policy.max_bytes:,} bytes"
    )


def _short(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."
