"""Taking an flock that another process may hold only for a moment.

A pyctrd that opens on a named bridge takes the bridge's lock and, while it holds it,
checks whether that bridge is still another daemon's; if it is, it lets go again. A
second daemon starting at the same instant must not take that brief hold for a daemon
running on the bridge: it waits a little for the lock before it says who holds it."""

from __future__ import annotations

import fcntl
import time

# Far longer than a check of a bridge takes, even on a loaded machine; short enough
# that a daemon refused for a truly held bridge says so at once to a human.
PATIENCE = 3.0


def flock_within(fd: int, patience: float = PATIENCE) -> bool:
    """Take an exclusive flock on `fd`, waiting up to `patience` seconds: whether we got it."""
    deadline = time.monotonic() + patience
    delay = 0.01
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
