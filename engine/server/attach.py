"""Serving an attached session over a hijacked connection: a container's attach
and an exec's start both pump the session's output to the client and the
client's input to the session's stdin."""

from __future__ import annotations

import asyncio

from ..daemon.streamed import AttachedSession
from .hijack import HijackedStream
from .wire import frame


async def serve_attach(session: AttachedSession, conn: HijackedStream, raw: bool | None = None) -> None:
    """`raw`: output unframed (default: when the session is a TTY's)."""
    raw = session.tty if raw is None else raw

    async def send_output() -> None:
        async for name, data in session.output():
            await conn.write(data if raw else frame(name, data))

    async def receive_input() -> None:
        while True:
            data = await conn.reader.read(65536)
            if not data:
                session.stdin_eof()
                # Half-closed (stdin's EOF): output goes on until the client is gone.
                await conn.lost.wait()
                return
            if not await session.write_stdin(data):
                return  # detach keys

    sender = asyncio.create_task(send_output())
    receiver = asyncio.create_task(receive_input())
    try:
        await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, receiver):
            task.cancel()
        await asyncio.gather(sender, receiver, return_exceptions=True)
        conn.close()
