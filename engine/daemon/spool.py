"""A container's output on its way from its pipe to its log, kept on disk so that a
daemon killed at any instant loses none of it (issue 17: "never loses a byte").

Reading a pipe takes the bytes out of it: a daemon killed between that read and the
log write used to lose them (the keeper's copy of the pipe keeps only what no daemon
has read yet). So each stream of a container has a spool file beside its log, and
the daemon moves the pipe's bytes into it with one splice(2): a byte is either still
in the pipe or already in the spool, whatever instant the daemon dies at. The log
is written from the spool, and its cursor (jsonfile.LogWriter's) says how far into
each spool the log has come; the next daemon logs the rest of the spool before it
reads the pipe again.

Spool offsets are the stream's own: byte n of the container's stdout in this run is
byte n of its spool. What the log has is punched out of the file (it stays sparse).

A pty is not a pipe (no splice): a TTY container's output is read as before, and a
daemon killed in the middle of a read loses that read's bytes. When the data root is
full the spool cannot grow: the stream goes on without it (the log holds what it can
in memory, as before) and the log's cursor is dropped, so no later daemon replays a
spool that has holes in it.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
from typing import Callable, Iterator

log = logging.getLogger("pyctr.logs")

STREAMS = ("stdout", "stderr")
TAKE = 65536            # the most moved from the pipe at once (a pipe's default size)
FREE_EVERY = 1 << 20    # punch out logged bytes once this many have gathered
_PUNCH_HOLE = 0x02 | 0x01   # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
_libc: ctypes.CDLL | None = None


def spool_path(log_path: str, stream: str) -> str:
    return f"{log_path}.{stream}.spool"


def remove(log_path: str) -> None:
    for stream in STREAMS:
        try:
            os.unlink(spool_path(log_path, stream))
        except FileNotFoundError:
            pass


class Spool:
    def __init__(self, path: str, fresh: bool, on_broken: Callable[[], None]) -> None:
        """The spool at `path`: emptied first when `fresh` (a new run of the container),
        else as an earlier daemon left it. `on_broken` is called once if the spool cannot
        take more (full disk): the stream's offsets then no longer match the spool."""
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | (os.O_TRUNC if fresh else 0)
        self.fd = os.open(path, flags, 0o600)
        self.size = os.fstat(self.fd).st_size
        self.freed = 0
        self.broken = False
        self._on_broken = on_broken

    def take(self, pipe: int) -> bytes:
        """The next bytes of the (non-blocking) pipe, moved into the spool first; b"" at
        EOF; BlockingIOError when the pipe is empty."""
        if self.broken:
            return os.read(pipe, TAKE)
        try:
            moved = os.splice(pipe, self.fd, TAKE, offset_dst=self.size, flags=os.SPLICE_F_NONBLOCK)
        except BlockingIOError:
            raise
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.EBADF):   # not a pipe after all
                raise
            log.error("output spool %s: %s; going on without it", self._name(), exc)
            self.broken = True
            self._on_broken()
            return os.read(pipe, TAKE)
        if not moved:
            return b""
        data = os.pread(self.fd, moved, self.size)
        self.size += moved
        return data

    def unlogged(self, start: int) -> Iterator[bytes]:
        """The spool's bytes from offset `start` on, in chunks (what a dead daemon moved
        out of the pipe but had not logged)."""
        position = start
        while position < self.size:
            chunk = os.pread(self.fd, min(TAKE, self.size - position), position)
            if not chunk:
                return
            position += len(chunk)
            yield chunk

    def free(self, logged: int) -> None:
        """The log has every byte before `logged`: give their blocks back to the disk."""
        if logged - self.freed < FREE_EVERY:
            return
        global _libc
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        if _libc.fallocate(self.fd, _PUNCH_HOLE, ctypes.c_long(self.freed),
                           ctypes.c_long(logged - self.freed)) == 0:
            self.freed = logged

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _name(self) -> str:
        try:
            return os.readlink(f"/proc/self/fd/{self.fd}")
        except OSError:
            return f"fd {self.fd}"
