"""A tiny HTTP server on 127.0.0.1 in front of a real registry that misbehaves on purpose:
it passes every request through, except that it can serve a tampered blob (same size,
other bytes), cut the connection half-way through a blob, or serve manifests of its own
(e.g. a schema 1 one)."""

from __future__ import annotations

import http.client
import http.server
import threading
from dataclasses import dataclass, field


@dataclass
class Faults:
    tamper: set[str] = field(default_factory=set)     # blob digests served with other bytes
    cut: set[str] = field(default_factory=set)        # blob digests cut off half-way
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # path -> (type, body)
    hits: list[str] = field(default_factory=list)


class FaultyProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults = Faults()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                faults = proxy.faults
                faults.hits.append(self.path)
                if self.path in faults.manifests:
                    ctype, body = faults.manifests[self.path]
                    self.send_response(200)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if not head:
                        self.wfile.write(body)
                    return
                host, port = proxy.upstream.rsplit(":", 1)
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request(self.command, self.path, headers=headers)
                resp = conn.getresponse()
                if resp.status in (301, 302, 307):  # keep redirects on this proxy
                    location = resp.getheader("Location", "").replace(proxy.upstream, proxy.address)
                    resp.read()
                    conn.close()
                    self.send_response(resp.status)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = resp.read()
                conn.close()
                digest = self.path.rsplit("/", 1)[-1] if "/blobs/" in self.path else ""
                if digest in faults.tamper and body:
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if head:
                    return
                if digest in faults.cut:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FaultyProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
