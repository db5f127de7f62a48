"""The port allocator binds what it hands out, so a port the host uses is never given."""

import socket

import pytest

from pyctr.engine.networkdriver.portallocator import (PortAllocator, PortError, PortInUse,
                                                      PortsExhausted)


def free_run(count: int) -> int:
    """The first of `count` consecutive ports that nobody holds right now (TCP and UDP)."""
    for base in range(42000, 43000, count):
        socks = []
        try:
            for port in range(base, base + count):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind(("0.0.0.0", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free run of ports")


def test_dynamic_ports_skip_a_port_the_host_holds():
    base = free_run(3)
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", base))
    squatter.listen()
    ports = PortAllocator(base, base + 2)
    try:
        first = ports.reserve("tcp", "0.0.0.0")
        second = ports.reserve("tcp", "0.0.0.0")
        assert (first.port, second.port) == (base + 1, base + 2)
        with pytest.raises(PortsExhausted):
            ports.reserve("tcp", "0.0.0.0")
        # and the port is really held: nobody else can bind it
        with pytest.raises(OSError):
            socket.socket().bind(("127.0.0.1", first.port))
    finally:
        squatter.close()
        for r in ports.held():
            ports.release(r)


def test_explicit_port_in_use_by_the_host_or_by_us():
    base = free_run(2)
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", base))
    squatter.listen()
    ports = PortAllocator(base, base + 1)
    try:
        with pytest.raises(PortInUse, match=f"Bind for 127.0.0.1:{base} failed: port is already allocated"):
            ports.reserve("tcp", "127.0.0.1", base)
        r = ports.reserve("tcp", "127.0.0.1", base + 1)
        with pytest.raises(PortInUse):
            ports.reserve("tcp", "0.0.0.0", base + 1)      # 0.0.0.0 overlaps every address
        udp = ports.reserve("udp", "127.0.0.1", base + 1)  # another protocol is another port
        ports.release(r)
        again = ports.reserve("tcp", "127.0.0.1", base + 1)
        assert again.port == base + 1
        ports.release(again)
        ports.release(udp)
    finally:
        squatter.close()
    assert ports.held() == []


def test_bad_requests():
    ports = PortAllocator(50000, 50001)
    with pytest.raises(PortError):
        ports.reserve("sctp", "0.0.0.0")
    with pytest.raises(PortError):
        ports.reserve("tcp", "0.0.0.0", 70000)
    with pytest.raises(PortError, match="not an address of this host"):
        ports.reserve("tcp", "198.51.100.1", 50000)
    with pytest.raises(ValueError):
        PortAllocator(10, 5)
    assert ports.held() == []
