"""A tiny stand-in for pyctrd: stdlib http.server on a unix socket in a temp dir.

Tests register routes; every request is recorded. A route may answer JSON,
bytes, a JSON message stream, or take over the connection (attach), so the
client's real socket code — upgrade, half-close, demux — runs for real."""

from __future__ import annotations

import json
import os
import re
import socketserver
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str  # without the /v1.14 prefix
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    body: bytes = b""
    content_type: str = "application/json"
    chunks: list[bytes] = field(default_factory=list)  # streamed with chunked encoding


@dataclass
class Hijack:
    """Take over the connection: `serve(rfile, wfile)` runs after the upgrade reply."""

    serve: Callable[[Any, Any], None]
    status_line: str = "HTTP/1.1 101 UPGRADED"


def frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class FakeDaemon:
    def __init__(self, directory: str):
        self.socket_path = os.path.join(directory, "pyctr.sock")
        self.url = f"unix://{self.socket_path}"
        self.requests: list[Request] = []
        self.routes: list[tuple[str, re.Pattern, Callable[[Request, re.Match], Any]]] = []
        daemon = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _any(self) -> None:
                daemon._dispatch(self)

            do_GET = do_POST = do_DELETE = do_PUT = _any

        self._server = _Server(self.socket_path, Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def route(self, method: str, pattern: str, answer: Any) -> None:
        """`answer` is a Reply/Hijack/JSON value, or fn(request, match) returning one."""
        fn = answer if callable(answer) else (lambda req, m: answer)
        self.routes.append((method, re.compile(pattern + r"\Z"), fn))

    def calls(self, method: str | None = None) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests if method in (None, r.method)]

    def __enter__(self) -> "FakeDaemon":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- serving ------------------------------------------------------------

    def _read_body(self, h: BaseHTTPRequestHandler) -> bytes:
        if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    h.rfile.readline()
                    return data
                data += h.rfile.read(size)
                h.rfile.readline()
        length = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(length) if length else b""

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        path = re.sub(r"^/v1\.\d+", "", url.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        req = Request(h.command, path, query, dict(h.headers.items()), self._read_body(h))
        self.requests.append(req)
        for method, pattern, fn in self.routes:
            m = pattern.match(path)
            if method == h.command and m:
                answer = fn(req, m)
                break
        else:
            answer = Reply(404, {"message": f"no route for {h.command} {path}"})
        if isinstance(answer, Hijack):
            h.wfile.write((answer.status_line + "\r\nContent-Type: application/vnd.docker.raw-stream"
                           "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n").encode())
            h.wfile.flush()
            answer.serve(h.rfile, h.wfile)
            h.close_connection = True
            return
        if not isinstance(answer, Reply):
            answer = Reply(200, answer)
        h.send_response(answer.status)
        h.send_header("Content-Type", answer.content_type)
        if answer.chunks:
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            for chunk in answer.chunks:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                h.wfile.flush()
            h.wfile.write(b"0\r\n\r\n")
            return
        body = answer.body if answer.json is None else json.dumps(answer.json).encode()
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
