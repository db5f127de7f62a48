"""The userland proxy (Docker 1.2's `docker-proxy`, here in the daemon's event loop).

Connections to a published port from the host itself (127.0.0.1 above all, which
DNAT cannot reach without route_localnet) arrive on the port's bound socket and are
relayed to the container's address. TCP keeps half-closes and applies back-pressure
both ways; UDP keeps one upstream socket per client address, dropped when idle."""

from __future__ import annotations

import asyncio
import logging
import socket

log = logging.getLogger("pyctr.proxy")

UDP_IDLE_TIMEOUT = 90.0      # seconds, as Docker's UDP proxy
UDP_MAX_DATAGRAM = 65507


class _Pipe(asyncio.Protocol):
    """One side of a relayed TCP connection; `peer` is the other side's pipe."""

    def __init__(self, on_closed) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Pipe | None = None
        self.pending: list[bytes] = []      # data that came before the peer was connected
        self.eof = False
        self._on_closed = on_closed

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.transport is None:
            self.pending.append(data)
            self.transport.pause_reading()
            return
        peer.transport.write(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.transport.is_closing():
            if peer.transport.can_write_eof():
                peer.transport.write_eof()
            if peer.eof:   # both directions are done
                self.transport.close()
                peer.transport.close()
        return True

    # back-pressure: stop reading from one side while the other cannot take more
    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()
        self._on_closed(self)

    def start(self, peer: "_Pipe") -> None:
        """Peer connected: flush what came early and read on."""
        self.peer = peer
        for data in self.pending:
            peer.transport.write(data)
        self.pending.clear()
        if self.eof:
            self.eof_received()
        elif not self.transport.is_closing():
            self.transport.resume_reading()


class TCPProxy:
    def __init__(self, sock: socket.socket, backend: tuple[str, int]) -> None:
        self.sock = sock
        self.backend = backend
        self._server: asyncio.base_events.Server | None = None
        self._pipes: set[_Pipe] = set()
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._client, sock=self.sock)

    def _client(self) -> _Pipe:
        pipe = _Pipe(self._pipes.discard)
        self._pipes.add(pipe)
        task = asyncio.get_running_loop().create_task(self._connect(pipe))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return pipe

    async def _connect(self, client: _Pipe) -> None:
        await asyncio.sleep(0)   # let connection_made run first
        loop = asyncio.get_running_loop()
        try:
            _, upstream = await loop.create_connection(lambda: _Pipe(self._pipes.discard), *self.backend)
        except OSError as exc:
            log.debug("proxy to %s:%d: %s", *self.backend, exc)
            if client.transport is not None:
                client.transport.abort()
            return
        self._pipes.add(upstream)
        if client.transport is None or client.transport.is_closing():
            upstream.transport.close()
            return
        upstream.start(client)
        client.start(upstream)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for pipe in list(self._pipes):
            if pipe.transport is not None:
                pipe.transport.abort()
        if self._server is not None:
            await self._server.wait_closed()
        self.sock.close()


class _UpstreamDatagrams(asyncio.DatagramProtocol):
    def __init__(self, proxy: "UDPProxy", client: tuple[str, int]) -> None:
        self.proxy, self.client = proxy, client
        self.transport: asyncio.DatagramTransport | None = None
        self.last_used = asyncio.get_running_loop().time()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.last_used = asyncio.get_running_loop().time()
        if self.proxy.front is not None:
            self.proxy.front.sendto(data, self.client)

    def error_received(self, exc) -> None:
        log.debug("udp proxy upstream for %s: %s", self.client, exc)


class UDPProxy(asyncio.DatagramProtocol):
    def __init__(self, sock: socket.socket, backend: tuple[str, int],
                 idle_timeout: float = UDP_IDLE_TIMEOUT) -> None:
        self.sock = sock
        self.backend = backend
        self.idle_timeout = idle_timeout
        self.front: asyncio.DatagramTransport | None = None
        self._upstreams: dict[tuple[str, int], _UpstreamDatagrams] = {}
        self._connecting: dict[tuple[str, int], list[bytes]] = {}
        self._reaper: asyncio.Task | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, sock=self.sock)
        self._reaper = loop.create_task(self._reap())

    def connection_made(self, transport) -> None:
        self.front = transport

    def datagram_received(self, data: bytes, addr) -> None:
        upstream = self._upstreams.get(addr)
        if upstream is not None and upstream.transport is not None:
            upstream.last_used = asyncio.get_running_loop().time()
            upstream.transport.sendto(data)
            return
        if addr in self._connecting:
            self._connecting[addr].append(data)
            return
        self._connecting[addr] = [data]
        asyncio.get_running_loop().create_task(self._open(addr))

    async def _open(self, addr) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, upstream = await loop.create_datagram_endpoint(
                lambda: _UpstreamDatagrams(self, addr), remote_addr=self.backend)
        except OSError as exc:
            log.debug("udp proxy to %s:%d: %s", *self.backend, exc)
            self._connecting.pop(addr, None)
            return
        if self.front is None:   # closed meanwhile
            upstream.transport.close()
            return
        self._upstreams[addr] = upstream
        for data in self._connecting.pop(addr, []):
            upstream.transport.sendto(data)

    async def _reap(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(self.idle_timeout, 10.0))
            now = loop.time()
            for addr, upstream in list(self._upstreams.items()):
                if now - upstream.last_used > self.idle_timeout:
                    upstream.transport.close()
                    del self._upstreams[addr]

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for upstream in self._upstreams.values():
            if upstream.transport is not None:
                upstream.transport.close()
        self._upstreams.clear()
        if self.front is not None:
            self.front.close()
            self.front = None
        self.sock.close()


def new_proxy(proto: str, sock: socket.socket, backend: tuple[str, int]):
    return TCPProxy(sock, backend) if proto == "tcp" else UDPProxy(sock, backend)
