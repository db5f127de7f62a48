"""The container's terminal.

The pty is allocated by the daemon on the host's devpts (os.openpty): the
master is the daemon's from the first moment (nothing to pass back over a
socket), and the container init bind-mounts the slave onto its /dev/console
and makes it the controlling terminal of the container's process, so that
`tty` inside says /dev/console as with Docker 1.2.
"""

from __future__ import annotations

import fcntl  # at import time: after pivot_root the container has no Python modules
import os

TIOCSCTTY = 0x540E


def open_pty() -> tuple[int, int, str]:
    """(master_fd, slave_fd, slave_path); both fds close-on-exec."""
    master, slave = os.openpty()
    os.set_inheritable(master, False)
    os.set_inheritable(slave, False)
    return master, slave, os.ttyname(slave)


def become_session_leader() -> None:
    try:
        os.setsid()
    except PermissionError:
        pass   # already a session leader


def attach_stdio(console_path: str) -> None:
    """Open the console, make it our controlling terminal and stdin/stdout/stderr."""
    fd = os.open(console_path, os.O_RDWR)
    fcntl.ioctl(fd, TIOCSCTTY, 0)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)
