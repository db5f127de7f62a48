"""`attach` (past output, live output and stdin) and the pty's `resize`. The
daemon hands back a typed session; the server owns the wire."""

from __future__ import annotations

from typing import TYPE_CHECKING, AsyncIterator

from ..errors import BadRequest
from ..jobs import Job
from . import detachkeys, jsonfile
from .args import AttachArgs, ContainerResize
from .container import Container
from .streams import write_all

if TYPE_CHECKING:
    from .daemon import Daemon

class AttachSession:
    """One attached client: past output (logs=1), live output (stream=1) and stdin."""

    def __init__(self, container: Container, args: AttachArgs, keys: bytes) -> None:
        self.container = container
        self.tty = container.record.config.tty
        self.wanted = {s for s, on in (("stdout", args.stdout), ("stderr", args.stderr)) if on}
        path = container.record.log_path
        # The log up to here and the live output from here: nothing twice, nothing missed.
        past = jsonfile.open_current(path) if args.logs and path else None
        self._past = jsonfile.read(past) if past is not None else None
        self._live = container.output.subscribe() if args.stream else None
        self.stdin = args.stdin and container.record.config.open_stdin
        self._detach = detachkeys.DetachScanner(keys)

    async def output(self) -> AsyncIterator[tuple[str, bytes]]:
        if self._past is not None:
            async for batch in self._past:
                for entry in batch:
                    if entry.stream in self.wanted:
                        yield entry.stream, entry.data
        if self._live is None:
            return
        while (item := await self._live.get()) is not None:
            if item[0] in self.wanted:
                yield item

    @property
    def dropped(self) -> bool:
        """The client fell too far behind and its live output was cut off."""
        return self._live is not None and self._live.dropped

    async def write_stdin(self, data: bytes) -> bool:
        """Feed the container's stdin; False when the client typed the detach keys."""
        if not self.stdin:
            return True
        if self.tty:   # as Docker: the keys are looked for on a terminal's input only
            data, detached = self._detach.feed(data)
            await self._write(data)
            return not detached
        await self._write(data)
        return True

    async def _write(self, data: bytes) -> None:
        if not data:
            return
        await self.container.started.wait()
        io = self.container.io
        if io is not None and io.stdin_fd is not None:
            try:
                await write_all(io.stdin_fd, data)
            except (BrokenPipeError, OSError):
                pass  # the container closed its stdin or exited

    def stdin_eof(self) -> None:
        """The client closed its side: with StdinOnce the container's stdin closes too."""
        config = self.container.record.config
        if self.stdin and config.stdin_once and self.container.io is not None:
            self.container.io.close_stdin()

    def close(self) -> None:
        if self._live is not None:
            self.container.output.unsubscribe(self._live)


async def container_attach(daemon: Daemon, job: Job[AttachArgs]) -> AttachSession:
    args = job.args
    try:
        keys = detachkeys.parse(args.detach_keys)
    except detachkeys.InvalidKeys:
        raise BadRequest(f"Invalid detach keys ({args.detach_keys}) provided") from None
    return AttachSession(daemon.lookup(args.name), args, keys)


async def container_resize(daemon: Daemon, job: Job[ContainerResize]) -> None:
    """Set the pty's window size (a TTY container); ignored otherwise, as Docker does."""
    args = job.args
    container = daemon.lookup(args.name)
    if args.height < 0 or args.width < 0 or args.height > 65535 or args.width > 65535:
        raise BadRequest(f"invalid terminal size {args.height}x{args.width}")
    if container.io is not None:
        container.io.resize(args.height, args.width)
