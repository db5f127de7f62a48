"""Long-lived streamed responses (logs -f, events, attach without upgrade).

aiohttp does not cancel a handler when its client goes away (handler_cancellation
is off, and should stay off for the uploads), and a stream that is waiting for
the next line or event writes nothing that could fail. So a streaming handler
runs its copy loop under `while_connected`, which ends it once the connection is
gone: a listener that left costs nothing after at most WATCH_INTERVAL seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Awaitable

from aiohttp import web

WATCH_INTERVAL = 1.0


def gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def while_connected(request: web.Request, copy: Awaitable[None]) -> None:
    """Run `copy` until it ends, the client disconnects, or a write fails."""
    task = asyncio.ensure_future(copy)

    async def watch() -> None:
        while not task.done():
            await asyncio.sleep(WATCH_INTERVAL)
            if gone(request):
                task.cancel()
                return

    watcher = asyncio.create_task(watch())
    try:
        with contextlib.suppress(ConnectionResetError, ConnectionError):
            await task
    except asyncio.CancelledError:
        if not task.cancelled() or asyncio.current_task().cancelling():
            raise  # we were cancelled ourselves, not by the watcher
    finally:
        watcher.cancel()
        task.cancel()
