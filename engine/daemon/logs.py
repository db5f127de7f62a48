"""The json-file log driver: one JSON object per line, as Docker writes it:

    {"log":"hello\\n","stream":"stdout","time":"2014-08-20T10:00:00.000000000Z"}

The writer is fed by the container's output pump; readers (`logs`, `logs -f`)
read the file and, when following, wait for the writer to say there is more.
Appending a line to a local file is a page-cache write: it is done on the loop
directly, a thread hop per chunk would cost more than the write.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
from dataclasses import dataclass
from typing import AsyncIterator


def timestamp() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"


@dataclass(frozen=True)
class LogEntry:
    stream: str   # "stdout" or "stderr"
    data: bytes
    time: str


class LogWriter:
    def __init__(self, path: str) -> None:
        self.path = path
        self._file = open(path, "ab", buffering=0)
        self._partial: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._more = asyncio.Event()
        self.closed = False

    def write(self, stream: str, data: bytes) -> None:
        """Log complete lines now; keep a trailing partial line until more comes."""
        data = self._partial[stream] + data
        lines = data.split(b"\n")
        self._partial[stream] = lines.pop()
        if lines:
            self._append(stream, [line + b"\n" for line in lines])

    def _append(self, stream: str, chunks: list[bytes]) -> None:
        now = timestamp()
        self._file.write(b"".join(
            json.dumps({"log": chunk.decode("utf-8", "replace"), "stream": stream,
                        "time": now}).encode() + b"\n" for chunk in chunks))
        self._notify()

    def _notify(self) -> None:
        self._more.set()
        self._more = asyncio.Event()

    def next_write(self) -> asyncio.Event:
        """An event set by the next write or close (taken before reading, so none is missed)."""
        return self._more

    def close(self) -> None:
        for stream, rest in self._partial.items():
            if rest:
                self._append(stream, [rest])
        self._partial = {"stdout": b"", "stderr": b""}
        self._file.close()
        self.closed = True
        self._notify()


def _parse(line: bytes) -> LogEntry | None:
    try:
        obj = json.loads(line)
        return LogEntry(obj.get("stream", "stdout"), obj.get("log", "").encode(), obj.get("time", ""))
    except (ValueError, AttributeError):
        return None  # a line torn by a crash: skip it, keep the rest readable


def read_tail(path: str, tail: int) -> tuple[list[LogEntry], int]:
    """The last `tail` entries (all when tail < 0) and the offset where reading stopped."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return [], 0
    end = data.rfind(b"\n") + 1  # ignore a line still being written
    lines = data[:end].splitlines()
    if tail >= 0:
        lines = lines[len(lines) - tail:] if tail else []
    entries = [e for e in map(_parse, lines) if e is not None]
    return entries, end


async def follow(path: str, offset: int, writer: LogWriter | None) -> AsyncIterator[LogEntry]:
    """Entries appended after `offset`, until the writer closes (the container stopped)."""
    if writer is None or writer.closed:
        return
    with open(path, "rb") as f:
        f.seek(offset)
        pending = b""
        while True:
            more = writer.next_write()
            chunk = f.read()
            if not chunk:
                if writer.closed:
                    break
                await more.wait()
                continue
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                entry = _parse(line)
                if entry is not None:
                    yield entry


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
