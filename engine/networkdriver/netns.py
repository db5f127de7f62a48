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

CLONE_NEWNET = 0x40000000
NETLINK_ROUTE = 0

_libc = ctypes.CDLL(None, use_errno=True)


def netlink_socket_in(pid: int) -> int:
    """The fd of a NETLINK_ROUTE socket in the network namespace of `pid` (caller owns it)."""
    result: dict[str, object] = {}

    def work() -> None:
        try:
            ns = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(ns, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into the network namespace of pid {pid}: {os.strerror(err)}")
            finally:
                os.close(ns)
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
            result["fd"] = sock.detach()
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=work, name=f"netns-{pid}")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["fd"]  # type: ignore[return-value]
