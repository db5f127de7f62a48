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
import collections
import datetime
import gzip
import json
import logging
import os
import re
import shutil
import struct
from json.decoder import scanstring
from typing import AsyncIterator, BinaryIO, NamedTuple

from ..crashpoint import crash_point

MAX_ENTRY = 16 * 1024       # longest "log" value written, in bytes of output
HELD_ON_FULL_DISK = 1 << 20  # log bytes kept in memory while the data root is full

_log = logging.getLogger("pyctr.logs")
READ_CHUNK = 256 * 1024     # what a reader takes from the file at once

# The log's cursor (`<log>.cursor`), written just before each write to the log: the log
# file's inode, its size before the write and the write's length, which stream the write
# is of and how many of that stream's bytes it logs, and after it how far the log has
# come into each stream (stdout, stderr). A single pwrite of 56 bytes: never torn.
_CURSOR = struct.Struct("<7Q")
_STREAMS_BY_INDEX = ("stdout", "stderr")

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
    def __init__(self, path: str, max_size: int = 0, max_files: int = 1, compress: bool = False) -> None:
        """`max_size` (bytes, 0 = never): rotate before a write would take the file
        past it, keeping `max_files` files in all, the rotated ones gzipped with
        `compress` (json-file's max-size, max-file and compress)."""
        self.path = path
        self.max_size, self.max_files, self.compress = max_size, max_files, compress
        self._rotations = 0
        self._rotating: asyncio.Future | None = None   # the last rotation's file moves
        os.makedirs(os.path.dirname(path), exist_ok=True)
        for aside in older_files(path):   # rotations a killed daemon had not moved yet
            if ".rotating-" in aside:
                self._rotations = max(self._rotations, int(aside.rsplit("-", 1)[1]))
                self._move_rotated(aside)
        self._file = open(path, "ab", buffering=0)
        self._partial: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._more = asyncio.Event()
        self.closed = False
        self._held = b""        # written lines the disk had no room for yet
        self.lost = 0           # bytes dropped beyond HELD_ON_FULL_DISK
        # How many bytes of each stream (of this run) the log has, in whole entries: the
        # offsets into the stream's spool (spool.py) that the cursor keeps on disk.
        self.logged = {"stdout": 0, "stderr": 0}
        self._cursor = -1       # the cursor's fd, while the log keeps one
        self._followers: dict[int, collections.deque] = {}   # id -> the files a follower reads next

    # --- the cursor: how far into each stream's spool the log has come ------------------
    @property
    def cursor_path(self) -> str:
        return self.path + ".cursor"

    def start_cursor(self) -> None:
        """A new run of the container: its streams start at 0."""
        self.logged = {"stdout": 0, "stderr": 0}
        self._cursor = os.open(self.cursor_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._write_cursor(self._file.tell(), 0, "stdout", 0)

    def resume_cursor(self) -> bool:
        """An earlier daemon's run of the container: how far its log came into each
        stream, from the cursor it left (False: none, nothing is known). A write the
        dead daemon had begun but not finished is cut off the log again: the spool
        still has those bytes, and they are logged anew."""
        try:
            fd = os.open(self.cursor_path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        raw = os.pread(fd, _CURSOR.size, 0)
        if len(raw) != _CURSOR.size:
            os.close(fd)
            return False
        ino, before, length, index, count, out, err = _CURSOR.unpack(raw)
        logged = {"stdout": out, "stderr": err}
        info = os.fstat(self._file.fileno())
        # Another inode: the log rotated after that write, which was whole then.
        if info.st_ino == ino and info.st_size < before + length:
            os.ftruncate(self._file.fileno(), before)
            self._file.seek(0, os.SEEK_END)
            logged[_STREAMS_BY_INDEX[index]] -= count
        self.logged = logged
        self._cursor = fd
        self._write_cursor(self._file.tell(), 0, "stdout", 0)
        return True

    def drop_cursor(self) -> None:
        """The log can no longer say how far it has come (a full disk): no later daemon
        may replay the spools from it."""
        if self._cursor < 0:
            return
        os.close(self._cursor)
        self._cursor = -1
        try:
            os.unlink(self.cursor_path)
        except OSError:
            pass

    def _write_cursor(self, before: int, length: int, stream: str, count: int) -> None:
        index = _STREAMS_BY_INDEX.index(stream)
        ino = os.fstat(self._file.fileno()).st_ino
        try:
            os.pwrite(self._cursor, _CURSOR.pack(ino, before, length, index, count,
                                                 self.logged["stdout"], self.logged["stderr"]), 0)
        except OSError as exc:
            _log.error("%s: %s; the log keeps no cursor from now on", self.cursor_path, exc)
            self.drop_cursor()

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
        lines = ['{"log":' + _encode_string(decode(chunk)) + tail for chunk in chunks]
        if not self.max_size:
            self._put("".join(lines).encode(), stream, sum(map(len, chunks)))
        else:   # rotate between lines, as json-file rotates between messages
            batch: list[bytes] = []
            batched = raw = 0
            for line, chunk in zip(lines, chunks):
                encoded = line.encode()
                if batch and self._file.tell() + len(self._held) + batched + len(encoded) > self.max_size:
                    self._put(b"".join(batch), stream, raw)
                    batch, batched, raw = [], 0, 0
                batch.append(encoded)
                batched += len(encoded)
                raw += len(chunk)
            self._put(b"".join(batch), stream, raw)
        self._notify()

    def _put(self, encoded: bytes, stream: str = "stdout", count: int = 0) -> None:
        """Write whole lines (`count` bytes of `stream`); on a full disk keep them (up to
        a bound) for the next try, so the container's output path never fails because
        the log cannot grow."""
        pending = self._held + encoded
        if self.max_size and pending and self._file.tell() and self._file.tell() + len(pending) > self.max_size:
            self._rotate()
        self.logged[stream] += count
        if self._cursor >= 0:
            if self._held:   # lines out of step with the spools: the cursor cannot say
                self.drop_cursor()
            else:
                self._write_cursor(self._file.tell(), len(pending), stream, count)
                crash_point("log-cursor-written")   # the write it announces not done yet
        try:
            written = self._file.write(pending) or 0
        except OSError as exc:
            if not self._held:
                _log.error("%s: cannot write the log (%s); holding output in memory", self.path, exc)
            written = 0
        rest = pending[written:]
        if len(rest) > HELD_ON_FULL_DISK:
            cut = rest.find(b"\n", len(rest) - HELD_ON_FULL_DISK) + 1 or len(rest)
            self.lost += cut
            rest = rest[cut:]
        self._held = rest

    def _rotate(self) -> None:
        """Move the full file aside now (a rename) and start a new one; shifting the
        older files and compressing happen in a thread, one rotation after the other."""
        self._rotations += 1
        aside = f"{self.path}.rotating-{self._rotations:08d}"
        try:
            os.rename(self.path, aside)
            self._file.close()
            self._file = open(self.path, "ab", buffering=0)
        except OSError as exc:
            _log.error("%s: cannot rotate the log: %s", self.path, exc)
            return
        for queue in self._followers.values():   # each reads the new file once done with the old one
            try:
                queue.append(open(self.path, "rb"))
            except OSError:
                pass
        self._move_rotated(aside)

    def _move_rotated(self, aside: str) -> None:
        """Shift the rotated files up one to make `aside` the first, in a thread, after
        the rotations before it."""
        previous = self._rotating

        async def move() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await asyncio.to_thread(_shift, self.path, aside, self.max_files, self.compress)

        self._rotating = asyncio.ensure_future(move())

    def _notify(self) -> None:
        self._more.set()
        self._more = asyncio.Event()

    def follow(self) -> collections.deque[BinaryIO]:
        """For a reader following the log: the files that rotations from now on start,
        open, in order (end it with `unfollow`)."""
        queue: collections.deque[BinaryIO] = collections.deque()
        self._followers[id(queue)] = queue
        return queue

    def unfollow(self, queue: collections.deque[BinaryIO]) -> None:
        self._followers.pop(id(queue), None)

    async def settled(self) -> None:
        """Until the rotations begun before this call have moved their files. Once only:
        a flood rotating all the time would never let a reader in."""
        if self._rotating is not None and not self._rotating.done():
            await asyncio.wait([self._rotating])

    def next_write(self) -> asyncio.Event:
        """An event set by the next write or close (taken before reading, so none is missed)."""
        return self._more

    def close(self, leave_partial: bool = False) -> None:
        """The run ended: its last partial lines are logged, the cursor goes. With
        `leave_partial` (this daemon leaves, the container runs on) they are not: the
        spools and the cursor keep them for the next daemon."""
        if self.closed:
            return
        for stream, rest in self._partial.items():
            if rest and not leave_partial:
                self._append(stream, [rest])
        self._partial = {"stdout": b"", "stderr": b""}
        if self._cursor >= 0:
            if leave_partial:
                os.close(self._cursor)
                self._cursor = -1
            else:
                self.drop_cursor()
        if self._held:
            self._put(b"")
        if self._held or self.lost:
            _log.error("%s: %d bytes of output were not logged: the data root was full",
                       self.path, len(self._held) + self.lost)
        try:
            self._file.close()
        except OSError:
            pass
        self.closed = True
        self._notify()


def _shift(path: str, aside: str, max_files: int, compress: bool) -> None:
    """`aside` becomes `path`.1 (.1.gz), the older ones move up one, the oldest beyond
    max_files - 1 rotated files goes."""
    keep = max_files - 1
    try:
        if keep < 1:
            os.unlink(aside)
            return
        for n in range(keep, 0, -1):
            for suffix in ("", ".gz"):
                src = f"{path}.{n}{suffix}"
                if os.path.exists(src):
                    if n == keep:
                        os.unlink(src)
                    else:
                        os.rename(src, f"{path}.{n + 1}{suffix}")
        if compress:
            with open(aside, "rb") as src, gzip.open(f"{path}.1.gz.tmp", "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.rename(f"{path}.1.gz.tmp", f"{path}.1.gz")
            os.unlink(aside)
        else:
            os.rename(aside, f"{path}.1")
    except FileNotFoundError:
        pass   # the container was removed meanwhile
    except OSError as exc:
        _log.error("%s: rotating the log: %s", path, exc)


def older_files(path: str) -> list[str]:
    """The rotated files of the log at `path`, oldest first (numbered ones, highest
    first, then any still being moved, in the order they were rotated)."""
    directory, base = os.path.split(path)
    try:
        names = os.listdir(directory or ".")
    except FileNotFoundError:
        return []
    numbered, moving = [], []
    for name in names:
        rest = name[len(base) + 1:] if name.startswith(base + ".") else ""
        number = rest.removesuffix(".gz")
        if number.isdigit():
            numbered.append((int(number), name))
        elif rest.startswith("rotating-"):
            moving.append(name)
    return [os.path.join(directory, n) for _, n in sorted(numbered, reverse=True)] + \
        [os.path.join(directory, n) for n in sorted(moving)]


class LogFiles(NamedTuple):
    """A log's files as they were at one instant, open: rotations after that instant
    move nothing from under the reader."""
    current: BinaryIO | None
    older: list[tuple[BinaryIO, bool]]   # oldest first; True: gzipped

    def close(self) -> None:
        for f in [self.current] + [f for f, _ in self.older]:
            if f is not None:
                f.close()


async def open_files(path: str, writer: LogWriter | None) -> LogFiles:
    """The files of the log at `path`, with no rotation between opening the rotated ones
    and the current one (a rotation renames on the loop; its moves of the rotated files
    end before this opens them)."""
    if writer is not None:
        await writer.settled()
    older = []   # from here on, no await: nothing rotates meanwhile
    for name in older_files(path):
        try:
            older.append((open(name, "rb"), name.endswith(".gz")))
        except FileNotFoundError:
            pass
    return LogFiles(open_current(path), older)


def open_current(path: str) -> BinaryIO | None:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None


def older_entries(files: LogFiles) -> list[LogEntry]:
    """Every entry of the rotated files (blocking: run in a thread); bounded by what
    max-size and max-file allow."""
    entries: list[LogEntry] = []
    for f, gzipped in files.older:
        try:
            data = gzip.GzipFile(fileobj=f).read() if gzipped else f.read()
        except (OSError, EOFError):
            continue   # cut short by a crash
        cut = data.rfind(b"\n") + 1
        entries.extend(parse(data[:cut]))
    return entries


def line_count(f: BinaryIO) -> int:
    count = offset = 0
    while chunk := os.pread(f.fileno(), 1 << 20, offset):
        count += chunk.count(b"\n")
        offset += len(chunk)
    return count


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


def tail_offset(f: BinaryIO, tail: int) -> int:
    """The offset of the first of the last `tail` lines (0 for all, tail < 0).
    Reads backwards in blocks: a long log is never read whole for a short tail."""
    if tail < 0:
        return 0
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


async def read(f: BinaryIO, start: int = 0, end: int | None = None,
               writer: LogWriter | None = None,
               rotated: collections.deque[BinaryIO] | None = None) -> AsyncIterator[list[LogEntry]]:
    """Batches of entries of the open log file `f` from byte `start`: up to `end` (the
    file's end now when None), or, given the container's running `writer` and what
    `writer.follow()` gave when `f` was opened, following new lines into the files
    its rotations start, until the writer closes (the container stopped). Closes the
    files it read."""
    following = writer is not None and not writer.closed and rotated is not None
    if not following and end is None:
        end = os.fstat(f.fileno()).st_size
    rotated = rotated if rotated is not None else collections.deque()
    try:
        f.seek(start)
        pos = start
        pending = b""
        while True:
            closed = not following or writer.closed
            more = writer.next_write() if following else None
            want = READ_CHUNK if end is None else min(READ_CHUNK, end - pos)
            chunk = f.read(want) if want > 0 else b""
            if not chunk and rotated:   # the writer rotated: this file is done
                f.close()
                f, pos, pending = rotated.popleft(), 0, b""
                continue
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
    finally:
        if writer is not None:
            writer.unfollow(rotated)
        for other in [f, *rotated]:
            other.close()


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
