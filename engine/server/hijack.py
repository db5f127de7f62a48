"""Hijacked connections (attach): after `101 UPGRADED` the socket carries raw bytes
both ways.

aiohttp knows `Upgrade: tcp` and stops parsing HTTP after it; we then move the
transport to our own protocol so that a client's half-close (stdin EOF) does
not close our sending side, as the docker CLI's `run -i` relies on.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from .wire import RAW_STREAM


class HijackedStream(asyncio.Protocol):
    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.reader = asyncio.StreamReader()
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.closed = False

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
    stream = HijackedStream(transport)
    # Bytes that arrived after the request head, before the switch (aiohttp internals).
    tail = getattr(protocol, "_message_tail", b"")
    if tail:
        protocol._message_tail = b""
        stream.data_received(tail)
    transport.set_protocol(stream)
    transport.resume_reading()
    return stream, response
