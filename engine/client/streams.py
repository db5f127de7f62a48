"""Byte-level stream formats of the API: the 8-byte-header multiplexed stream
(attach and logs of non-TTY containers) and the JSON message streams
(pull, push, import, build, load, events)."""

from __future__ import annotations

import codecs
import json
import struct
from typing import Any, BinaryIO, Callable, Iterable, Iterator

STDIN, STDOUT, STDERR = 0, 1, 2
HEADER_SIZE = 8
_HEADER = struct.Struct(">BxxxL")


class FrameError(ValueError):
    """The multiplexed stream carried a header we do not understand."""


class Demuxer:
    """Incremental parser for the multiplexed stream.

    Each frame is `[stream, 0, 0, 0, size(4 bytes, big endian)]` + payload; stream
    0 (stdin echoed) and 1 go to stdout, 2 to stderr. Feed it whatever the socket
    returned; it yields complete (stream, payload) pieces and keeps the rest.
    Payloads are passed on as they arrive, also within a frame, so a container
    writing a long line without newline still shows up promptly."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._stream = -1  # stream of the frame being read, -1 = expecting a header
        self._left = 0  # payload bytes still to come in the current frame

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        out: list[tuple[int, bytes]] = []
        while True:
            if self._stream < 0:
                if len(self._buf) < HEADER_SIZE:
                    return out
                stream, size = _HEADER.unpack_from(self._buf)
                if stream not in (STDIN, STDOUT, STDERR):
                    raise FrameError(f"Unrecognized input header: {stream}")
                del self._buf[:HEADER_SIZE]
                self._stream, self._left = stream, size
                if size == 0:
                    self._stream = -1
                continue
            if not self._buf:
                return out
            chunk = bytes(self._buf[: self._left])
            del self._buf[: len(chunk)]
            self._left -= len(chunk)
            out.append((STDOUT if self._stream == STDIN else self._stream, chunk))
            if self._left == 0:
                self._stream = -1

    @property
    def incomplete(self) -> bool:
        """True if the stream ended inside a header or a frame."""
        return bool(self._buf) or self._stream >= 0


def demux(read: Callable[[int], bytes], stdout: BinaryIO, stderr: BinaryIO,
          chunk: int = 32768) -> None:
    """Copy a multiplexed stream from `read` to stdout/stderr until EOF."""
    demuxer = Demuxer()
    while True:
        data = read(chunk)
        if not data:
            return
        for stream, payload in demuxer.feed(data):
            target = stderr if stream == STDERR else stdout
            target.write(payload)
            target.flush()


def copy_raw(read: Callable[[int], bytes], out: BinaryIO, chunk: int = 32768) -> None:
    """Copy a raw stream (TTY attach, export, save) until EOF."""
    while True:
        data = read(chunk)
        if not data:
            return
        out.write(data)
        out.flush()


def json_messages(chunks: Iterable[bytes], object_pairs_hook: Any = None) -> Iterator[dict[str, Any]]:
    """Decode a stream of concatenated JSON objects.

    Docker writes one object per line, but like Go's json.Decoder we accept any
    whitespace (or none) between objects and objects split across reads."""
    decoder = json.JSONDecoder(object_pairs_hook=object_pairs_hook)
    utf8 = codecs.getincrementaldecoder("utf-8")("replace")
    text = ""
    for data in chunks:
        text += utf8.decode(data)
        pos = 0
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos >= len(text):
                break
            try:
                obj, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError:
                break  # incomplete object: wait for more bytes
            pos = end
            if isinstance(obj, dict):
                yield obj
        text = text[pos:]
    text += utf8.decode(b"", final=True)
    if text.strip():
        raise ValueError(f"truncated JSON message in stream: {text.strip()[:80]!r}")
