"""`logs`: a container's output read back from its json-file log (jsonfile.py),
all of it or its tail, between `since` and `until`, and followed while the
container runs (a follow with `until` ends at the first entry after it)."""

from __future__ import annotations

import asyncio
import datetime
from typing import TYPE_CHECKING, AsyncIterator

from ..jobs import Job
from . import jsonfile
from .args import ContainerLogs
from .jsonfile import LogEntry
from .streamed import LogStream

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

    since = _log_time(args.since_ns) if args.since_ns else None
    until = _log_time(args.until_ns) if args.until_ns else None

    async def batches() -> AsyncIterator[list[LogEntry]]:
        async for batch in jsonfile.read(path, start, end, writer):
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
