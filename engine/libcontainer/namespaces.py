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


def unshare_flags(net_mode: str, pid_shared: bool = False, ipc_shared: bool = False,
                  uts_host: bool = False) -> int:
    """The namespaces a container gets of its own; a shared one (the host's, or joined
    with `join`) is left out."""
    flags = syscalls.CLONE_NEWNS
    if not uts_host:
        flags |= syscalls.CLONE_NEWUTS
    if not ipc_shared:
        flags |= syscalls.CLONE_NEWIPC
    if not pid_shared:
        flags |= syscalls.CLONE_NEWPID
    if net_mode in ("none", "bridge"):
        flags |= syscalls.CLONE_NEWNET
    return flags


NS_FILES = {syscalls.CLONE_NEWNET: "net", syscalls.CLONE_NEWPID: "pid", syscalls.CLONE_NEWIPC: "ipc"}


def join(pid: int, nstype: int) -> None:
    """Enter `pid`'s namespace of that type (a pid namespace takes effect for children)."""
    fd = os.open(f"/proc/{pid}/ns/{NS_FILES[nstype]}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscalls.setns(fd, nstype)
    finally:
        os.close(fd)


def join_netns(pid: int) -> None:
    join(pid, syscalls.CLONE_NEWNET)


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
