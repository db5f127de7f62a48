"""What the bridge driver does for user-defined networks, on the real kernel: two bridges
kept apart by one isolation chain (both ways), an internal one without a way out, an
address asked for, a second interface without a default route, and the embedded DNS
server's socket in a namespace of its own. Nothing is left afterwards."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import subprocess

import dns.flags
import dns.message
import dns.rcode
import pytest

from pyctr.engine.networkdriver import dns as embedded_dns
from pyctr.engine.networkdriver import iptables
from pyctr.engine.networkdriver.bridge import BridgeConfig, BridgeNetwork
from pyctr.engine.networkdriver.driver import EndpointRequest
from pyctr.engine.networkdriver.ipam import AddressError
from harness import iptables_lines_about, pick_network, remove_chain, remove_network


@pytest.fixture
def two_nets():
    (a, a_bip), (b, b_bip) = pick_network(), pick_network()
    names = ("pyu" + a[3:], "pyu" + b[3:])
    chain = "PYCTR-ISO-t" + a[3:]
    yield names, (a_bip, b_bip), chain
    left = [line for name in names for line in iptables_lines_about(name)]
    for name in names:
        remove_network(name)
    left += [f"chain {chain}"] if f":{chain} " in subprocess.run(
        ["iptables-save", "-t", "filter"], capture_output=True, text=True).stdout else []
    remove_chain(chain)
    assert not left, left


def in_ns(pid: int, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["nsenter", "-t", str(pid), "-n", *argv], capture_output=True, text=True)


def test_isolation_internal_ifnames_and_asked_addresses(two_nets, netns_process):
    (a_name, b_name), (a_bip, b_bip), chain = two_nets

    async def main():
        await iptables.ensure_chain("filter", chain)
        a = BridgeNetwork(BridgeConfig(name=a_name, bip=a_bip, isolation_chain=chain))
        b = BridgeNetwork(BridgeConfig(name=b_name, bip=b_bip, isolation_chain=chain, internal=True))
        await a.open()
        await b.open()
        try:
            rules = await iptables.rules_in("filter", chain)
            assert {r.spec for r in rules} == {("-o", a_name, "-j", "DROP"), ("-o", b_name, "-j", "DROP")}
            wanted = ipaddress.IPv4Interface(a_bip).network[9]
            pid = netns_process()
            first = await a.allocate(EndpointRequest("c1", ip=wanted))
            second = await b.allocate(EndpointRequest("c1", ifname="eth1"))
            assert first.ip == wanted and not second.default_route   # internal: no way out
            with pytest.raises(AddressError, match="in use"):
                await a.allocate(EndpointRequest("c2", ip=wanted))
            await a.connect(first, pid)
            await b.connect(second, pid)
            links = {l["ifname"] for l in json.loads(in_ns(pid, "ip", "-j", "link").stdout)}
            assert links == {"lo", "eth0", "eth1"}
            routes = in_ns(pid, "ip", "route").stdout
            assert f"default via {first.gateway} dev eth0" in routes and "dev eth1" in routes
            assert routes.count("default") == 1
            # the embedded DNS server's socket, in the namespace (lo still down: FREEBIND)
            many = [ipaddress.IPv4Address(f"10.99.{i // 250}.{i % 250 + 1}") for i in range(100)]
            listener = await embedded_dns.Listener.open(pid, {"db": [first.ip], "many": many}.get, lambda: [])
            try:
                subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "link", "set", "lo", "up"], check=True)
                query = dns.message.make_query("db", "A").to_wire()
                script = ("import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5);"
                          "s.sendto(bytes.fromhex(sys.argv[1]), ('127.0.0.11', 53));"
                          "sys.stdout.write(s.recv(4096).hex())")
                got = await asyncio.to_thread(in_ns, pid, "python3", "-c", script, query.hex())
                reply = dns.message.from_wire(bytes.fromhex(got.stdout))
                assert [str(r) for r in reply.answer[0]] == [str(first.ip)]
                other = dns.message.make_query("elsewhere", "A").to_wire()
                got = await asyncio.to_thread(in_ns, pid, "python3", "-c", script, other.hex())
                assert dns.message.from_wire(bytes.fromhex(got.stdout)).rcode() == dns.rcode.SERVFAIL
                # 100 addresses do not fit a 512-byte datagram: TC set, and the whole answer by TCP
                big = dns.message.make_query("many", "A").to_wire()
                got = await asyncio.to_thread(in_ns, pid, "python3", "-c", script, big.hex())
                reply = dns.message.from_wire(bytes.fromhex(got.stdout))
                assert reply.flags & dns.flags.TC and not reply.answer
                tcp = ("import socket,sys; s=socket.create_connection(('127.0.0.11', 53), 5);"
                       "q=bytes.fromhex(sys.argv[1]); f=s.makefile('rb')\n"
                       "for _ in range(2):\n"   # two queries on one connection
                       "  s.sendall(len(q).to_bytes(2, 'big') + q); n=int.from_bytes(f.read(2), 'big');"
                       " sys.stdout.write(f.read(n).hex() + ' ')")
                got = await asyncio.to_thread(in_ns, pid, "python3", "-c", tcp, big.hex())
                replies = [dns.message.from_wire(bytes.fromhex(h)) for h in got.stdout.split()]
                assert len(replies) == 2
                assert all(sorted(str(r) for r in rep.answer[0]) == sorted(map(str, many)) for rep in replies)
            finally:
                listener.close()
            await a.release(first)
            await b.release(second)
        finally:
            await a.shutdown()
            await b.shutdown()
        assert await iptables.rules_in("filter", chain) == []
        await iptables.drop_chain("filter", chain)

    asyncio.run(main())
