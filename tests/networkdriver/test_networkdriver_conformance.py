"""The network driver conformance suite: every test runs against every driver in DRIVERS
(bridge, host, none, container:), on the real kernel. A driver that passes it keeps the
contract of driver.py: open and shutdown are idempotent and leave the host as it was,
endpoints are allocated and released (all or nothing, twice is harmless), and a
container's namespace gets what the driver promises. The last tests run the same checks
against deliberately broken drivers and see them fail."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field

import pytest

from pyctr.engine.networkdriver import DRIVERS, BridgeConfig, BridgeNetwork, NetworkError
from pyctr.engine.networkdriver.driver import (HOST_NAMESPACE, JOINED_NAMESPACE, NEW_NAMESPACE, Endpoint,
                                               EndpointRequest, Network, PortBinding, PortSpec, PublishedPort,
                                               netns_of)
from pyctr.engine.networkdriver.host import HostNetwork
from pyctr.engine.networkdriver.portallocator import PortInUse
from harness import iptables_lines_about


@dataclass
class Sandboxes:
    """Processes standing in for containers, in the namespace an endpoint asks for, as the
    exec driver makes it (a new one, the host's, or another's); killed at the end."""
    procs: list[subprocess.Popen] = field(default_factory=list)

    def new(self) -> int:
        return self._start(["unshare", "--net", "sleep", "120"], changes_netns=True)

    def host(self) -> int:
        return self._start(["sleep", "120"], changes_netns=False)

    def joining(self, pid: int) -> int:
        return self._start(["nsenter", f"--net=/proc/{pid}/ns/net", "sleep", "120"], changes_netns=True)

    def for_endpoint(self, endpoint: Endpoint) -> int:
        if endpoint.namespace == NEW_NAMESPACE:
            return self.new()
        if endpoint.namespace == HOST_NAMESPACE:
            return self.host()
        assert endpoint.namespace == JOINED_NAMESPACE, endpoint.namespace
        return self.joining(endpoint.join_pid)

    def _start(self, argv: list[str], changes_netns: bool) -> int:
        proc = subprocess.Popen(argv)
        self.procs.append(proc)
        me = netns_of(os.getpid())
        deadline = time.monotonic() + 5
        # wait until unshare/nsenter has moved and exec'd sleep
        while changes_netns and (netns_of(proc.pid) == me or _comm(proc.pid) != "sleep"):
            assert time.monotonic() < deadline, f"{argv[0]} did not move to its namespace"
            time.sleep(0.005)
        return proc.pid

    def kill(self, pid: int) -> None:
        for proc in self.procs:
            if proc.pid == pid and proc.poll() is None:
                proc.kill()
                proc.wait()

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _comm(pid: int) -> str:
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


@dataclass
class Case:
    """One driver under test: its network, and what an allocation request for it holds."""
    network: Network
    sandboxes: Sandboxes
    peer_pid: int = 0         # container: the other container's process

    def request(self, name: str, **kw) -> EndpointRequest:
        return EndpointRequest(name, join_pid=self.peer_pid, **kw)


def make_network(driver: str, testnet) -> Network:
    if driver == "bridge":
        return BridgeNetwork(BridgeConfig(name=testnet.bridge, bip=testnet.bip))
    return DRIVERS[driver]()


@pytest.fixture(params=sorted(DRIVERS))
def case(request, testnet):
    sandboxes = Sandboxes()
    network = make_network(request.param, testnet)
    peer = sandboxes.new() if request.param == "container" else 0
    yield Case(network, sandboxes, peer)
    sandboxes.kill_all()


def run(network: Network, main) -> None:
    """main() and then the network's shutdown, in one event loop (a network's netlink
    connection belongs to the loop it was opened in)."""
    async def whole() -> None:
        try:
            await main()
        finally:
            await network.shutdown()
    asyncio.run(whole())


# --- what the host shows of a network -------------------------------------------------------

def host_link_of(network: Network) -> str:
    """The link an open network has on the host ("" for drivers that make none), by the
    same name the network goes by."""
    return network.name if network.subnet is not None else ""


def host_traces(link: str) -> list[str]:
    """The link, the links plugged into it and the iptables lines naming it."""
    if not link:
        return []
    out = json.loads(subprocess.run(["ip", "-j", "link", "show", "master", link],
                                    capture_output=True, text=True).stdout or "[]")
    present = [f"link {link}"] if os.path.exists(f"/sys/class/net/{link}") else []
    return present + sorted(f"link {l['ifname']} on {link}" for l in out) + iptables_lines_about(link)


def in_ns(pid: int, *argv: str) -> str:
    return subprocess.run(["nsenter", "-t", str(pid), "-n", *argv], capture_output=True, text=True,
                          check=True).stdout


def port_is_free(proto: str, host_ip: str, port: int) -> bool:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    try:
        sock.bind((host_ip, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


# --- the checks (shared with the broken-driver tests below) ---------------------------------

async def check_namespace_gets_what_is_promised(network: Network, endpoint: Endpoint, pid: int) -> None:
    await network.connect(endpoint, pid)
    if endpoint.namespace == HOST_NAMESPACE:
        assert netns_of(pid) == netns_of(os.getpid()), "not in the host's namespace"
        return
    if endpoint.namespace == JOINED_NAMESPACE:
        assert netns_of(pid) == netns_of(endpoint.join_pid), "not in the other container's namespace"
        return
    assert netns_of(pid) != netns_of(os.getpid()), "a new namespace was promised"
    links = {l["ifname"]: l for l in json.loads(in_ns(pid, "ip", "-j", "link"))}
    addresses = {(a["ifname"], f"{i['local']}/{i['prefixlen']}")
                 for a in json.loads(in_ns(pid, "ip", "-j", "-4", "addr")) for i in a["addr_info"]}
    addresses.discard(("lo", "127.0.0.1/8"))
    if endpoint.ip is None:
        assert set(links) == {"lo"} and not addresses, (links, addresses)
        return
    assert set(links) == {"lo", "eth0"}, links
    assert endpoint.ip in network.subnet and endpoint.ip != endpoint.gateway
    assert addresses == {("eth0", f"{endpoint.ip}/{endpoint.prefix_len}")}
    assert links["eth0"]["address"] == endpoint.mac and "UP" in links["eth0"]["flags"]
    assert f"default via {endpoint.gateway} dev eth0" in in_ns(pid, "ip", "route")


async def check_release_leaves_nothing(network: Network, case: Case) -> None:
    """Release while the namespace still lives (a failed start, a stop racing the exit):
    the host goes back to what it was before the allocation."""
    await network.open()
    link = host_link_of(network)
    before = host_traces(link)
    endpoint = await network.allocate(case.request("c1"))
    pid = case.sandboxes.for_endpoint(endpoint)
    await network.connect(endpoint, pid)
    await network.release(endpoint)
    assert endpoint.id not in network.endpoints
    assert host_traces(link) == before, "left behind after release"
    await network.release(endpoint)   # twice: harmless
    assert host_traces(link) == before


# --- the contract ------------------------------------------------------------------------------

def test_every_driver_is_under_test():
    assert set(DRIVERS) == {"bridge", "host", "none", "container"}
    for name, cls in DRIVERS.items():
        assert cls.driver == name and cls.namespace in (NEW_NAMESPACE, HOST_NAMESPACE, JOINED_NAMESPACE)


def test_open_and_shutdown_are_idempotent_and_leave_nothing(case):
    network = case.network

    async def main():
        await network.open()
        link = host_link_of(network)
        await network.open()
        assert host_link_of(network) == link
        if link:   # it made its link, with the rules that go with it
            assert f"link {link}" in host_traces(link) and iptables_lines_about(link)
        endpoint = await network.allocate(case.request("c1"))
        await network.connect(endpoint, case.sandboxes.for_endpoint(endpoint))
        await network.shutdown()   # with an endpoint still allocated and connected
        assert not network.endpoints
        assert host_traces(link) == []
        await network.shutdown()
        await network.open()       # and it opens again after a shutdown
        assert host_link_of(network) == link
        await network.shutdown()
        assert host_traces(link) == []

    run(network, main)


def test_allocate_before_open_is_refused(case):
    async def main():
        await case.network.allocate(case.request("c1"))

    with pytest.raises(NetworkError, match="not open"):
        run(case.network, main)
    assert not case.network.endpoints


def test_endpoints_are_allocated_and_released(case):
    network = case.network

    async def main():
        await network.open()
        a = await network.allocate(case.request("a"))
        b = await network.allocate(case.request("b"))
        assert (a.id, b.id) == ("a", "b") and set(network.endpoints) == {"a", "b"}
        assert a.network == b.network == network.name and a.namespace == network.namespace
        if network.subnet is not None:
            assert a.ip != b.ip and {a.ip, b.ip} <= set(network.subnet.hosts())
            assert a.gateway == b.gateway and a.gateway in network.subnet
            assert a.prefix_len == network.subnet.prefixlen
        else:
            assert a.ip is b.ip is None
        again = await network.allocate(case.request("a"))   # a failed start's is replaced
        assert set(network.endpoints) == {"a", "b"} and network.endpoints["a"] is again
        await network.release(again)
        await network.release(again)
        await network.release(b)
        assert not network.endpoints

    run(network, main)


def test_the_namespace_gets_what_the_driver_promises(case):
    network = case.network

    async def main():
        await network.open()
        endpoint = await network.allocate(case.request("c1"))
        pid = case.sandboxes.for_endpoint(endpoint)
        await check_namespace_gets_what_is_promised(network, endpoint, pid)
        await network.release(endpoint)

    run(network, main)


def test_connect_refuses_a_namespace_other_than_the_promised_one(case):
    network = case.network

    async def main():
        await network.open()
        endpoint = await network.allocate(case.request("c1"))
        # the host's namespace where one of its own was promised, and the other way round
        wrong = case.sandboxes.host() if endpoint.namespace == NEW_NAMESPACE else case.sandboxes.new()
        with pytest.raises(NetworkError):
            await network.connect(endpoint, wrong)
        await network.release(endpoint)
        assert not network.endpoints

    run(network, main)


def test_release_leaves_nothing(case):
    run(case.network, lambda: check_release_leaves_nothing(case.network, case))


def test_release_after_the_namespace_is_gone(case):
    network = case.network

    async def main():
        await network.open()
        link = host_link_of(network)
        before = host_traces(link)
        endpoint = await network.allocate(case.request("c1"))
        pid = case.sandboxes.for_endpoint(endpoint)
        await network.connect(endpoint, pid)
        if endpoint.namespace != HOST_NAMESPACE:   # killing a host-namespace process proves nothing
            case.sandboxes.kill(pid)
        await network.release(endpoint)
        assert host_traces(link) == before

    run(network, main)


def test_published_ports_are_held_until_release_or_refused(case):
    network = case.network
    # A port the kernel picks, not the first of the dynamic range: other daemons on this
    # machine take those, and could take it between release and the check.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    chosen = probe.getsockname()[1]
    probe.close()
    binding = PortBinding(PortSpec(80, "tcp"), "127.0.0.1", chosen)

    async def main():
        await network.open()
        if network.subnet is None:   # no address of its own: nothing to publish to
            with pytest.raises(NetworkError):
                await network.allocate(case.request("c1", publish=[binding]))
            assert not network.endpoints
            return
        endpoint = await network.allocate(case.request("c1", publish=[binding]))
        [published] = endpoint.published
        assert published == PublishedPort(binding.spec, "127.0.0.1", chosen)
        assert not port_is_free("tcp", "127.0.0.1", published.host_port)
        await network.release(endpoint)
        assert port_is_free("tcp", "127.0.0.1", published.host_port)

    run(network, main)


def test_a_refused_allocation_leaves_nothing(case):
    network = case.network
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    taken = holder.getsockname()[1]
    ok = PortBinding(PortSpec(81, "tcp"), "127.0.0.1", 0)
    clash = PortBinding(PortSpec(80, "tcp"), "127.0.0.1", taken)

    async def main():
        await network.open()
        link = host_link_of(network)
        before = host_traces(link)
        with pytest.raises((NetworkError, PortInUse)):
            await network.allocate(case.request("c1", publish=[ok, clash]))
        assert not network.endpoints and host_traces(link) == before

    try:
        run(network, main)
    finally:
        holder.close()


# --- the suite can fail -------------------------------------------------------------------------

class LeakyBridge(BridgeNetwork):
    """Broken on purpose: its release forgets the host end of the veth."""

    async def _remove_veth(self, endpoint) -> None:
        endpoint.veth = ""


class HostThatJoinsAnything(HostNetwork):
    """Broken on purpose: it promises the host's namespace but accepts any."""

    async def connect(self, endpoint, pid) -> None:
        return None


def test_a_bridge_that_leaks_its_veth_fails_the_suite(testnet):
    sandboxes = Sandboxes()
    network = LeakyBridge(BridgeConfig(name=testnet.bridge, bip=testnet.bip))
    async def main():
        try:
            await check_release_leaves_nothing(network, Case(network, sandboxes))
        finally:
            sandboxes.kill_all()
            for line in host_traces(testnet.bridge):   # what it leaked: gone before the fixture looks
                if line.startswith("link ") and line.endswith(f" on {testnet.bridge}"):
                    subprocess.run(["ip", "link", "del", line.split()[1]], check=False)

    with pytest.raises(AssertionError, match="left behind after release"):
        run(network, main)


def test_a_driver_that_breaks_its_namespace_promise_fails_the_suite(testnet):
    sandboxes = Sandboxes()
    network = HostThatJoinsAnything()

    async def main():
        await network.open()
        endpoint = await network.allocate(EndpointRequest("c1"))
        await check_namespace_gets_what_is_promised(network, endpoint, sandboxes.new())

    try:
        with pytest.raises(AssertionError, match="host's namespace"):
            run(network, main)
    finally:
        sandboxes.kill_all()
