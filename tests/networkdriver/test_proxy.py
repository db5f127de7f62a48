"""The userland proxy on real loopback sockets: TCP payload both ways, half-close,
back-pressure with a large payload, a refused backend, UDP round trips, and close."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket

import pytest

from pyctr.engine.networkdriver.portallocator import PortAllocator
from pyctr.engine.networkdriver.proxy import TCPProxy, UDPProxy


async def echo_server() -> tuple[asyncio.base_events.Server, int]:
    """Echoes everything, and after the client's EOF sends the sha256 of what it got."""
    async def handle(reader, writer):
        digest = hashlib.sha256()
        while data := await reader.read(65536):
            digest.update(data)
            writer.write(data)
            await writer.drain()
        writer.write(b"END" + digest.hexdigest().encode())
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def with_proxy(proto: str, backend_port: int):
    ports = PortAllocator(45000, 47000)
    reservation = ports.reserve(proto, "127.0.0.1")
    proxy = (TCPProxy if proto == "tcp" else UDPProxy)(reservation.sock, ("127.0.0.1", backend_port))
    await proxy.start()
    return ports, reservation, proxy


def test_tcp_relays_both_ways_with_half_close_and_a_large_payload():
    payload = os.urandom(8 * 1024 * 1024)

    async def main():
        server, port = await echo_server()
        ports, reservation, proxy = await with_proxy("tcp", port)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", reservation.port)

            async def send():
                for i in range(0, len(payload), 1 << 20):
                    writer.write(payload[i:i + (1 << 20)])
                    await writer.drain()
                writer.write_eof()   # half-close: the server still answers after it
            sender = asyncio.create_task(send())
            got = await reader.read(-1)
            await sender
            writer.close()
            return got
        finally:
            await proxy.close()
            ports.release(reservation)
            server.close()
            await server.wait_closed()

    got = asyncio.run(main())
    assert got[:len(payload)] == payload
    assert got[len(payload):] == b"END" + hashlib.sha256(payload).hexdigest().encode()


def test_tcp_backend_refusing_closes_the_client():
    async def main():
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
        closed.close()    # nobody listens there now
        ports, reservation, proxy = await with_proxy("tcp", dead_port)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", reservation.port)
            data = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            return data
        finally:
            await proxy.close()
            ports.release(reservation)

    assert asyncio.run(main()) == b""


def test_udp_round_trips_per_client():
    async def main():
        loop = asyncio.get_running_loop()

        class Echo(asyncio.DatagramProtocol):
            def connection_made(self, transport):
                self.transport = transport

            def datagram_received(self, data, addr):
                self.transport.sendto(b"echo:" + data, addr)

        server, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        port = server.get_extra_info("sockname")[1]
        ports, reservation, proxy = await with_proxy("udp", port)
        try:
            answers = []
            for name in (b"a", b"b"):
                client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                client.setblocking(False)
                client.connect(("127.0.0.1", reservation.port))
                for i in range(3):
                    await loop.sock_sendall(client, name + str(i).encode())
                    answers.append(await asyncio.wait_for(loop.sock_recv(client, 100), 5))
                client.close()
            return answers
        finally:
            await proxy.close()
            ports.release(reservation)
            server.close()

    assert asyncio.run(main()) == [b"echo:a0", b"echo:a1", b"echo:a2", b"echo:b0", b"echo:b1", b"echo:b2"]


def test_close_frees_the_port_and_ends_open_connections():
    async def main():
        server, port = await echo_server()
        ports, reservation, proxy = await with_proxy("tcp", port)
        reader, writer = await asyncio.open_connection("127.0.0.1", reservation.port)
        writer.write(b"x")
        assert await reader.readexactly(1) == b"x"
        await proxy.close()
        ports.release(reservation)
        try:   # our connection was ended (aborted: EOF or a reset)
            rest = await asyncio.wait_for(reader.read(), 5)
        except ConnectionResetError:
            rest = b""
        writer.close()
        probe = socket.socket()
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", reservation.port))       # and the port is free again
        probe.close()
        server.close()
        await server.wait_closed()
        return rest

    assert asyncio.run(main()) == b""
