"""Moving a container's bytes: output pumps from its pipes/pty, and a broadcaster
that fans live output out to attached clients."""

from __future__ import annotations

import asyncio
import os
from typing import Callable


class Broadcaster:
    """Live output of one container to every attached client (each its own queue)."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[tuple[str, bytes] | None]] = set()

    def subscribe(self) -> asyncio.Queue[tuple[str, bytes] | None]:
        queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._queues.discard(queue)

    def publish(self, stream: str, data: bytes) -> None:
        for queue in self._queues:
            queue.put_nowait((stream, data))

    def close(self) -> None:
        """The container stopped: every subscriber gets None and ends."""
        for queue in self._queues:
            queue.put_nowait(None)
        self._queues.clear()


def pump(fd: int, on_data: Callable[[bytes], None]) -> asyncio.Future[None]:
    """Read `fd` on the loop until EOF, giving each chunk to `on_data`; closes `fd`.

    The returned future completes at EOF (for a pty master, EIO when the last
    slave closes counts as EOF)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            on_data(data)
            return
        loop.remove_reader(fd)
        os.close(fd)
        if not done.done():
            done.set_result(None)

    loop.add_reader(fd, readable)
    return done


async def write_all(fd: int, data: bytes) -> None:
    """Write to a non-blocking fd (container stdin) without blocking the loop."""
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
            view = view[n:]
        except BlockingIOError:
            ready = loop.create_future()
            loop.add_writer(fd, ready.set_result, None)
            try:
                await ready
            finally:
                loop.remove_writer(fd)
