"""Room to record state on a full data root.

A container that fills its own filesystem fills the data root (its upper layer lives
there), and then neither its exit nor anything else can be written; a daemon started
on such a disk cannot even open its SQLite DB (the WAL and shared-memory files are
new files). So pyctrd keeps a small reserve file next to the graph DB while there is
room, and gives it up the moment a record cannot be written: the DB, the container
records and the daemon's start then have room, and the reserve is made again once
space is freed."""

from __future__ import annotations

import logging
import os

log = logging.getLogger("pyctr.space")

RESERVE_BYTES = 2 << 20


def free_bytes(path: str) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


class SpaceReserve:
    def __init__(self, path: str, size: int = RESERVE_BYTES) -> None:
        self.path = path
        self.size = size

    @property
    def held(self) -> bool:
        return os.path.exists(self.path)

    def ensure(self) -> bool:
        """Make the reserve when it is missing and the disk has plenty of room for it."""
        if self.held:
            return True
        try:
            if free_bytes(os.path.dirname(self.path)) < 4 * self.size:
                return False
            fd = os.open(self.path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.size)   # real blocks, not a sparse promise
            finally:
                os.close(fd)
            os.rename(self.path + ".new", self.path)
            return True
        except OSError as exc:
            log.debug("no space reserve yet: %s", exc)
            try:
                os.unlink(self.path + ".new")
            except OSError:
                pass
            return False

    def release(self) -> bool:
        """Give the reserve's blocks back; False if there was none to give."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            return False
        log.warning("data root full: released the %d KiB space reserve so that state can be written",
                    self.size >> 10)
        return True
