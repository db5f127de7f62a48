"""The json-file log driver: one JSON object per line, as Docker writes it:

    {"log":"hello\\n","stream":"stdout","time":"2014-08-20T10:00:00.000000000Z"}

The writer is fed by the container's output pump; readers (`logs`, `logs -f`,
`attach` with logs=1) read the file in bounded chunks and, when following, wait
for the writer to say there is more. Appending a line to a local file is a
page-cache write: it is done on the loop directly, a thread hop per chunk would
cost more than the write.

Encoding as Docker's: the bytes are decoded as UTF-8 with each invalid byte
replaced by U+FFFD (Go's json does it per byte; Python's "replace" would fold a
truncated sequence into one). A line longer than MAX_ENTRY is logged as several
entries (as Docker's json-file does with 16K "partial" messages), cut on a
character boundary, so a reader's memory stays bounded and the bytes read back
are the same.
"""

from __future__ import annotations

import asyncio
import codecs
import datetime
import json
import os
import re
from json.decoder import scanstring
from typing import AsyncIterator, NamedTuple

MAX_ENTRY = 16 * 1024       # longest "log" value written, in bytes of output
READ_CHUNK = 256 * 1024     # what a reader takes from the file at once

_encode_string = json.encoder.encode_basestring  # C implementation, no ASCII escaping


def _per_byte_replace(error: UnicodeDecodeError) -> tuple[str, int]:
    return "\ufffd" * (error.end - error.start), error.end


codecs.register_error("pyctr-per-byte-replace", _per_byte_replace)


def decode(data: bytes) -> str:
    return data.decode("utf-8", "pyctr-per-byte-replace")


def timestamp() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"


class LogEntry(NamedTuple):   # a tuple: a reader makes millions of these
    stream: str   # "stdout" or "stderr"
    data: bytes
    time: bytes   # RFC 3339 with nanoseconds, as written


def _cut(data: bytes, limit: int) -> int:
    """Where to cut `data` (longer than `limit`) without splitting a UTF-8 character."""
    cut = limit
    while cut > limit - 3 and (data[cut] & 0xC0) == 0x80:  # a continuation byte
        cut -= 1
    return limit if (data[cut] & 0xC0) == 0x80 else cut  # not UTF-8 anyway


def _split(chunk: bytes) -> list[bytes]:
    """`chunk` in pieces of at most MAX_ENTRY bytes."""
    pieces = []
    while len(chunk) > MAX_ENTRY:
        cut = _cut(chunk, MAX_ENTRY)
        pieces.append(chunk[:cut])
        chunk = chunk[cut:]
    return pieces + [chunk] if chunk else pieces


class LogWriter:
    def __init__(self, path: str) -> None:
        self.path = path
        self._file = open(path, "ab", buffering=0)
        self._partial: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._more = asyncio.Event()
        self.closed = False

    def write(self, stream: str, data: bytes) -> None:
        """Log complete lines now; keep a trailing partial line until more comes."""
        if self.closed:
            return
        lines = (self._partial[stream] + data).split(b"\n")
        rest = _split(lines.pop())
        self._partial[stream] = rest.pop() if rest else b""
        chunks = []
        for line in lines:
            chunks.extend(_split(line + b"\n") if len(line) >= MAX_ENTRY else (line + b"\n",))
        chunks.extend(rest)
        if chunks:
            self._append(stream, chunks)

    def _append(self, stream: str, chunks: list[bytes]) -> None:
        tail = f',"stream":"{stream}","time":"{timestamp()}"}}\n'
        self._file.write("".join(
            '{"log":' + _encode_string(decode(chunk)) + tail for chunk in chunks).encode())
        self._notify()

    def _notify(self) -> None:
        self._more.set()
        self._more = asyncio.Event()

    def next_write(self) -> asyncio.Event:
        """An event set by the next write or close (taken before reading, so none is missed)."""
        return self._more

    def close(self) -> None:
        if self.closed:
            return
        for stream, rest in self._partial.items():
            if rest:
                self._append(stream, [rest])
        self._partial = {"stdout": b"", "stderr": b""}
        self._file.close()
        self.closed = True
        self._notify()


# The lines LogWriter writes, matched in C for a whole chunk at once; anything
# else (a torn or foreign line) takes the json.loads path.
_LINE = re.compile(rb'\{"log":"([^"\\\n]*(?:\\.[^"\\\n]*)*)","stream":"(stdout|stderr)",'
                   rb'"time":"([^"\n]*)"\}\n')
_STREAMS = {b"stdout": "stdout", b"stderr": "stderr"}


def _unescape(value: bytes) -> bytes:
    if value.endswith(b"\\n") and b"\\" not in value[:-2]:
        return value[:-2] + b"\n"   # the usual line: only its newline is escaped
    return scanstring(value.decode() + '"', 0)[0].encode()


def _parse_line(line: bytes) -> LogEntry | None:
    try:
        obj = json.loads(line)
        return LogEntry(str(obj.get("stream", "stdout")), str(obj.get("log", "")).encode(),
                        str(obj.get("time", "")).encode())
    except (ValueError, AttributeError):
        return None  # a line torn by a crash: skip it, keep the rest readable


def parse(chunk: bytes) -> list[LogEntry]:
    """The entries of `chunk`, whole lines of a json-file log."""
    found = _LINE.findall(chunk)
    if len(found) == chunk.count(b"\n"):
        try:
            return [LogEntry(_STREAMS[stream], _unescape(value), time)
                    for value, stream, time in found]
        except ValueError:
            pass  # a bad escape: let json judge each line
    return [e for e in map(_parse_line, chunk.splitlines()) if e is not None]


def tail_offset(path: str, tail: int) -> int:
    """The offset of the first of the last `tail` lines (0 for all, tail < 0).
    Reads backwards in blocks: a long log is never read whole for a short tail."""
    if tail < 0:
        return 0
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return 0
    with f:
        end = f.seek(0, os.SEEK_END)
        if tail == 0 or end == 0:
            return end
        f.seek(end - 1)
        pos = end - 1 if f.read(1) == b"\n" else end  # the last line's own newline
        while pos > 0:
            start = max(0, pos - 65536)
            f.seek(start)
            block = f.read(pos - start)
            idx = len(block)
            while (idx := block.rfind(b"\n", 0, idx)) >= 0:
                tail -= 1
                if tail == 0:
                    return start + idx + 1
            pos = start
        return 0


def size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


async def read(path: str, start: int = 0, end: int | None = None,
               writer: LogWriter | None = None) -> AsyncIterator[list[LogEntry]]:
    """Batches of entries from byte `start`: up to `end` (the file's end now when
    None), or, given the container's running `writer`, following new lines until
    the writer closes (the container stopped)."""
    following = writer is not None and not writer.closed
    if not following and end is None:
        end = size(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        f.seek(start)
        pos = start
        pending = b""
        while True:
            closed = not following or writer.closed
            more = writer.next_write() if following else None
            want = READ_CHUNK if end is None else min(READ_CHUNK, end - pos)
            chunk = f.read(want) if want > 0 else b""
            if chunk:
                pos += len(chunk)
                pending += chunk
                cut = pending.rfind(b"\n") + 1
                if cut:
                    batch = parse(pending[:cut])
                    pending = pending[cut:]
                    if batch:
                        yield batch
                continue
            if closed:
                return
            await more.wait()


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
