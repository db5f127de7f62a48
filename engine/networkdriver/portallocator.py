"""Host ports for published container ports (Docker 1.2's portallocator).

A port is only ever given together with a socket bound to it on the host, so a
port some other program holds is never handed out, and nothing can take ours
while a container uses it: the socket is what the userland proxy serves on (or,
without the proxy, what keeps the port reserved)."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass, field

# Docker 1.2's dynamic range.
DYNAMIC_BEGIN = 49153
DYNAMIC_END = 65535


class PortError(Exception):
    pass


class PortInUse(PortError):
    pass


class PortsExhausted(PortError):
    pass


@dataclass
class Reservation:
    proto: str               # "tcp" | "udp"
    host_ip: str             # "0.0.0.0" for every address
    port: int
    sock: socket.socket = field(repr=False)


class PortAllocator:
    def __init__(self, begin: int = DYNAMIC_BEGIN, end: int = DYNAMIC_END) -> None:
        if not 0 < begin <= end <= 65535:
            raise ValueError(f"invalid port range {begin}-{end}")
        self.begin, self.end = begin, end
        self._next = begin
        self._held: dict[tuple[str, str, int], Reservation] = {}

    def reserve(self, proto: str, host_ip: str = "0.0.0.0", port: int = 0) -> Reservation:
        """Bind `port` (or, with 0, the next free one of the dynamic range)."""
        if proto not in ("tcp", "udp"):
            raise PortError(f"unknown protocol {proto!r}")
        if port:
            if not 0 < port <= 65535:
                raise PortError(f"invalid host port {port}")
            if self._taken_by_us(proto, host_ip, port):
                raise PortInUse(_in_use(host_ip, port))
            sock = _bind(proto, host_ip, port)
            if sock is None:
                raise PortInUse(_in_use(host_ip, port))
            return self._keep(Reservation(proto, host_ip, port, sock))
        size = self.end - self.begin + 1
        for step in range(size):
            candidate = self.begin + (self._next - self.begin + step) % size
            if self._taken_by_us(proto, host_ip, candidate):
                continue
            sock = _bind(proto, host_ip, candidate)
            if sock is not None:
                self._next = candidate + 1 if candidate < self.end else self.begin
                return self._keep(Reservation(proto, host_ip, candidate, sock))
        raise PortsExhausted(f"all ports {self.begin}-{self.end} are in use for {proto} on {host_ip}")

    def adopt(self, proto: str, host_ip: str, port: int, sock: socket.socket) -> Reservation:
        """A port whose bound socket was kept while no daemon ran (live restore)."""
        if self._taken_by_us(proto, host_ip, port):
            sock.close()
            raise PortInUse(_in_use(host_ip, port))
        sock.setblocking(False)
        return self._keep(Reservation(proto, host_ip, port, sock))

    def release(self, reservation: Reservation) -> None:
        key = (reservation.proto, reservation.host_ip, reservation.port)
        if self._held.get(key) is reservation:
            del self._held[key]
        reservation.sock.close()

    def held(self) -> list[Reservation]:
        return list(self._held.values())

    def _keep(self, reservation: Reservation) -> Reservation:
        self._held[(reservation.proto, reservation.host_ip, reservation.port)] = reservation
        return reservation

    def _taken_by_us(self, proto: str, host_ip: str, port: int) -> bool:
        # 0.0.0.0 overlaps every address, as in the kernel.
        return any(p == proto and n == port and (ip == host_ip or "0.0.0.0" in (ip, host_ip))
                   for p, ip, n in self._held)


def _in_use(host_ip: str, port: int) -> str:
    return f"Bind for {host_ip}:{port} failed: port is already allocated"


def _bind(proto: str, host_ip: str, port: int) -> socket.socket | None:
    """A socket bound to host_ip:port, or None when someone holds the port. TCP
    sockets listen at once: a bound-but-not-listening socket with SO_REUSEADDR
    would not keep another SO_REUSEADDR socket off the port."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    try:
        if proto == "tcp":  # allow ports in TIME_WAIT from an earlier container, as asyncio does
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host_ip, port))
        if proto == "tcp":
            sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
        return sock
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            return None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise PortError(f"Bind for {host_ip}:{port} failed: {host_ip} is not an address of this host") from None
        raise
