"""HTTP/1.1 to the daemon over a unix or tcp socket, with stdlib http.client.

Synchronous on purpose: `pyctr` must start fast (aiohttp alone costs ~0.3 s of
imports) and a CLI does one thing at a time. The one exception, attach, is a
hijacked connection: after the response headers the socket carries raw bytes in
both directions, which `Hijacked` exposes."""

from __future__ import annotations

import http.client
import socket
import ssl
from typing import TYPE_CHECKING

from .errors import APIError, ClientError, DaemonUnreachable
from .hosts import Host

if TYPE_CHECKING:  # ssl is imported only when TLS is used
    from .tls import TLSConfig


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None = None):
        # The Host header is required by HTTP/1.1 but meaningless on a socket file.
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def open_connection(host: Host, timeout: float | None = None,
                    tls: "TLSConfig | None" = None) -> http.client.HTTPConnection:
    if host.scheme == "unix":
        return UnixHTTPConnection(host.path, timeout=timeout)
    if tls is not None:
        return http.client.HTTPSConnection(host.hostname, host.port, timeout=timeout,
                                           context=tls.context())
    return http.client.HTTPConnection(host.hostname, host.port, timeout=timeout)


def tls_failure(host: Host, exc: OSError) -> ClientError:
    from .tls import describe_ssl_error
    return ClientError(describe_ssl_error(exc, host.url))


def unreachable(host: Host, exc: OSError) -> DaemonUnreachable:
    reason = "permission" if isinstance(exc, PermissionError) else "refused"
    return DaemonUnreachable(host.url, reason)


def error_message(body: bytes, reason: str) -> str:
    """The text of an error response: JSON `{"message": ...}`, else the body."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            import json

            message = json.loads(text).get("message")
            if isinstance(message, str):
                return message
        except ValueError:
            pass
    return text or reason


class Hijacked:
    """A connection taken over after an attach request.

    `read(n)` returns what is available (at least one byte) or b"" at EOF;
    `send` writes; `close_write` half-closes so the daemon sees stdin's EOF while
    output keeps flowing back."""

    def __init__(self, sock: socket.socket, reader, chunked: bool = False):
        self.sock = sock
        self._reader = reader
        self._chunked_left = 0 if chunked else -1  # -1: not chunked
        self._eof = False

    def read(self, n: int = 32768) -> bytes:
        if self._eof:
            return b""
        if self._chunked_left < 0:
            data = self._reader.read1(n)
        else:
            data = self._read_chunked(n)
        if not data:
            self._eof = True
        return data

    def _read_chunked(self, n: int) -> bytes:
        # Only for daemons that answer 200 with a chunked body instead of taking
        # over the connection: undo the chunking so callers see the raw stream.
        if self._chunked_left == 0:
            line = self._reader.readline()
            if not line:
                return b""
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                return b""
            self._chunked_left = size
        data = self._reader.read1(min(n, self._chunked_left))
        self._chunked_left -= len(data)
        if self._chunked_left == 0 and data:
            self._reader.readline()  # CRLF after the chunk
        return data

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # already gone: nothing left to tell the daemon

    def close(self) -> None:
        try:
            self._reader.close()
        finally:
            self.sock.close()

    def __enter__(self) -> "Hijacked":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def hijack(host: Host, method: str, url: str, body: bytes = b"",
           tls: "TLSConfig | None" = None) -> Hijacked:
    """Send `method url` asking to upgrade to a raw tcp stream.

    Docker answers `101 UPGRADED` to `Connection: Upgrade` + `Upgrade: tcp`
    (and 200 to older clients that do not ask); both are accepted. Any other
    status is an APIError with the daemon's message."""
    if host.scheme == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: object = host.path
    else:
        sock = socket.socket(socket.AF_INET6 if ":" in host.hostname else socket.AF_INET,
                             socket.SOCK_STREAM)
        target = (host.hostname, host.port)
    try:
        sock.connect(target)
        if tls is not None:
            sock = tls.context().wrap_socket(sock, server_hostname=host.hostname)
    except ssl.SSLError as exc:
        sock.close()
        raise tls_failure(host, exc) from None
    except OSError as exc:
        sock.close()
        raise unreachable(host, exc) from None
    try:
        head = (f"{method} {url} HTTP/1.1\r\n"
                f"Host: localhost\r\n"
                f"User-Agent: pyctr\r\n"
                f"Content-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\n"
                f"Connection: Upgrade\r\n"
                f"Upgrade: tcp\r\n\r\n")
        sock.sendall(head.encode("latin-1") + body)
        reader = sock.makefile("rb")
        status_line = reader.readline(65537).decode("latin-1")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise APIError(502, f"bad response from daemon: {status_line.strip()!r}")
        status = int(parts[1])
        reason = parts[2].strip() if len(parts) > 2 else ""
        headers = http.client.parse_headers(reader)
        chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        if status in (101, 200):
            return Hijacked(sock, reader, chunked=chunked and status == 200)
        length = headers.get("Content-Length")
        if chunked:
            dechunk = Hijacked(sock, reader, chunked=True)
            body_bytes = b"".join(iter(dechunk.read, b""))
        elif length is not None and length.isdigit():
            body_bytes = reader.read(int(length))
        else:
            body_bytes = reader.read()
        raise APIError(status, error_message(body_bytes, reason))
    except BaseException:
        sock.close()
        raise
