"""`logs`: a container's output read back from its json-file log (jsonfile.py),
all of it or its tail, and followed while the container runs."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, AsyncIterator

from ..jobs import Job
from . import jsonfile
from .args import ContainerLogs
from .jsonfile import LogEntry
from .results import LogStream

if TYPE_CHECKING:
    from .daemon import Daemon


async def container_logs(daemon: Daemon, job: Job[ContainerLogs]) -> LogStream:
    args = job.args
    container = daemon.lookup(args.name)
    wanted = {s for s, on in (("stdout", args.stdout), ("stderr", args.stderr)) if on}
    path = container.record.log_path
    start = await asyncio.to_thread(jsonfile.tail_offset, path, args.tail)
    # Taken now, in the same step as the tail: a follower sees every line after it.
    writer = container.log if args.follow and container.running else None
    end = None if writer is not None else jsonfile.size(path)

    async def batches() -> AsyncIterator[list[LogEntry]]:
        async for batch in jsonfile.read(path, start, end, writer):
            if len(wanted) < 2:
                batch = [e for e in batch if e.stream in wanted]
            if batch:
                yield batch

    return LogStream(container.record.config.tty, batches())
