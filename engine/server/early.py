"""The API's first answers: `/_ping` from the moment the socket is published, before
aiohttp is even imported (importing it is most of a start's time: 0.1 s and more).

main.py serves each listener with `EarlyServer` while aiohttp and the app are imported
in a thread. An early connection answers `GET`/`HEAD /_ping` itself, with the bytes
aiohttp's route (ping.py) would send; any other request stays unread in its buffer.
Once the app serves, `hand_over` gives every connection, with what it has buffered, to
the app's connection handler, and new connections go straight to it: a client never
sees the switch. No aiohttp here, and nothing that imports it."""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from ..api.versions import CURRENT

SERVER = f"pyctr (API {CURRENT})"   # the Server header of every answer (router.py sets it too)
MAX_EARLY_HEAD = 8192               # a longer head is not a ping: the app gets it
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def ping_headers() -> dict[str, str]:
    # OSType: the docker CLI parses --device by the server's OS ("unknown server OS" without it).
    # Builder-Version 1: the classic builder (no BuildKit); Swarm: this node is in none.
    return {"API-Version": str(CURRENT), "Docker-Experimental": "false", "OSType": "linux",
            "Builder-Version": "1", "Swarm": "inactive",
            "Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache"}


def _http_date(now: float) -> str:
    t = time.gmtime(now)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


def ping_answer(head_only: bool, version: str, close: bool) -> bytes:
    """The answer to a ping, as aiohttp writes ping.py's: 200, "OK", text/plain."""
    headers = {**ping_headers(), "Server": SERVER, "Content-Type": "text/plain; charset=utf-8",
               "Content-Length": "2", "Date": _http_date(time.time())}
    if version == "1.1" and close:
        headers["Connection"] = "close"
    elif version == "1.0" and not close:
        headers["Connection"] = "keep-alive"
    lines = [f"HTTP/{version} 200 OK", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else b"OK")


class EarlyServer:
    """The protocol factory of every listener, from publishing until the app serves."""

    def __init__(self) -> None:
        self.servers: list[asyncio.Server] = []
        self._connections: set[EarlyConnection] = set()
        self._handler: Callable[[], asyncio.BaseProtocol] | None = None

    def protocol(self) -> asyncio.BaseProtocol:
        if self._handler is not None:
            return self._handler()
        return EarlyConnection(self._connections)

    async def serve(self, sock, ssl_context=None, handshake_timeout: float | None = None) -> asyncio.Server:
        server = await asyncio.get_running_loop().create_server(
            self.protocol, sock=sock, ssl=ssl_context, backlog=128,
            ssl_handshake_timeout=handshake_timeout if ssl_context is not None else None)
        self.servers.append(server)
        return server

    def hand_over(self, handler: Callable[[], asyncio.BaseProtocol]) -> None:
        """From now on `handler()` makes each connection's protocol, the early ones' too."""
        self._handler = handler
        early, self._connections = self._connections, set()
        for connection in early:
            connection.hand_over(handler())

    def close(self) -> None:
        """The daemon does not start after all: close the listeners and connections."""
        for server in self.servers:
            server.close()
        for connection in list(self._connections):
            connection.close()


class EarlyConnection(asyncio.Protocol):
    """Answers pings until its first other request, which waits for `hand_over`."""

    def __init__(self, registry: set[EarlyConnection]) -> None:
        self._registry = registry
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._held = False   # a request that is not a ping came: the app answers it (reading paused)
        self._eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._registry.add(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while not self._held and self._transport is not None and not self._transport.is_closing():
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_EARLY_HEAD:
                    self._hold()
                return
            answer = _answer_to(self._buffer[:end])
            if answer is None:
                self._hold()
                return
            self._buffer = self._buffer[end + 4:]
            payload, close = answer
            self._transport.write(payload)
            if close:
                self._transport.close()

    def _hold(self) -> None:
        """Leave the rest to the app; what more comes (a body) waits in the socket meanwhile."""
        self._held = True
        assert self._transport is not None
        self._transport.pause_reading()

    def eof_received(self) -> bool:
        self._eof = True
        return bool(self._buffer.strip())   # a held request: the app decides at the hand-over

    def connection_lost(self, exc: BaseException | None) -> None:
        self._registry.discard(self)
        self._transport = None

    def hand_over(self, protocol: asyncio.BaseProtocol) -> None:
        transport, self._transport = self._transport, None
        if transport is None or transport.is_closing():
            return
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if self._buffer:
            protocol.data_received(self._buffer)   # type: ignore[attr-defined]
        if self._held:
            transport.resume_reading()
        if self._eof and not protocol.eof_received():   # type: ignore[attr-defined]
            transport.close()   # what asyncio does when a protocol does not keep a half-close

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _answer_to(head: bytes) -> tuple[bytes, bool] | None:
    """(the answer, close after it) to a request head that is a plain ping; None for
    anything else (another path, a body, a malformed head), which the app answers."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        return None
    request_line, *header_lines = text.split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or parts[0] not in ("GET", "HEAD") or parts[2] not in ("HTTP/1.0", "HTTP/1.1"):
        return None
    if parts[1].split("?", 1)[0] != "/_ping":
        return None
    headers: dict[str, str] = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            return None
        headers[name.lower()] = value.strip()
    version = parts[2][5:]
    if "transfer-encoding" in headers or headers.get("content-length", "0") != "0" or "upgrade" in headers:
        return None
    if version == "1.1" and "host" not in headers:   # aiohttp's 400
        return None
    connection = headers.get("connection", "").lower()
    close = connection == "close" or (version == "1.0" and connection != "keep-alive")
    return ping_answer(parts[0] == "HEAD", version, close), close
