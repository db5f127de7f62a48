"""Moving a container's bytes: output pumps from its pipes/pty, and a broadcaster
that fans live output out to attached clients.

Back-pressure policy (see README, "Streams"):
- Every attached client has its own buffer, bounded to CLIENT_BUFFER bytes.
- When a client's buffer is full the pumps stop reading the container's output,
  so the container blocks in write() as it would on a slow terminal, and the
  json-file log and every client still get every byte.
- A client that takes nothing for STALL_LIMIT seconds while full is dropped
  (its stream ends) and the pumps go on: a stuck or gone reader holds the
  container up for at most STALL_LIMIT seconds, never forever.
- Once the container's process has exited the pumps no longer wait at all
  (what is left in the pipe is at most a pipe's worth).
"""

from __future__ import annotations

import asyncio
import collections
import fcntl
import logging
import os
import struct
import termios
from typing import Awaitable, Callable

from ..execdriver.driver import Stdio

log = logging.getLogger("pyctr.daemon")

CLIENT_BUFFER = 1 << 20      # bytes queued for one attached client
STALL_LIMIT = 10.0           # seconds a full client may hold the container's output
_BATCH = 256 * 1024          # most bytes handed to a client's writer at once
# While no daemon reads (between a crash and the next start) a container can write a
# pipe's worth (64 KiB per stream) and then blocks in write(): nothing is dropped.
# Pipes are not made bigger: the kernel counts pipe buffers per user (64 MiB for all
# of root's pipes here), and bigger ones for hundreds of containers would shrink
# every new pipe of root's on the machine to a single page.


class Subscriber:
    """The live output queued for one attached client, bounded in bytes."""

    def __init__(self, limit: int = CLIENT_BUFFER) -> None:
        self.limit = limit
        self.size = 0
        self.ended = False
        self.dropped = False     # ended because it did not keep up
        self.taken = 0           # bytes handed to the client so far
        self._chunks: collections.deque[tuple[str, bytes]] = collections.deque()
        self._ready = asyncio.Event()    # data queued, or the end
        self._roomy = asyncio.Event()    # below half the limit (or ended)
        self._roomy.set()

    @property
    def full(self) -> bool:
        return self.size >= self.limit and not self.ended

    @property
    def behind(self) -> bool:
        """Still above half its limit since it was full."""
        return not self._roomy.is_set()

    def put(self, stream: str, data: bytes) -> None:
        if self.ended:
            return
        self._chunks.append((stream, data))
        self.size += len(data)
        self._ready.set()
        if self.size >= self.limit:
            self._roomy.clear()

    def end(self, dropped: bool = False) -> None:
        self.ended = True
        self.dropped = self.dropped or dropped
        if dropped:
            self._chunks.clear()
            self.size = 0
        self._ready.set()
        self._roomy.set()

    async def get(self) -> tuple[str, bytes] | None:
        """The next output (consecutive chunks of one stream joined), None at the end."""
        while not self._chunks:
            if self.ended:
                return None
            self._ready.clear()
            await self._ready.wait()
        stream, data = self._chunks.popleft()
        if self._chunks and self._chunks[0][0] == stream and len(data) < _BATCH:
            parts = [data]
            total = len(data)
            while self._chunks and self._chunks[0][0] == stream and total < _BATCH:
                part = self._chunks.popleft()[1]
                parts.append(part)
                total += len(part)
            data = b"".join(parts)
        self.size -= len(data)
        self.taken += len(data)
        if self.size <= self.limit // 2:
            self._roomy.set()
        return stream, data

    async def wait_roomy(self) -> None:
        await self._roomy.wait()


class Broadcaster:
    """Live output of one container to every attached client."""

    def __init__(self, stall_limit: float = STALL_LIMIT) -> None:
        self.stall_limit = stall_limit
        self._subscribers: set[Subscriber] = set()
        self._throttle = True        # False once the process exited: never wait then
        self._released = asyncio.Event()

    def subscribe(self, limit: int = CLIENT_BUFFER) -> Subscriber:
        subscriber = Subscriber(limit)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, stream: str, data: bytes) -> bool:
        """Queue `data` for every client; True when one of them is full (pause reading)."""
        full = False
        for subscriber in self._subscribers:
            subscriber.put(stream, data)
            full = full or subscriber.full
        return full and self._throttle

    async def wait_for_room(self) -> None:
        """Until every full client has taken its buffer down to half; a client that
        takes nothing at all for `stall_limit` seconds is dropped."""
        waiting = [s for s in self._subscribers if s.full]
        while waiting and self._throttle:
            taken = {s: s.taken for s in waiting}
            roomy = asyncio.ensure_future(asyncio.gather(*(s.wait_roomy() for s in waiting)))
            released = asyncio.ensure_future(self._released.wait())
            try:
                await asyncio.wait([roomy, released], timeout=self.stall_limit,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                roomy.cancel()
                released.cancel()
            waiting = [s for s in waiting if s.behind]
            for subscriber in [s for s in waiting if s.taken == taken[s]]:
                log.warning("an attached client took no output for %.0fs: dropping it",
                            self.stall_limit)
                subscriber.end(dropped=True)
                self._subscribers.discard(subscriber)
                waiting.remove(subscriber)

    def release(self) -> None:
        """The container's process exited: stop pausing the pumps for slow clients."""
        self._throttle = False
        self._released.set()

    def close(self) -> None:
        """The container stopped: every subscriber ends; the next run starts afresh."""
        for subscriber in self._subscribers:
            subscriber.end()
        self._subscribers.clear()
        self._throttle = True
        self._released = asyncio.Event()


def _read(fd: int) -> bytes:
    return os.read(fd, 65536)


def pump(fd: int, on_data: Callable[[bytes], bool],
         wait_for_room: Callable[[], Awaitable[None]] | None = None,
         read: Callable[[int], bytes] = _read) -> asyncio.Future[None]:
    """Read `fd` on the loop until EOF, giving each chunk to `on_data`; closes `fd`.
    `read(fd)` takes the next chunk (a spool's `take`, for a logged container's pipes).

    When `on_data` returns True (a reader is behind) reading pauses until
    `wait_for_room()` completes. The returned future completes at EOF (for a pty
    master, EIO when the last slave closes counts as EOF); cancelling it stops
    the pump and closes `fd`."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    os.set_blocking(fd, False)
    state = {"reading": True}

    def finish() -> None:
        if state["reading"]:
            loop.remove_reader(fd)
            state["reading"] = False
        os.close(fd)

    async def paused() -> None:
        try:
            await wait_for_room()
        finally:
            if not done.done():
                state["reading"] = True
                loop.add_reader(fd, readable)

    def readable() -> None:
        try:
            data = read(fd)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            if on_data(data) and wait_for_room is not None:
                loop.remove_reader(fd)
                state["reading"] = False
                loop.create_task(paused())
            return
        finish()
        done.set_result(None)

    def cancelled(future: asyncio.Future) -> None:
        if future.cancelled():
            finish()

    done.add_done_callback(cancelled)
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


class ProcessIO:
    """The daemon's side of one process's standard streams (a container's first
    process, or an exec): pipes made before the start, or the pty master that the
    exec driver hands over; pumps that feed `deliver` once the process runs; stdin."""

    def __init__(self, tty: bool, open_stdin: bool) -> None:
        self.stdio = Stdio()             # the process's ends, for the exec driver
        self.stdin_fd: int | None = None     # write end of stdin, or the pty master
        self.console_fd: int | None = None   # the pty master (resize)
        self.pumps: list[asyncio.Future[None]] = []
        self._child_ends: list[int] = []     # closed here once the process has them
        self._ours: dict[str, int] = {}      # "stdout", "stderr", "stdin"
        self.on_close_stdin: Callable[[], None] | None = None   # also tell the exec driver
        if tty:
            return
        for stream in ("stdout", "stderr"):
            r, w = os.pipe()
            setattr(self.stdio, stream, w)
            self._child_ends.append(w)
            self._ours[stream] = r
        if open_stdin:
            r, w = os.pipe()
            self.stdio.stdin = r
            self._child_ends.append(r)
            self._ours["stdin"] = w
        self.stdio.daemon_ends = dict(self._ours)

    @classmethod
    def restored(cls, fds: dict[str, int]) -> "ProcessIO":
        """The streams of a container an earlier daemon started (live restore): the
        daemon's ends as the exec driver kept them; start them with `running`."""
        io = cls(tty=True, open_stdin=False)   # makes no pipes
        io._ours = {name: fd for name, fd in fds.items() if name in ("stdout", "stderr", "stdin")}
        return io

    def running(self, console_fd: int | None, deliver: Callable[[str], Callable[[bytes], bool]],
                wait_for_room: Callable[[], Awaitable[None]] | None = None,
                readers: dict[str, Callable[[int], bytes]] | None = None) -> None:
        """The process started: let go of its ends and start pumping its output
        (`readers`: how to take each pipe's bytes, when not a plain read)."""
        self._close_child_ends()
        if console_fd is not None:
            self.console_fd = self.stdin_fd = console_fd
            self.pumps.append(pump(os.dup(console_fd), deliver("stdout"), wait_for_room))
            return
        for stream in ("stdout", "stderr"):
            self.pumps.append(pump(self._ours.pop(stream), deliver(stream), wait_for_room,
                                   (readers or {}).get(stream, _read)))
        if "stdin" in self._ours:
            self.stdin_fd = self._ours.pop("stdin")
            os.set_blocking(self.stdin_fd, False)

    def abandon(self) -> None:
        """The process never started: close every pipe."""
        self._close_child_ends()
        while self._ours:
            os.close(self._ours.popitem()[1])

    async def finish(self, timeout: float = 5) -> None:
        """After the exit: take what is left in the pipes, then close our ends."""
        self.abandon()
        if self.pumps:
            await asyncio.wait(self.pumps, timeout=timeout)
        for fd in {self.stdin_fd, self.console_fd} - {None}:
            try:
                os.close(fd)
            except OSError:
                pass
        self.stdin_fd = self.console_fd = None

    def detach(self) -> None:
        """The daemon leaves the process running (live restore): stop reading now, so
        that what is still in the pipes stays there for the next daemon."""
        for pumping in self.pumps:
            pumping.cancel()   # closes the fd; bytes not yet read stay in the pipe
        self.pumps.clear()
        self._close_child_ends()
        for fd in set(self._ours.values()) | ({self.stdin_fd, self.console_fd} - {None}):
            try:
                os.close(fd)
            except OSError:
                pass
        self._ours.clear()
        self.stdin_fd = self.console_fd = None

    def close_stdin(self) -> None:
        """EOF on the process's stdin (pipes only: a pty's master is also its output)."""
        if self.stdin_fd is not None and self.console_fd is None:
            fd, self.stdin_fd = self.stdin_fd, None
            os.close(fd)
            if self.on_close_stdin is not None:   # the exec driver's copy too, or no EOF
                self.on_close_stdin()

    def resize(self, height: int, width: int) -> bool:
        """Set the pty's window size; False when there is no pty (yet)."""
        if self.console_fd is None:
            return False
        fcntl.ioctl(self.console_fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        return True

    def _close_child_ends(self) -> None:
        while self._child_ends:
            os.close(self._child_ends.pop())
