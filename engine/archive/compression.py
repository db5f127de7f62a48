"""Detect a stream's compression by its magic bytes and give back a decompressed reader.

gzip goes through `isal` (ISA-L, ~3x faster than zlib at inflate) when it is installed,
else the standard library; bzip2 and xz use the standard library.
"""

from __future__ import annotations

import bz2
import enum
import gzip
import io
import lzma
import queue
import threading
from typing import BinaryIO

from .errors import ArchiveError

try:
    from isal import igzip as _fast_gzip
except ImportError:  # optional dependency
    _fast_gzip = None

CHUNK = 1 << 20


class Compression(enum.Enum):
    NONE = "none"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"


_MAGIC = [
    (b"\x1f\x8b", Compression.GZIP),
    (b"BZh", Compression.BZIP2),
    (b"\xfd7zXZ\x00", Compression.XZ),
]


def detect(head: bytes) -> Compression:
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        raise ArchiveError("zstd-compressed archives are not supported")
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return Compression.NONE


class _Prefixed(io.RawIOBase):
    """`head` (already read to sniff the magic) followed by the rest of `stream`."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buf), len(self._head))
            buf[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(buf))
        buf[: len(data)] = data
        return len(data)


class _Pipelined(io.RawIOBase):
    """Decompress in a helper thread, CHUNK at a time, while the caller unpacks.

    zlib, ISA-L, bz2 and lzma release the GIL while they work, so on a multi-core host
    decompression and file writing overlap instead of adding up."""

    _DEPTH = 4  # chunks decompressed ahead: bounds memory at DEPTH * CHUNK

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self._queue: queue.Queue = queue.Queue(self._DEPTH)
        self._stop = threading.Event()
        self._chunk = memoryview(b"")
        self._done = False
        self._thread = threading.Thread(target=self._pump, name="decompress", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _pump(self) -> None:
        try:
            while True:
                data = self._source.read(CHUNK)
                if not self._put(data) or not data:
                    return
        except BaseException as e:  # handed to the reader, raised there
            self._put(e)

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        if not self._chunk:
            if self._done:
                return 0
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._done = True
                raise item
            if not item:
                self._done = True
                return 0
            self._chunk = memoryview(item)
        n = min(len(buf), len(self._chunk))
        buf[:n] = self._chunk[:n]
        self._chunk = self._chunk[n:]
        return n

    def close(self) -> None:
        self._stop.set()
        super().close()


def decompressed(stream: BinaryIO) -> BinaryIO:
    """A buffered reader of `stream`'s uncompressed bytes."""
    head = stream.read(6)
    while 0 < len(head) < 6:
        more = stream.read(6 - len(head))
        if not more:
            break
        head += more
    raw = io.BufferedReader(_Prefixed(head, stream), CHUNK)
    kind = detect(head)
    if kind is Compression.NONE:
        return raw  # type: ignore[return-value]
    if kind is Compression.GZIP:
        gz = _fast_gzip.IGzipFile if _fast_gzip is not None else gzip.GzipFile
        source = gz(fileobj=raw, mode="rb")
    elif kind is Compression.BZIP2:
        source = bz2.BZ2File(raw, "rb")
    else:
        source = lzma.LZMAFile(raw, "rb")
    return io.BufferedReader(_Pipelined(source), CHUNK)  # type: ignore[return-value]
