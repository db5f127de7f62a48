"""What the jobs of logs, attach, exec start and events return: live results
that the server streams, not records it writes as JSON (those are engine/api/records.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Protocol

from ..api.records import ExitStatus
from .jsonfile import LogEntry


@dataclass
class LogStream:
    tty: bool                 # a TTY container's output is one raw stream
    batches: AsyncIterator[list[LogEntry]]   # entries, a file chunk's worth at a time


class AttachedSession(Protocol):
    """An attached client of a container (attach) or of an exec (exec start): its
    output as (stream name, data) pairs, and its stdin."""

    tty: bool

    def output(self) -> AsyncIterator[tuple[str, bytes]]: ...

    async def write_stdin(self, data: bytes) -> bool: ...   # False: the client detached

    def stdin_eof(self) -> None: ...

    def close(self) -> None: ...


class EventLines(Protocol):
    """One `GET /events` client's events, each the JSON line to send."""

    def lines(self) -> AsyncIterator[bytes]: ...

    def close(self) -> None: ...


class ExitWaiter(Protocol):
    """`wait`: registered when the job returns (so the server can answer its headers
    first and no exit after that is missed); `status` blocks until the condition."""

    async def status(self) -> ExitStatus: ...

    def close(self) -> None: ...
