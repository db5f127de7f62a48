"""An iterator of byte chunks (a tar stream from a driver) read as a blocking file."""

from __future__ import annotations

import io
from typing import Iterable, Iterator


class IterReader(io.RawIOBase):
    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it: Iterator[bytes] = iter(chunks)
        self._buf = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[override]
        while not self._buf:
            chunk = next(self._it, None)
            if chunk is None:
                return 0
            self._buf = memoryview(chunk)
        n = min(len(target), len(self._buf))
        target[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        close = getattr(self._it, "close", None)
        if close is not None:  # a generator: run its finally (e.g. a driver's put)
            close()
        super().close()


def reader(chunks: Iterable[bytes]) -> io.BufferedReader:
    return io.BufferedReader(IterReader(chunks), 1 << 20)
