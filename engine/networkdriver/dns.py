"""The embedded DNS server of user-defined networks (Docker's 127.0.0.11).

One UDP and one TCP socket per container, made inside the container's network namespace (a
short-lived thread joins it, as netns.py does for netlink: setns changes only the
calling thread) and bound to 127.0.0.11:53 there, then served by the daemon's own
event loop. No process per container, nothing to start or reap: the sockets go with
the listener, or with the namespace when the container ends.

Answers: the names the daemon knows for the asking container (`names`, a callback:
container names, aliases, compose service names with one A record per container),
an empty answer for their other record types, and for every other name the reply of
an upstream server (`upstreams`, a callback: the container's --dns, else the
daemon's). The wire format is dnspython's (Debian's python3-dnspython).

A flood from a container cannot take the daemon down: each listener answers at most
RATE queries a second (a token bucket; the rest are dropped, as a loaded server
drops) and keeps at most MAX_FORWARDS queries waiting for an upstream (the rest get
REFUSED)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Callable

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from .netns import in_netns

log = logging.getLogger("pyctr.network.dns")

ADDRESS = "127.0.0.11"
PORT = 53
TTL = 600            # Docker's TTL for container names
RATE = 2000          # queries a second per container (burst as many)
MAX_FORWARDS = 100   # queries of one container waiting for an upstream
FORWARD_TIMEOUT = 3.0
MAX_TCP_CLIENTS = 16     # connections of one container at a time
MAX_TCP_MESSAGE = 65535
TCP_IDLE = 10.0          # seconds a TCP client may stay silent
IP_FREEBIND = 15

Names = Callable[[str], "list[IPv4Address] | None"]     # name -> addresses; None: not ours
Upstreams = Callable[[], "list[str]"]


def _bound_socket(kind: int, address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind | socket.SOCK_CLOEXEC)
    try:
        # lo may not be up yet (the container's process has not run): bind anyway
        sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(MAX_TCP_CLIENTS)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def sockets_in(pid: int, address: str = ADDRESS, port: int = PORT) -> tuple[socket.socket, socket.socket]:
    """A UDP socket and a listening TCP socket on address:port in the network namespace of `pid`."""
    udp = in_netns(pid, lambda: _bound_socket(socket.SOCK_DGRAM, address, port))
    try:
        return udp, in_netns(pid, lambda: _bound_socket(socket.SOCK_STREAM, address, port))
    except BaseException:
        udp.close()
        raise


@dataclass
class Counters:
    answered: int = 0
    forwarded: int = 0
    refused: int = 0
    dropped: int = 0


@dataclass
class _Bucket:
    tokens: float = float(RATE)
    stamp: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(float(RATE), self.tokens + (now - self.stamp) * RATE)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Listener:
    """The resolver of one container: UDP and TCP (for answers too big for a datagram,
    and for clients that ask by TCP) on 127.0.0.11:53 in its namespace."""

    def __init__(self, names: Names, upstreams: Upstreams) -> None:
        self.names, self.upstreams = names, upstreams
        self.transport: asyncio.DatagramTransport | None = None
        self.server: asyncio.Server | None = None
        self.bucket = _Bucket()
        self.forwards = 0
        self.tcp_clients = 0
        self.counters = Counters()
        self.tasks: set[asyncio.Task] = set()

    @classmethod
    async def open(cls, pid: int, names: Names, upstreams: Upstreams) -> "Listener":
        udp, tcp = await asyncio.to_thread(sockets_in, pid)
        listener = cls(names, upstreams)
        loop = asyncio.get_running_loop()
        try:
            await loop.create_datagram_endpoint(lambda: _Datagrams(listener), sock=udp)
        except BaseException:
            udp.close()
            tcp.close()
            raise
        try:
            listener.server = await asyncio.start_server(listener._tcp_client, sock=tcp)
        except BaseException:
            tcp.close()
            listener.close()
            raise
        return listener

    def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        if self.server is not None:
            self.server.close()
            self.server = None

    # --- one query, whichever way it came ------------------------------------------
    def _local(self, data: bytes, limit: int) -> tuple[bytes | None, dns.message.Message | None]:
        """(the reply's wire, None) when it is answered here, (None, the query) when an
        upstream must answer it, (None, None) when it is dropped."""
        if not self.bucket.take():
            self.counters.dropped += 1
            return None, None
        try:
            query = dns.message.from_wire(data)
        except (dns.exception.DNSException, ValueError):
            self.counters.dropped += 1
            return None, None
        if query.flags & dns.flags.QR or len(query.question) != 1:
            return self._wire(_error(query, dns.rcode.FORMERR), limit), None
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        try:
            found = self.names(name) if question.rdclass == dns.rdataclass.IN else None
        except Exception:   # a bug of ours must not take the listener down: answer, and say
            log.exception("dns: looking up %s", name)
            return self._wire(_error(query, dns.rcode.SERVFAIL), limit), None
        if found is not None:
            return self._wire(_answer(query, question, found), max(limit, query.payload or 0)), None
        if self.forwards >= MAX_FORWARDS:
            self.counters.refused += 1
            return self._wire(_error(query, dns.rcode.REFUSED), limit), None
        return None, query

    def _wire(self, message: dns.message.Message, limit: int) -> bytes:
        try:
            wire = message.to_wire(max_size=limit)
        except dns.exception.TooBig:   # too big for a datagram: say so, the client asks by TCP
            message.answer.clear()
            message.flags |= dns.flags.TC
            wire = message.to_wire()
        self.counters.answered += 1
        return wire

    async def _forward(self, query: dns.message.Message, data: bytes, tcp: bool) -> bytes:
        """The query as it came, to each upstream in turn (by TCP if it came so): the first
        reply, or SERVFAIL."""
        self.forwards += 1
        self.counters.forwarded += 1
        try:
            for server in self.upstreams():
                try:
                    reply = await asyncio.wait_for(
                        (_ask_tcp if tcp else _ask_udp)(server, data), FORWARD_TIMEOUT)
                except (asyncio.TimeoutError, OSError, EOFError, asyncio.IncompleteReadError) as exc:
                    log.debug("dns upstream %s: %s", server, exc or "timeout")
                    continue
                self.counters.answered += 1
                return reply
            return self._wire(_error(query, dns.rcode.SERVFAIL), MAX_TCP_MESSAGE)
        finally:
            self.forwards -= 1

    # --- UDP -----------------------------------------------------------------------
    def datagram(self, data: bytes, addr) -> None:
        reply, query = self._local(data, 512)
        if reply is not None:
            self._send(reply, addr)
        elif query is not None:
            task = asyncio.ensure_future(self._forward_datagram(query, data, addr))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _forward_datagram(self, query: dns.message.Message, data: bytes, addr) -> None:
        self._send(await self._forward(query, data, tcp=False), addr)

    def _send(self, wire: bytes, addr) -> None:
        if self.transport is not None:
            self.transport.sendto(wire, addr)

    # --- TCP: 2-byte length, then the message; several on one connection -----------
    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self.tasks.add(task)
        self.tcp_clients += 1
        try:
            if self.tcp_clients > MAX_TCP_CLIENTS:
                self.counters.refused += 1
                return
            while True:
                try:
                    size = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), TCP_IDLE), "big")
                    data = await asyncio.wait_for(reader.readexactly(size), TCP_IDLE)
                except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                    return
                reply, query = self._local(data, MAX_TCP_MESSAGE)
                if reply is None and query is not None:
                    reply = await self._forward(query, data, tcp=True)
                if reply is None:
                    return   # dropped: a flood, or not DNS
                writer.write(len(reply).to_bytes(2, "big") + reply)
                await writer.drain()
        finally:
            self.tcp_clients -= 1
            self.tasks.discard(task)
            writer.close()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, listener: Listener) -> None:
        self.listener = listener

    def connection_made(self, transport) -> None:
        self.listener.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.listener.datagram(data, addr)


async def _ask_udp(server: str, data: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(lambda: _Client(loop), remote_addr=(server, PORT))
    try:
        transport.sendto(data)
        return await client.reply
    finally:
        transport.close()


async def _ask_tcp(server: str, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(server, PORT)
    try:
        writer.write(len(data).to_bytes(2, "big") + data)
        await writer.drain()
        size = int.from_bytes(await reader.readexactly(2), "big")
        return await reader.readexactly(size)
    finally:
        writer.close()


class _Client(asyncio.DatagramProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.reply: asyncio.Future[bytes] = loop.create_future()

    def datagram_received(self, data: bytes, addr) -> None:
        if not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


def _answer(query: dns.message.Message, question: dns.rrset.RRset, found: list[IPv4Address]) -> dns.message.Message:
    reply = dns.message.make_response(query)
    reply.flags |= dns.flags.RA
    if question.rdtype in (dns.rdatatype.A, dns.rdatatype.ANY) and found:
        rrset = dns.rrset.from_text_list(question.name, TTL, dns.rdataclass.IN, dns.rdatatype.A,
                                         [str(ip) for ip in found])
        reply.answer.append(rrset)
    return reply   # other types of a name of ours: no records (NOERROR), as Docker answers


def _error(query: dns.message.Message, rcode: int) -> dns.message.Message:
    reply = dns.message.make_response(query)
    reply.flags |= dns.flags.RA
    reply.set_rcode(rcode)
    return reply
