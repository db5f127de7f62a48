"""Which namespaces a container gets, joining another's netns, and bringing lo up.

Stdlib-only (runs in the helper and the container init).
"""

from __future__ import annotations

import os

from . import syscalls

NET_MODES = ("none", "bridge", "host", "container")

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def unshare_flags(net_mode: str) -> int:
    flags = syscalls.CLONE_NEWNS | syscalls.CLONE_NEWUTS | syscalls.CLONE_NEWIPC | syscalls.CLONE_NEWPID
    if net_mode in ("none", "bridge"):
        flags |= syscalls.CLONE_NEWNET
    return flags


def join_netns(pid: int) -> None:
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscalls.setns(fd, syscalls.CLONE_NEWNET)
    finally:
        os.close(fd)


def loopback_up() -> None:
    # _socket rather than socket: the socket module pulls in enum and selectors
    # (milliseconds on the start path) for nothing we need here.
    import _socket
    import fcntl

    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM, 0)
    try:
        ifreq = b"lo".ljust(16, b"\0") + bytes(24)
        res = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, ifreq)
        flags = int.from_bytes(res[16:18], "little") | IFF_UP
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, res[:16] + flags.to_bytes(2, "little") + res[18:])
    finally:
        sock.close()
