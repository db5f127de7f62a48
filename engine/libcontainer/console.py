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


TIOCGPTN = 0x80045430     # the pty number of a master
TIOCSPTLCK = 0x40045431   # (un)lock the slave


def open_pty_in(root: str) -> tuple[int, int]:
    """(master_fd, slave_fd) from the devpts instance under `root` (a container's
    root seen through /proc/<pid>/root), so that inside the container the slave is
    a real /dev/pts/N and `tty`/ttyname work for an `exec -t`."""
    import struct
    master = os.open(os.path.join(root, "dev/pts/ptmx"), os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        number = struct.unpack("i", fcntl.ioctl(master, TIOCGPTN, b"\0" * 4))[0]
        slave = os.open(os.path.join(root, f"dev/pts/{number}"), os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except BaseException:
        os.close(master)
        raise
    return master, slave


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
