"""User-defined networks across daemon restarts: live restore keeps a running container's
veths, rules, addresses and name resolution through a SIGKILL and a clean stop of pyctrd;
a crash in the middle of `network create` or `network rm` leaves nothing half-made (the
next start-up removes a half-made network, or brings a half-removed one back whole); a
daemon stopped without live restore takes every network's bridge and rules with it and
brings them back at its next start."""

from __future__ import annotations

import ipaddress
import os
import sys
import time

import pytest
from pyctr.engine.client.api import Client

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dnsserver import UpstreamDNS  # noqa: E402
from harness import DaemonProcess, iptables_lines_about, link_exists  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")


@pytest.fixture
def upstream():
    server = UpstreamDNS({"outside.test": "192.0.2.8"})
    yield server
    server.close()


def inspect(d, name: str) -> dict:
    return Client(d.host, version="1.41").json("GET", f"/containers/{name}/json")


def bridge_of(d, network: str) -> str:
    return "pyb" + Client(d.host, version="1.41").json("GET", f"/networks/{network}")["Id"][:12]


def lookup_until(d, container: str, name: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while True:
        got = d.docker("exec", container, "nslookup", name, check=False)
        if got.returncode == 0 or time.monotonic() > deadline:
            return got.stdout.decode()
        time.sleep(0.2)


def test_live_restore_keeps_user_networks(fresh_daemon, upstream):
    d = fresh_daemon(args=["--live-restore", "--dns", upstream.address])
    d.docker("network", "create", "keep")
    d.docker("network", "create", "side")
    bridge, side = bridge_of(d, "keep"), bridge_of(d, "side")
    d.docker("run", "-d", "--name", "a", "--network", "keep", "--network-alias", "alpha", "busybox",
             "httpd", "-f", "-p", "80")
    d.docker("run", "-d", "--name", "b", "--network", "keep", "busybox", "sleep", "1000")
    d.docker("network", "connect", "side", "b")
    a_ip = inspect(d, "a")["NetworkSettings"]["Networks"]["keep"]["IPAddress"]
    b_side = inspect(d, "b")["NetworkSettings"]["Networks"]["side"]["IPAddress"]
    assert a_ip in lookup_until(d, "b", "alpha")
    pid = inspect(d, "b")["State"]["Pid"]
    for how in ("kill", "stop"):
        d.kill() if how == "kill" else d.stop()
        assert link_exists(bridge) and link_exists(side)   # the containers run on: so do their networks
        d = fresh_daemon(d.workdir, ["--live-restore", "--dns", upstream.address])
        assert inspect(d, "b")["State"]["Pid"] == pid
        assert a_ip in lookup_until(d, "b", "alpha"), how   # the DNS server is back
        assert "192.0.2.8" in lookup_until(d, "b", "outside.test")
        assert d.docker("exec", "b", "wget", "-q", "-O-", f"http://{a_ip}:80/", check=False).returncode in (0, 1)
        assert inspect(d, "b")["NetworkSettings"]["Networks"]["side"]["IPAddress"] == b_side
        shown = Client(d.host, version="1.41").json("GET", "/networks/keep")
        assert {c["Name"] for c in shown["Containers"].values()} == {"a", "b"}
        routes = d.docker("exec", "b", "ip", "addr").stdout.decode()
        assert b_side in routes and "eth1" in routes
    # a new container gets a new address, not one a restored container holds
    d.docker("run", "-d", "--name", "c", "--network", "keep", "busybox", "sleep", "1000")
    taken = {inspect(d, n)["NetworkSettings"]["Networks"]["keep"]["IPAddress"] for n in ("a", "b", "c")}
    assert len(taken) == 3
    d.docker("rm", "-f", "a", "b", "c")
    d.docker("network", "rm", "keep", "side")
    assert not link_exists(bridge) and not iptables_lines_about(bridge)
    d.stop()
    assert not d.leftovers()


def test_stop_without_live_restore_takes_networks_down_and_brings_them_back(fresh_daemon):
    d = fresh_daemon()
    d.docker("network", "create", "--internal", "--label", "x=y", "back")
    net_id = Client(d.host, version="1.41").json("GET", "/networks/back")["Id"]
    bridge = bridge_of(d, "back")
    d.docker("run", "-d", "--name", "s", "--network", "back", "--network-alias", "svc", "busybox", "sleep", "1000")
    d.stop()
    assert not link_exists(bridge) and not iptables_lines_about(bridge) and not d.leftovers()
    d = fresh_daemon(d.workdir)
    shown = Client(d.host, version="1.41").json("GET", "/networks/back")
    assert shown["Id"] == net_id and shown["Internal"] and shown["Labels"] == {"x": "y"}
    assert link_exists(bridge)
    stopped = inspect(d, "s")["NetworkSettings"]["Networks"]["back"]
    assert stopped["IPAddress"] == "" and "svc" in stopped["Aliases"]   # what it asked is kept
    d.docker("start", "s")
    assert inspect(d, "s")["NetworkSettings"]["Networks"]["back"]["IPAddress"]
    assert inspect(d, "s")["NetworkSettings"]["Networks"]["back"]["IPAddress"] in lookup_until(d, "s", "svc")
    d.docker("rm", "-f", "s")
    d.docker("network", "rm", "back")
    d.stop()
    assert not d.leftovers()


@pytest.mark.parametrize("point", ["network-bridge-made", "network-bridge-removed"])
def test_a_crash_in_create_or_rm_leaves_nothing_half_made(fresh_daemon, point):
    d = fresh_daemon()
    if point == "network-bridge-removed":
        d.docker("network", "create", "doomed")
        bridge = bridge_of(d, "doomed")
    d.stop()
    os.environ["PYCTR_CRASH_AT"] = f"{point}:1"
    try:
        d = fresh_daemon(d.workdir)
    finally:
        del os.environ["PYCTR_CRASH_AT"]
    verb = ["network", "create", "doomed"] if point == "network-bridge-made" else ["network", "rm", "doomed"]
    result = d.docker(*verb, check=False)
    assert result.returncode != 0
    d.proc.wait(30)
    if point == "network-bridge-made":
        made = d.user_network_bridges()
        assert made   # the crash left the bridge: the next start-up removes it
    d = fresh_daemon(d.workdir)
    names = [n["Name"] for n in Client(d.host, version="1.41").json("GET", "/networks")]
    if point == "network-bridge-made":
        assert "doomed" not in names
        assert not d.user_network_bridges()
        for name in made:
            assert not iptables_lines_about(name)
    else:   # the record was still there: the network is whole again, and goes with rm
        assert "doomed" in names and link_exists(bridge)
        d.docker("network", "rm", "doomed")
        assert not link_exists(bridge) and not iptables_lines_about(bridge)
    # and the pool gives the next network a subnet as usual
    d.docker("network", "create", "after")
    subnet = Client(d.host, version="1.41").json("GET", "/networks/after")["IPAM"]["Config"][0]["Subnet"]
    assert ipaddress.IPv4Network(subnet).subnet_of(
        ipaddress.IPv4Network(d.address_pool.split(",")[0].removeprefix("base=")))
    d.docker("network", "rm", "after")
    d.stop()
    assert not d.leftovers()
