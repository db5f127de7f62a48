"""`logs`: a container's output read back from its json-file log (jsonfile.py),
all of it or its tail, between `since` and `until`, and followed while the
container runs (a follow with `until` ends at the first entry after it)."""

from __future__ import annotations

import asyncio
import datetime
import os
from typing import TYPE_CHECKING, AsyncIterator

from ..jobs import Job
from ..errors import NotSupported
from . import jsonfile, logdrivers
from .args import ContainerLogs
from .jsonfile import LogEntry
from .streamed import LogStream

if TYPE_CHECKING:
    from .daemon import Daemon


async def container_logs(daemon: Daemon, job: Job[ContainerLogs]) -> LogStream:
    args = job.args
    container = daemon.lookup(args.name)
    if not logdrivers.parse(container.record.host_config.log_config).keeps_logs:
        raise NotSupported(logdrivers.NOT_READABLE)
    wanted = {s for s, on in (("stdout", args.stdout), ("stderr", args.stderr)) if on}
    path = container.record.log_path
    # The files as they are now, and, taken in the same step, the end of the current
    # one: a follower sees every line after it, into the files later rotations start.
    files = await jsonfile.open_files(path, container.log)
    if files.current is None:
        files.close()
        return LogStream(container.record.config.tty, _nothing())
    writer = container.log if args.follow and container.running else None
    rotated = writer.follow() if writer is not None else None
    end = None if writer is not None else os.fstat(files.current.fileno()).st_size
    try:
        start = await asyncio.to_thread(jsonfile.tail_offset, files.current, args.tail)
        # Rotated files (max-size) come first; a tail longer than the current file reaches into them.
        older: list[LogEntry] = []
        if files.older and args.tail != 0:
            older = await asyncio.to_thread(jsonfile.older_entries, files)
            if args.tail > 0:
                in_current = await asyncio.to_thread(jsonfile.line_count, files.current)
                older = older[len(older) - max(0, args.tail - in_current):] if args.tail > in_current else []
    finally:
        for f, _ in files.older:
            f.close()

    since = _log_time(args.since_ns) if args.since_ns else None
    until = _log_time(args.until_ns) if args.until_ns else None

    async def every_batch() -> AsyncIterator[list[LogEntry]]:
        for at in range(0, len(older), 1024):
            yield older[at:at + 1024]
        async for batch in jsonfile.read(files.current, start, end, writer, rotated):
            yield batch

    async def batches() -> AsyncIterator[list[LogEntry]]:
        async for batch in every_batch():
            if len(wanted) < 2:
                batch = [e for e in batch if e.stream in wanted]
            if since is not None:
                batch = [e for e in batch if _comparable(e.time) >= since]
            if until is not None:
                kept = [e for e in batch if _comparable(e.time) <= until]
                if kept:
                    yield kept
                if len(kept) < len(batch):
                    return   # entries are in time order: nothing later is wanted
                continue
            if batch:
                yield batch

    return LogStream(container.record.config.tty, batches())


async def _nothing() -> AsyncIterator[list[LogEntry]]:
    return
    yield


def _log_time(unix_ns: int) -> bytes:
    """Unix ns as the log writes times (fixed width, so they compare as bytes)."""
    seconds, nanos = divmod(unix_ns, 1_000_000_000)
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.").encode() + b"%09dZ" % nanos


def _comparable(time: bytes) -> bytes:
    """A logged time in the fixed-width form (other writers trim the fraction's zeros)."""
    if len(time) == 30:
        return time
    head, _, fraction = time.rstrip(b"Z").partition(b".")
    return head + b"." + (fraction + b"000000000")[:9] + b"Z"
