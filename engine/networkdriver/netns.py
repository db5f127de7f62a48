"""A netlink socket inside another process's network namespace, without forking.

setns(CLONE_NEWNET) changes the namespace of the calling thread only, and a socket
stays in the namespace it was created in; so a short-lived thread of our own joins
the namespace, opens the socket and ends (pyroute2's own netns support forks, which
a threaded daemon must not do)."""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from typing import Callable, TypeVar

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
NETLINK_ROUTE = 0

_libc = ctypes.CDLL(None, use_errno=True)


def in_netns(pid: int, work: Callable[[], T]) -> T:
    """`work()` run in the network namespace of `pid` (a socket it makes lives there; a
    /proc/sys/net file it opens is that namespace's)."""
    result: dict[str, object] = {}

    def run() -> None:
        try:
            ns = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(ns, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into the network namespace of pid {pid}: {os.strerror(err)}")
            finally:
                os.close(ns)
            result["value"] = work()
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=run, name=f"netns-{pid}")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]  # type: ignore[return-value]


def netlink_socket_in(pid: int) -> int:
    """The fd of a NETLINK_ROUTE socket in the network namespace of `pid` (caller owns it)."""
    return in_netns(pid, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC,
                                                NETLINK_ROUTE)).detach()


def interface_sysctl(name: str) -> bool:
    """net.ipv4.conf.<iface>.x and friends (not the all/default entries): a sysctl of one
    interface, written once the container's interfaces are in, not by its init."""
    parts = name.split(".")
    return len(parts) >= 5 and parts[2] in ("conf", "neigh") and parts[3] not in ("all", "default")
