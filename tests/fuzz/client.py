"""A raw HTTP/1.1 exchange over a unix socket that notes everything a fuzzer must
judge: whether a status line came and in time, whether it is HTTP/1.x, whether the
server closed, and the body (bounded in size and time, so endless streams end)."""

from __future__ import annotations

import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Union

STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3})[ \r]")


@dataclass
class Outcome:
    status: int | None = None        # None: no status line
    status_line: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    closed: bool = False             # the server closed (or reset) the connection
    answered_in: float = 0.0         # seconds to the status line
    problem: str = ""                # "no answer", "not HTTP/1.x", "reset" ...

    def message(self) -> str:
        return self.body[:300].decode(errors="replace")


def _recv(sock: socket.socket, deadline: float) -> bytes | None:
    """Some bytes; b"" at EOF; None when the deadline passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return None
    sock.settimeout(remaining)
    try:
        return sock.recv(65536)
    except socket.timeout:
        return None
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        return b""


Address = Union[str, "TLSAddress"]


@dataclass
class TLSAddress:
    """A TLS listener on 127.0.0.1 and the client's side of it (its certificate or none)."""
    port: int
    context: ssl.SSLContext


def connect(address: Address, timeout: float) -> socket.socket:
    """A connected socket: a unix socket's path, or a TLS listener (handshake done)."""
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except BaseException:
            sock.close()
            raise
        return sock
    raw = socket.create_connection(("127.0.0.1", address.port), timeout)
    try:
        return address.context.wrap_socket(raw, server_hostname="127.0.0.1")
    except BaseException:
        raw.close()
        raise


def exchange(address: Address, data: bytes, *, answer_timeout: float = 20.0, body_time: float = 1.5,
             body_limit: int = 1 << 20, half_close: bool = False,
             pieces: list[tuple[bytes, float]] | None = None) -> Outcome:
    """Send `data` (or `pieces`: (bytes, seconds to wait before them)), then read one answer."""
    out = Outcome()
    started = time.monotonic()
    try:
        sock = connect(address, answer_timeout)
    except (ConnectionRefusedError, FileNotFoundError) as exc:
        out.problem = f"cannot connect: {exc}"
        return out
    except (ssl.SSLError, OSError) as exc:
        out.problem = f"handshake failed: {exc}"
        return out
    try:
        try:
            for piece, delay in pieces or [(data, 0.0)]:
                if delay:
                    time.sleep(delay)
                sock.sendall(piece)
            if half_close and isinstance(address, str):   # TLS: a half close is not TLS's to give
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass   # the server answered and closed before all was sent: read what it said
        buffer = b""
        deadline = time.monotonic() + answer_timeout
        while b"\r\n\r\n" not in buffer:
            chunk = _recv(sock, deadline)
            if chunk is None:
                out.problem = "no answer" if not buffer else "head cut short"
                return out
            if not chunk:
                out.closed = True
                if buffer:
                    out.problem = "head cut short"
                    out.status_line = buffer[:80]
                return out
            buffer += chunk
        out.answered_in = time.monotonic() - started
        head, _, rest = buffer.partition(b"\r\n\r\n")
        line, *header_lines = head.split(b"\r\n")
        out.status_line = line
        match = STATUS_LINE.match(line + b"\r")
        if not match:
            out.problem = "not HTTP/1.x"
            return out
        out.status = int(match.group(1))
        for header in header_lines:
            name, _, value = header.decode(errors="replace").partition(":")
            out.headers[name.strip().lower()] = value.strip()
        out.body = rest
        length = out.headers.get("content-length")
        deadline = time.monotonic() + body_time
        while len(out.body) < body_limit:
            if length is not None and len(out.body) >= int(length):
                break
            if out.headers.get("transfer-encoding") == "chunked" and out.body.endswith(b"0\r\n\r\n"):
                break
            chunk = _recv(sock, deadline)
            if chunk is None:
                break        # a stream that goes on (events, logs -f): enough of it
            if not chunk:
                out.closed = True
                break
            out.body += chunk
        return out
    finally:
        sock.close()


def request_bytes(method: str, target: str, headers: dict[str, str] | None = None,
                  body: bytes | None = None, chunked: bool = False) -> bytes:
    """One well-formed HTTP/1.1 request (Connection: close, so one answer per connection)."""
    lines = [f"{method} {target} HTTP/1.1", "Host: pyctr", "Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    payload = b""
    if body is not None:
        if chunked:
            lines.append("Transfer-Encoding: chunked")
            step = max(1, len(body) // 3)
            for start in range(0, len(body), step):
                piece = body[start:start + step]
                payload += b"%x\r\n" % len(piece) + piece + b"\r\n"
            payload += b"0\r\n\r\n"
        else:
            lines.append(f"Content-Length: {len(body)}")
            payload = body
    return "\r\n".join(lines).encode("utf-8", "surrogatepass") + b"\r\n\r\n" + payload
