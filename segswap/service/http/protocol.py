"""The HTTP protocol ``segswap serve`` runs: uvicorn's (httptools, else h11) with JSON
protocol errors, a header read timeout and a cap on header bytes.

uvicorn's ``timeout_keep_alive`` only closes a connection that sends *nothing* after a
response; a connection that never sends a request, or sends half of its headers (one
line a second, say), stays open for ever. Here every connection gets
``header_timeout`` seconds (``SEGSWAP_HEADER_TIMEOUT``) to deliver a request's complete
headers, counted from when it opens and again from the end of each response: past it,
the server answers 408 (when part of a request came) and closes it. Headers bigger
than :data:`HEADER_MAX_BYTES` get 431 and are closed too (h11 is given the same cap).

Bodies are not guarded here: a body is read only when the app asks for it (a large one
may wait its turn), so its size cap and timeouts are those of the app's one receive
wrapper, :mod:`segswap.service.http.body_guard`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

HEADER_MAX_BYTES = 64 * 1024
"""Most bytes of request line and headers per request."""

PROTOCOL_ERROR = (
    b'{"error": "malformed HTTP request (request line, headers or Content-Length);'
    b' send a valid HTTP/1.1 request"}'
)


def _json(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


def server_protocol(header_timeout: float, base: Any = None) -> Any:
    """uvicorn's HTTP protocol class (``uvicorn.Config(http=...)``) with JSON 400s for
    requests it cannot parse, the header timeout (seconds) and the header size cap.

    ``base`` is uvicorn's protocol to extend (default: httptools if installed, else h11).
    """
    if base is None:
        from uvicorn.protocols.http.auto import AutoHTTPProtocol

        base = AutoHTTPProtocol

    class GuardedProtocol(base):  # type: ignore[misc,valid-type]
        _header_timer: asyncio.TimerHandle | None = None
        _header_bytes = 0  # bytes of the next request received so far

        # --- answers written straight to the socket (no request cycle exists) ---

        def _reply_and_close(self, status: int, reason: str, body: bytes) -> None:
            content = [f"HTTP/1.1 {status} {reason}\r\n".encode()]
            for name, value in self.server_state.default_headers:
                content += [name, b": ", value, b"\r\n"]
            content += [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
            self.transport.write(b"".join(content))
            self.transport.close()

        def send_400_response(self, msg: str) -> None:
            self._reply_and_close(400, "Bad Request", PROTOCOL_ERROR)

        # --- the header timer ---

        def _waiting_for_headers(self) -> bool:
            """No request is being served and the previous one's body has all arrived."""
            cycle = self.cycle
            return cycle is None or (cycle.response_complete and not cycle.more_body)

        def _arm_header_timer(self) -> None:
            self._disarm_header_timer()
            self._header_bytes = 0
            self._header_timer = self.loop.call_later(header_timeout, self._header_timeout)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _header_timeout(self) -> None:
            self._header_timer = None
            if self.transport.is_closing():
                return
            if self.cycle is not None and not self.cycle.response_complete:
                return  # a request is being served: its body has its own timeout
            if self._header_bytes and self._waiting_for_headers():
                message = (
                    f"request headers not received within {header_timeout:g} s"
                    " (SEGSWAP_HEADER_TIMEOUT); connection closed"
                )
                self._reply_and_close(
                    408, "Request Timeout", json.dumps({"error": message}).encode()
                )
            else:
                self.transport.close()

        # --- uvicorn's protocol callbacks ---

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            counting = self._header_timer is not None and self._waiting_for_headers()
            if counting:
                self._header_bytes += len(data)
            before = self.cycle
            super().data_received(data)
            if self.cycle is not before:  # a request's headers are complete
                self._disarm_header_timer()
            elif (
                counting
                and self._header_bytes > HEADER_MAX_BYTES
                and not self.transport.is_closing()
            ):
                message = f"request headers larger than {HEADER_MAX_BYTES} bytes"
                self._reply_and_close(431, "Request Header Fields Too Large", _json(message))

        def on_response_complete(self) -> None:
            pipelined = bool(getattr(self, "pipeline", None))  # httptools: queued requests
            before = self.cycle
            super().on_response_complete()
            if not pipelined and self.cycle is before and not self.transport.is_closing():
                self._arm_header_timer()

    return GuardedProtocol
