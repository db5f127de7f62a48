"""Hijacked connections (attach): after `101 UPGRADED` the socket carries raw bytes
both ways.

aiohttp knows `Upgrade: tcp` and stops parsing HTTP after it; we then move the
transport to our own protocol so that a client's half-close (stdin EOF) does
not close our sending side, as the docker CLI's `run -i` relies on.
"""

from __future__ import annotations

import asyncio
import ssl

from aiohttp import web

from .wire import RAW_STREAM


class HijackedStream(asyncio.Protocol):
    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.reader = asyncio.StreamReader()
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.closed = False
        self.lost = asyncio.Event()   # the connection is gone (both ways)
        # the HTTP protocol we took the transport from: told when the connection ends, so it
        # stops counting it (aiohttp's connection list, the server's connection limit)
        self.handed_over_from: asyncio.BaseProtocol | None = None

    # asyncio.Protocol
    def data_received(self, data: bytes) -> None:
        self.reader.feed_data(data)

    def eof_received(self) -> bool:
        self.reader.feed_eof()
        return True  # keep our side open: output may still come

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reader.feed_eof()
        self._can_write.set()
        self.lost.set()
        previous, self.handed_over_from = self.handed_over_from, None
        if previous is not None:
            previous.connection_lost(exc)

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # for the handler
    async def write(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("client went away")
        self.transport.write(data)
        await self._can_write.wait()

    def close(self) -> None:
        self.transport.close()


class TLSHijackedStream(HijackedStream):
    """The same over TLS. asyncio's SSL transport cannot half-close (a client's
    close_notify, which the docker CLI sends as CloseWrite, ends the connection),
    so after 101 we drive the TLS session ourselves on the raw transport: the
    peer's close_notify is stdin's EOF and we keep sending (TLS 1.3 half-close)."""

    def __init__(self, raw: asyncio.Transport, sslobj: ssl.SSLObject,
                 incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO) -> None:
        super().__init__(raw)
        self._sslobj, self._incoming, self._outgoing = sslobj, incoming, outgoing

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        while True:
            try:
                chunk = self._sslobj.read(65536)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self.reader.feed_eof()
                break
            except ssl.SSLError:
                self.transport.close()
                break
            if not chunk:
                self.reader.feed_eof()
                break
            self.reader.feed_data(chunk)
        self._flush()

    def _flush(self) -> None:
        pending = self._outgoing.read()
        if pending and not self.closed:
            self.transport.write(pending)

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("client went away")
        self._sslobj.write(data)
        self._flush()
        await self._can_write.wait()

    def close(self) -> None:
        try:
            self._sslobj.unwrap()  # our close_notify
        except ssl.SSLError:
            pass  # the peer's has not come (or the session broke): close anyway
        self._flush()
        self.transport.close()


def wants_upgrade(request: web.Request) -> bool:
    return ("upgrade" in request.headers.get("Connection", "").lower()
            and request.headers.get("Upgrade", "").lower() == "tcp")


async def hijack(request: web.Request) -> tuple[HijackedStream, web.StreamResponse]:
    """Answer 101 and take over the connection; return it and the response to return."""
    response = web.StreamResponse(status=101, headers={
        "Content-Type": RAW_STREAM, "Connection": "Upgrade", "Upgrade": "tcp"})
    response.force_close()
    await response.prepare(request)
    transport = request.transport
    protocol = request.protocol
    assert transport is not None
    ssl_protocol = getattr(transport, "_ssl_protocol", None)
    if ssl_protocol is not None:  # asyncio internals: the TLS session and the raw transport
        transport = ssl_protocol._transport
        stream: HijackedStream = TLSHijackedStream(transport, ssl_protocol._sslobj,
                                                   ssl_protocol._incoming, ssl_protocol._outgoing)
    else:
        stream = HijackedStream(transport)
    # Bytes that arrived after the request head, before the switch (aiohttp internals).
    tail = getattr(protocol, "_message_tail", b"")
    if tail:
        protocol._message_tail = b""
        stream.data_received(tail)
    stream.handed_over_from = protocol
    transport.set_protocol(stream)
    transport.resume_reading()
    return stream, response
